package normalize

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestValidE164AgreesWithParse checks the fast path against the library's
// own answer on real-world and random numbers: it may decline (the full path
// then runs), but whenever it accepts, Parse + IsValidNumber must accept too
// and format the number to the same string.
func TestValidE164AgreesWithParse(t *testing.T) {
	cases := []string{
		"+2348031234567", "+14155552671", "+442079460958", "+447700900123", "+390612345678",
		"+8613800138000", "+61412345678", "+33612345678", "+4915123456789", "+80012345678",
		"+1", "+12", "+0123456789", "+999123456789", "+2340000000000", "+1415555267100000",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		n := 7 + rng.IntN(9)
		s := "+" + fmt.Sprint(1+rng.IntN(9))
		for range n - 1 {
			s += fmt.Sprint(rng.IntN(10))
		}
		cases = append(cases, s)
	}
	accepted := 0
	for _, s := range cases {
		fast := validE164(s)
		num, err := phonenumbers.Parse(s, "ZZ")
		slow := err == nil && phonenumbers.IsValidNumber(num)
		if fast {
			accepted++
			if !slow {
				t.Errorf("validE164(%q) = true; Parse+IsValidNumber says invalid", s)
			} else if f := phonenumbers.Format(num, phonenumbers.E164); f != s {
				t.Errorf("validE164(%q) = true; but the library formats it %q", s, f)
			}
		}
	}
	if accepted < 10 {
		t.Errorf("fast path accepted only %d numbers; the test proves nothing", accepted)
	}
	for _, s := range []string{"+2348031234567", "+14155552671", "+442079460958"} {
		if !validE164(s) {
			t.Errorf("validE164(%q) = false; want the fast path for a plain valid E.164 number", s)
		}
	}
}

func BenchmarkPhoneE164(b *testing.B) {
	n, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, r := n.phone("+2348031234567", ""); r != "" {
			b.Fatal(r)
		}
	}
}

func BenchmarkPhoneNational(b *testing.B) {
	n, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, r := n.phone("0803 123 4567", "NG"); r != "" {
			b.Fatal(r)
		}
	}
}
