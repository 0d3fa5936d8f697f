package batch

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

// TestIdempotencyKeyFormula recomputes the README's formula by hand for one
// input: "jb1-" + hex(HMAC-SHA256(salt, ⟨"v1"⟩⟨scope⟩⟨id⟩⟨body⟩⟨prev⟩))[:32].
func TestIdempotencyKeyFormula(t *testing.T) {
	salt := []byte("0123456789abcdef0123456789abcdef")
	m := hmac.New(sha256.New, salt)
	m.Write([]byte("2\x00v1"))
	m.Write([]byte("30\x00https://api.example.com test_1"))
	m.Write([]byte("2\x00c1"))
	m.Write([]byte("17\x00{\"email\":\"a@b.c\"}"))
	m.Write([]byte("0\x00"))
	want := "jb1-" + hex.EncodeToString(m.Sum(nil))[:32]
	got := IdempotencyKey(salt, "https://api.example.com test_1", "c1", []byte(`{"email":"a@b.c"}`), nil)
	if got != want {
		t.Errorf("IdempotencyKey = %s; want %s", got, want)
	}
	if !regexp.MustCompile(`^jb1-[0-9a-f]{32}$`).MatchString(got) {
		t.Errorf("key %q has the wrong form", got)
	}
}

func TestIdempotencyKeyChangesWithIntent(t *testing.T) {
	salt := []byte("salt-salt-salt-salt-salt-salt-sa")
	base := func() (string, string, []byte, []byte) {
		return "https://api.example.com live_1", "c1", []byte(`{"email":"ada@example.com"}`), nil
	}
	scope, id, body, prev := base()
	k := IdempotencyKey(salt, scope, id, body, prev)
	if again := IdempotencyKey(salt, scope, id, body, prev); again != k {
		t.Fatalf("same intent gave %s then %s", k, again)
	}
	tests := []struct {
		name string
		key  string
	}{
		{"another body", IdempotencyKey(salt, scope, id, []byte(`{"email":"bob@example.com"}`), prev)},
		{"same body after another update", IdempotencyKey(salt, scope, id, body, []byte("digest of what was applied"))},
		{"another customer", IdempotencyKey(salt, scope, "c2", body, prev)},
		{"another API or key", IdempotencyKey(salt, "https://api.example.com live_2", id, body, prev)},
		{"another state file", IdempotencyKey([]byte("another salt, another state file"), scope, id, body, prev)},
		// Parts are length-prefixed: moving a byte from one part to the
		// next is another intent.
		{"shifted boundary", IdempotencyKey(salt, scope, "c", append([]byte("1"), body...), prev)},
	}
	for _, tt := range tests {
		if tt.key == k {
			t.Errorf("%s: key %s equals the original", tt.name, tt.key)
		}
	}
	if strings.Contains(k, "ada") || strings.Contains(k, "example") {
		t.Errorf("key %s shows personal data", k)
	}
}

func TestDaysNeeded(t *testing.T) {
	tests := []struct {
		n, left, perDay, want int
	}{
		{0, 1000, 1000, 0},
		{1, 1000, 1000, 1},
		{1000, 1000, 1000, 1},
		{1001, 1000, 1000, 2},
		{50000, 1000, 1000, 50},
		{50000, 400, 1000, 51},
		{10, 0, 1000, 1},
		{1000, 0, 1000, 1},
		{1001, 0, 1000, 2},
		{5, -3, 2, 3},
	}
	for _, tt := range tests {
		if got := daysNeeded(tt.n, tt.left, tt.perDay); got != tt.want {
			t.Errorf("daysNeeded(%d, %d, %d) = %d; want %d", tt.n, tt.left, tt.perDay, got, tt.want)
		}
	}
}
