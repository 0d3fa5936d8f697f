package normalize

import (
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestE164Fast: the fast path answers for plain valid E.164 numbers, the
// common case of warehouse exports, exactly as the library would, and
// declines whatever the library must decide: an invalid number, a national
// prefix after the calling code, a non-geographic calling code, more than
// 15 digits. (TestPhoneDifferential checks it against the full path over
// every region.)
func TestE164Fast(t *testing.T) {
	answers := []string{"+2348031234567", "+14155552671", "+442079460958", "+8613800138000", "+33612345678",
		"+4915123456789", "+61412345678", "+27821234567", "+254712345678"}
	for _, s := range answers {
		got, ok := e164Fast(s)
		num, err := phonenumbers.Parse(s, "ZZ")
		if !ok || got != s || err != nil || !phonenumbers.IsValidNumber(num) || phonenumbers.Format(num, phonenumbers.E164) != s {
			t.Errorf("e164Fast(%q) = %q, %v; want %q, true, as the library gives it", s, got, ok, s)
		}
	}
	declines := []string{
		"+9712234567",       // no such number (AE)
		"+6121234567",       // no such number (AU)
		"+447700900123",     // a drama number
		"+3758029123456",    // BY's national prefix 8 after the calling code
		"+80012345678",      // non-geographic
		"+4918001234567890", // valid, but 16 digits
		"+390612345678",     // Italy's leading zero
		"+1", "+12", "+0123456789", "+999123456789", "+44 20 7946 0958",
	}
	for _, s := range declines {
		if got, ok := e164Fast(s); ok {
			t.Errorf("e164Fast(%q) = %q, true; want the full path", s, got)
		}
	}
}

func BenchmarkPhoneE164(b *testing.B) {
	n, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, r := n.phone("+2348031234567", "", ""); r != "" {
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
		if _, _, r := n.phone("0803 123 4567", "NG", ""); r != "" {
			b.Fatal(r)
		}
	}
}
