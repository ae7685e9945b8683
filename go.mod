module github.com/skiffoci/skiff

go 1.25
