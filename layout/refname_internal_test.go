package layout

import (
	"testing"

	"github.com/skiffoci/skiff/internal/grammartest"
)

func TestValidRefNameAgreesWithGrammar(t *testing.T) {
	grammartest.Agree(t, validRefName, `^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$`, "aZ9-._:@+/ ")
}
