package cosign

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/skiffoci/skiff/manifest"
)

// Sigstore bundle and in-toto names.
const (
	// BundleMediaType is the media type of a sigstore bundle v0.3, the
	// artifact type of the referrer manifest that carries one.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// bundleMediaTypePrefix starts every bundle media type, v0.1 to v0.3.
	bundleMediaTypePrefix = "application/vnd.dev.sigstore.bundle"

	// InTotoPayloadType is the DSSE payload type of an in-toto statement.
	InTotoPayloadType = "application/vnd.in-toto+json"
	// SignPredicateType is the predicate type of the statement cosign
	// signs in place of a simple signing payload in the bundle format: a
	// signature, as opposed to an attestation.
	SignPredicateType = "https://sigstore.dev/cosign/sign/v1"
)

// MaxBundleSize bounds a sigstore bundle; a key-signed bundle is about a
// kilobyte, one with certificates and log proofs a few more.
const MaxBundleSize = 1 << 20

// ErrInvalidBundle is wrapped by ParseBundle and ParseStatement.
var ErrInvalidBundle = errors.New("invalid sigstore bundle")

// Bundle is a parsed sigstore bundle
// (https://github.com/sigstore/protobuf-specs, bundle.proto) in its JSON
// form. Exactly one of Envelope and MessageSignature is set.
type Bundle struct {
	MediaType string
	// PublicKeyHint names the key that signed, when a key did; it is only
	// a hint and is not trusted.
	PublicKeyHint string
	// Certificates holds the DER certificates of keyless signing, the
	// signing certificate first.
	Certificates [][]byte
	// TlogEntries and Timestamps count the transparency log entries and
	// RFC 3161 timestamps, which are not checked here.
	TlogEntries, Timestamps int

	Envelope         *Envelope
	MessageSignature *MessageSignature
}

// Envelope is a DSSE envelope
// (https://github.com/secure-systems-lab/dsse/blob/master/envelope.md).
type Envelope struct {
	PayloadType string
	Payload     []byte
	Signatures  [][]byte
}

// MessageSignature is a signature over an artifact, given by its digest.
type MessageSignature struct {
	// Algorithm is the digest's algorithm as the bundle names it:
	// "SHA2_256", "SHA2_384" or "SHA2_512".
	Algorithm string
	Digest    []byte
	Signature []byte
}

type wireBundle struct {
	MediaType            string `json:"mediaType"`
	VerificationMaterial *struct {
		PublicKey *struct {
			Hint string `json:"hint"`
		} `json:"publicKey"`
		Certificate          *wireCert `json:"certificate"`
		X509CertificateChain *struct {
			Certificates []wireCert `json:"certificates"`
		} `json:"x509CertificateChain"`
		TlogEntries               []json.RawMessage `json:"tlogEntries"`
		TimestampVerificationData *struct {
			RFC3161Timestamps []json.RawMessage `json:"rfc3161Timestamps"`
		} `json:"timestampVerificationData"`
	} `json:"verificationMaterial"`
	MessageSignature *struct {
		MessageDigest *struct {
			Algorithm string `json:"algorithm"`
			Digest    []byte `json:"digest"`
		} `json:"messageDigest"`
		Signature []byte `json:"signature"`
	} `json:"messageSignature"`
	DSSEEnvelope *struct {
		Payload     []byte `json:"payload"`
		PayloadType string `json:"payloadType"`
		Signatures  []struct {
			Sig   []byte `json:"sig"`
			KeyID string `json:"keyid"`
		} `json:"signatures"`
	} `json:"dsseEnvelope"`
}

type wireCert struct {
	RawBytes []byte `json:"rawBytes"`
}

