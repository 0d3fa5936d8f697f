package normalize

import (
	"math/rand/v2"
	"net/mail"
	"strings"
	"testing"
)

// TestDotAtomFastPathAgreesWithNetMail: whenever an address takes the fast
// path (a plain dot-atom before the "@", host-name characters after it),
// net/mail accepts it as a bare address, unchanged, or else checkHost, which
// judges the domain on both paths, rejects it.
func TestDotAtomFastPathAgreesWithNetMail(t *testing.T) {
	cases := []string{
		"ada@example.com", "a.b.c@example.co.uk", "o'brien@example.ie", "x+tag@example.com",
		"!#$%&'*+/=?^_`{|}~-@example.com", "UPPER@Example.COM", "a@b.co", "a@xn--bcher-kva.example", "ada@bücher.example", "a@ex-ample.com", "a@-x.com", "a@x..com", "a@.x.com", "a@x.com.", "a@١٢٣.example",
	}
	const alphabet = "abcXYZ019.!#$%&'*+/=?^_`{|}~-\"() <>[]:;,@\\é"
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50000 {
		n := 1 + rng.IntN(12)
		b := make([]rune, n)
		for i := range b {
			b[i] = []rune(alphabet)[rng.IntN(len([]rune(alphabet)))]
		}
		cases = append(cases, string(b)+"@example.com")
	}
	fast := 0
	for _, s := range cases {
		at := len(s) - len("@example.com")
		if len(s) > 12 && s[len(s)-12:] == "@example.com" {
			at = len(s) - 12
		} else {
			for i := len(s) - 1; i >= 0; i-- {
				if s[i] == '@' {
					at = i
					break
				}
			}
		}
		if !dotAtom(s[:at]) || at == len(s)-1 || !hostChars(s[at+1:]) {
			continue
		}
		fast++
		a, err := mail.ParseAddress(s)
		if (err != nil || a.Name != "" || a.Address != s) && checkHost(strings.ToLower(s[at+1:])) == "" {
			t.Errorf("fast path for %q; net/mail says %v, %+v, and checkHost accepts the domain", s, err, a)
		}
	}
	if fast < 1000 {
		t.Errorf("only %d addresses took the fast path; the test proves little", fast)
	}
}
