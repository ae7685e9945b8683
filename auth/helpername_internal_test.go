package auth

import (
	"testing"

	"github.com/skiffoci/skiff/internal/grammartest"
)

func TestValidHelperNameAgreesWithGrammar(t *testing.T) {
	grammartest.Agree(t, validHelperName, `^[A-Za-z0-9][A-Za-z0-9._-]*$`, "aZ09._-/ $")
}
