// Package archtest holds no code: its test checks the rules of DESIGN.md
// that keep skiff's package picture true — standard library only, imports
// pointing down the package list, and the top level holding exactly the
// design's entries.
package archtest
