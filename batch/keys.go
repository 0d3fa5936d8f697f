package batch

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
)

// IdempotencyKey derives a request's Idempotency-Key:
//
//	"jb1-" + hex(HMAC-SHA256(salt, ⟨"v1"⟩ ⟨scope⟩ ⟨id⟩ ⟨body⟩ ⟨prev⟩))[:32]
//
// where ⟨x⟩ is x's length in decimal, a NUL byte, then x; salt is the state file's random 32 bytes,
// scope names the API and key fingerprint the update goes to, body is the
// canonical JSON request body, and prev is the digest of what the state
// records as applied to that customer before this update (empty when
// nothing is). So the same intended update gets the same key on every retry,
// resume and restart, while a different body, or the same body after another
// update was applied in between, gets another one. The salt keeps personal
// data out of the key: without the state file nobody can test a guess of a
// customer's email against it.
func IdempotencyKey(salt []byte, scope, id string, body []byte, prev []byte) string {
	m := hmac.New(sha256.New, salt)
	writeParts(m, []byte("v1"), []byte(scope), []byte(id), body, prev)
	sum := m.Sum(nil)
	return "jb1-" + hex.EncodeToString(sum[:16])
}

// runID derives a run's identity from everything that decides what a run
// sends: the input's content, the options that change bodies, and where the
// bodies go. The same command on the same file resumes; a changed file, a
// changed mapping, or another target starts a new run.
func runID(parts ...string) string {
	h := sha256.New()
	bs := make([][]byte, 0, len(parts)+1)
	bs = append(bs, []byte("run/v1"))
	for _, p := range parts {
		bs = append(bs, []byte(p))
	}
	writeParts(h, bs...)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// writeParts writes each part with its length first, so that no two
// different lists of parts hash the same.
func writeParts(h hash.Hash, parts ...[]byte) {
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{0})
		h.Write(p)
	}
}