// ParseBundle parses a sigstore bundle of at most MaxBundleSize bytes, of
// media type v0.1 to v0.3. It refuses unknown or repeated fields, a bundle
// with both or neither of a DSSE envelope and a message signature, and
// empty signatures.
func ParseBundle(raw []byte) (*Bundle, error) {
	var w wireBundle
	if err := decodeStrict(raw, MaxBundleSize, "bundle", &w); err != nil {
		return nil, bundleError(err)
	}
	if !strings.HasPrefix(w.MediaType, bundleMediaTypePrefix) {
		return nil, because(ErrInvalidBundle, "media type "+strconv.Quote(truncate(w.MediaType, 100)))
	}
	b := &Bundle{MediaType: w.MediaType}
	if err := b.material(&w); err != nil {
		return nil, err
	}
	if (w.DSSEEnvelope == nil) == (w.MessageSignature == nil) {
		return nil, because(ErrInvalidBundle, "want exactly one of dsseEnvelope and messageSignature")
	}
	if e := w.DSSEEnvelope; e != nil {
		b.Envelope = &Envelope{PayloadType: e.PayloadType, Payload: e.Payload}
		for _, s := range e.Signatures {
			if len(s.Sig) == 0 {
				return nil, because(ErrInvalidBundle, "empty DSSE signature")
			}
			b.Envelope.Signatures = append(b.Envelope.Signatures, s.Sig)
		}
		if len(b.Envelope.Signatures) == 0 || e.PayloadType == "" {
			return nil, because(ErrInvalidBundle, "DSSE envelope without signatures or payload type")
		}
		return b, nil
	}
	m := w.MessageSignature
	if m.MessageDigest == nil || len(m.MessageDigest.Digest) == 0 || len(m.Signature) == 0 {
		return nil, because(ErrInvalidBundle, "message signature without digest or signature")
	}
	b.MessageSignature = &MessageSignature{Algorithm: m.MessageDigest.Algorithm, Digest: m.MessageDigest.Digest, Signature: m.Signature}
	return b, nil
}

// material copies the verification material of w into b.
func (b *Bundle) material(w *wireBundle) error {
	vm := w.VerificationMaterial
	if vm == nil {
		return because(ErrInvalidBundle, "no verificationMaterial")
	}
	if vm.PublicKey != nil {
		b.PublicKeyHint = vm.PublicKey.Hint
	}
	if vm.Certificate != nil {
		b.Certificates = append(b.Certificates, vm.Certificate.RawBytes)
	}
	if vm.X509CertificateChain != nil {
		for _, c := range vm.X509CertificateChain.Certificates {
			b.Certificates = append(b.Certificates, c.RawBytes)
		}
	}
	b.TlogEntries = len(vm.TlogEntries)
	if vm.TimestampVerificationData != nil {
		b.Timestamps = len(vm.TimestampVerificationData.RFC3161Timestamps)
	}
	if vm.PublicKey == nil && len(b.Certificates) == 0 {
		return because(ErrInvalidBundle, "neither a public key nor a certificate")
	}
	return nil
}

func bundleError(err error) error {
	var le *manifest.LimitError
	if errors.As(err, &le) {
		return err
	}
	return because(ErrInvalidBundle, strings.TrimPrefix(err.Error(), "cosign: "))
}

// PAE is DSSE's pre-authentication encoding of a payload and its type:
// what a DSSE signature signs.
func PAE(payloadType string, payload []byte) []byte {
	var b []byte
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

// Statement is an in-toto statement
// (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md).
type Statement struct {
	Type          string
	PredicateType string
	// Subjects holds each subject's digests, by algorithm ("sha256").
	Subjects []map[string]string
}

type wireStatement struct {
	Type    string `json:"_type"`
	Subject []struct {
		Name             string            `json:"name"`
		URI              string            `json:"uri"`
		Digest           map[string]string `json:"digest"`
		Content          []byte            `json:"content"`
		DownloadLocation string            `json:"downloadLocation"`
		MediaType        string            `json:"mediaType"`
		Annotations      json.RawMessage   `json:"annotations"`
	} `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// In-toto statement types.
var statementTypes = []string{"https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"}

// ParseStatement parses an in-toto statement of at most MaxBundleSize
// bytes, v1 or v0.1, with at least one subject.
func ParseStatement(raw []byte) (*Statement, error) {
	var w wireStatement
	if err := decodeStrict(raw, MaxBundleSize, "in-toto statement", &w); err != nil {
		return nil, bundleError(err)
	}
	if w.Type != statementTypes[0] && w.Type != statementTypes[1] {
		return nil, because(ErrInvalidBundle, "statement _type "+strconv.Quote(truncate(w.Type, 100)))
	}
	if len(w.Subject) == 0 {
		return nil, because(ErrInvalidBundle, "statement has no subject")
	}
	s := &Statement{Type: w.Type, PredicateType: w.PredicateType}
	for _, sub := range w.Subject {
		s.Subjects = append(s.Subjects, sub.Digest)
	}
	return s, nil
}
