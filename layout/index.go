package layout

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// parseIndex parses index.json strictly, as an OCI image index.
func parseIndex(raw []byte) (*manifest.Index, error) {
	doc, err := manifest.Parse(raw, manifest.MediaTypeOCIIndex)
	if err != nil {
		return nil, fmt.Errorf("layout: %s: %w", IndexFile, err)
	}
	return doc.Index, nil
}

// encodeIndex returns idx as index.json content.
func encodeIndex(idx *manifest.Index) ([]byte, error) {
	out := *idx
	out.SchemaVersion = 2
	out.MediaType = manifest.MediaTypeOCIIndex
	if out.Manifests == nil {
		out.Manifests = []manifest.Descriptor{}
	}
	raw, err := json.Marshal(&out)
	if err != nil {
		return nil, fmt.Errorf("layout: encode %s: %w", IndexFile, err)
	}
	return raw, nil
}

// validRefName reports whether name fits the grammar of
// org.opencontainers.image.ref.name:
//
//	ref       ::= component ("/" component)*
//	component ::= alphanum (separator alphanum)*
//	alphanum  ::= [A-Za-z0-9]+
//	separator ::= [-._:@+] | "--"
func validRefName(name string) bool {
	for _, comp := range strings.Split(name, "/") {
		// A component alternates runs of alphanumerics with single
		// separators or "--"; it starts and ends with an alphanumeric.
		alnum := false // the last character was alphanumeric
		for i := 0; i < len(comp); i++ {
			c := comp[i]
			switch {
			case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9':
				alnum = true
			case !alnum:
				return false
			case c == '-' && i+1 < len(comp) && comp[i+1] == '-':
				i++
				alnum = false
			case strings.IndexByte("-._:@+", c) >= 0:
				alnum = false
			default:
				return false
			}
		}
		if !alnum {
			return false
		}
	}
	return true
}

// checkRefName refuses names outside the annotation's grammar, and names
// that are digests, which would hide the image with that digest.
func checkRefName(name string) error {
	if !validRefName(name) {
		return fmt.Errorf("layout: invalid ref name %q", truncate(name, 200))
	}
	if _, err := manifest.ParseDigest(name); err == nil {
		return fmt.Errorf("layout: ref name %q is a digest", name)
	}
	return nil
}

// withName returns desc annotated with the ref name.
func withName(desc manifest.Descriptor, name string) manifest.Descriptor {
	desc.Annotations = maps.Clone(desc.Annotations)
	if desc.Annotations == nil {
		desc.Annotations = map[string]string{}
	}
	desc.Annotations[RefNameAnnotation] = name
	return desc
}

// withEntry returns list with desc in place of the entries it replaces:
// those with the same ref name or, when desc has none, unnamed entries of
// the same digest. desc takes the place of the first one replaced, or goes
// at the end.
func withEntry(list []manifest.Descriptor, desc manifest.Descriptor) []manifest.Descriptor {
	name := desc.Annotations[RefNameAnnotation]
	out := make([]manifest.Descriptor, 0, len(list)+1)
	placed := false
	for _, e := range list {
		if !replaces(e, desc.Digest, name) {
			out = append(out, e)
		} else if !placed {
			out = append(out, desc)
			placed = true
		}
	}
	if !placed {
		out = append(out, desc)
	}
	return out
}

func replaces(e manifest.Descriptor, d manifest.Digest, name string) bool {
	n := e.Annotations[RefNameAnnotation]
	if name != "" {
		return n == name
	}
	return n == "" && e.Digest == d
}
