package manifest

import (
	"testing"

	"github.com/skiffoci/skiff/internal/grammartest"
)

func TestValidMediaTypeAgreesWithGrammar(t *testing.T) {
	grammartest.Agree(t, validMediaType, `^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`, "aZ9/!#$&^_.+- ;")
}
