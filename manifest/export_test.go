package manifest

// Reused reports whether v hashes with its source's verifier, so that the
// bytes are hashed once.
func Reused(v *Verifier) bool { return v.reused }
