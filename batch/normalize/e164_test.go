package normalize

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestValidE164AgreesWithParse checks the fast path against the library's
// own answer on real-world and random numbers: it may decline (the full path
// then runs), but whenever it accepts, the library must parse the number and
// find it possible. (For a few random numbers the library's Parse strips
// what it takes for a carrier code, +86 11…; the fast path sends what the
// user wrote, which is E.164 as it stands.) For real-world numbers both give
// the same E.164 string.
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
		slow := err == nil && phonenumbers.IsPossibleNumberWithReason(num) == phonenumbers.IS_POSSIBLE
		if fast {
			accepted++
			if !slow {
				t.Errorf("validE164(%q) = true; Parse+IsPossibleNumber says no", s)
			}
		}
	}
	if accepted < 10 {
		t.Errorf("fast path accepted only %d numbers; the test proves nothing", accepted)
	}
	for _, s := range []string{"+2348031234567", "+14155552671", "+442079460958", "+8613800138000", "+33612345678", "+4915123456789"} {
		if !validE164(s) {
			t.Errorf("validE164(%q) = false; want the fast path for a plain valid E.164 number", s)
		}
		num, err := phonenumbers.Parse(s, "ZZ")
		if err != nil || phonenumbers.Format(num, phonenumbers.E164) != s {
			t.Errorf("library formats %q as %q (err %v); want it unchanged", s, phonenumbers.Format(num, phonenumbers.E164), err)
		}
	}
}

func BenchmarkPhoneE164(b *testing.B) {
	n, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, r := n.phone("+2348031234567", "", ""); r != "" {
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
		if _, r := n.phone("0803 123 4567", "NG", ""); r != "" {
			b.Fatal(r)
		}
	}
}
