package normalize

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

// validE164 reports whether s is already in E.164 form, the common case in
// warehouse exports, for which juicebatch does not call phonenumbers.Parse
// (about 13 µs) or IsValidNumber (about 3 µs more): the API's own rule is
// the E.164 form, and a million-row nightly file should not spend most of
// its time proving numbers the server accepts as they are. The check is
// still more than a pattern: "+", 8 to 15 digits, an assigned country
// calling code, and a length that numbering plan allows (the library's
// IsPossibleNumber, about 0.2 µs, from its metadata). Numbers in any other
// form go through the full parse and validity check. It says false for
// anything it is not sure of (a national number with a leading zero, which
// Parse records specially), and the caller then takes the full path, which
// also finds the precise reason.
func validE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	// Calling codes are prefix-free: at most one of the 1- to 3-digit
	// prefixes is assigned.
	for l := 1; l <= 3; l++ {
		cc, _ := strconv.Atoi(s[1 : 1+l])
		if phonenumbers.GetRegionCodeForCountryCode(cc) == phonenumbers.UNKNOWN_REGION {
			continue
		}
		nsn := s[1+l:]
		if len(nsn) < 2 || nsn[0] == '0' {
			return false
		}
		nn, err := strconv.ParseUint(nsn, 10, 64)
		if err != nil {
			return false
		}
		num := &phonenumbers.PhoneNumber{CountryCode: proto.Int32(int32(cc)), NationalNumber: proto.Uint64(nn)}
		return phonenumbers.IsPossibleNumberWithReason(num) == phonenumbers.IS_POSSIBLE
	}
	return false
}

// phone normalizes one trimmed, non-empty phone number to E.164. rowCountry
// is the row's own resolved billing_address.country ("" when the row sets
// none); badCountry is the row's country as written when it is not one
// juicebatch knows ("" otherwise), in which case national numbers have no
// region. It returns the E.164 form or a reason.
func (n *Normalizer) phone(s, rowCountry, badCountry string) (string, string) {
	if rowCountry == "" && badCountry != "" {
		head := strings.TrimLeft(s, "( ")
		if !strings.HasPrefix(head, "+") && !strings.HasPrefix(head, "\uFF0B") && !strings.HasPrefix(head, "00") {
			return "", fmt.Sprintf("national number needs a country (billing_address.country %s is not one juicebatch knows): %s", quote(badCountry), quote(s))
		}
		// --phone-region is not used either: the row says the customer
		// is elsewhere.
		return n.phoneWith(s, "ZZ", nationalE164)
	}
	return n.phoneWith(s, rowCountry, nationalE164)
}

// otherCountry is the warning for a phone number whose calling code is not
// that of the row's billing_address.country (the creation endpoint's rule;
// the update endpoint states none). Regions that share a calling code (US
// and CA under +1, GB and JE under +44) are not told apart.
func otherCountry(e164, rowCountry string) (Warning, bool) {
	if rowCountry == "" || e164 == "" {
		return Warning{}, false
	}
	want := phonenumbers.GetCountryCodeForRegion(rowCountry)
	if want == 0 {
		return Warning{}, false
	}
	cc := callingCode(e164)
	if cc == 0 || cc == want {
		return Warning{}, false
	}
	region := phonenumbers.GetRegionCodeForCountryCode(cc)
	return Warning{Field: keyPhone, Problem: fmt.Sprintf("a number of another country (+%d, %s) than billing_address.country %s", cc, region, rowCountry),
		Detail: strconv.Quote(e164)}, true
}

// callingCode returns the country calling code of an E.164 string, or 0.
// Calling codes are prefix-free, so at most one of the first one to three
// digits is assigned.
func callingCode(e164 string) int {
	if len(e164) < 2 || e164[0] != '+' {
		return 0
	}
	for l := 1; l <= 3 && l < len(e164); l++ {
		cc, err := strconv.Atoi(e164[1 : 1+l])
		if err != nil {
			return 0
		}
		if phonenumbers.GetRegionCodeForCountryCode(cc) != phonenumbers.UNKNOWN_REGION {
			return cc
		}
	}
	return 0
}

// phoneWith is phone with the fast path for national numbers passed in
// (nationalE164), or nil for the full path alone, which the tests use as
// the reference the fast path must agree with.
func (n *Normalizer) phoneWith(s, rowCountry string, fastNational func(s, region string) (string, bool)) (string, string) {
	if validE164(s) {
		return s, ""
	}
	text := s
	head := strings.TrimLeft(s, "( ")
	international := strings.HasPrefix(head, "+") || strings.HasPrefix(head, "\uFF0B")
	if !international && strings.HasPrefix(head, "00") {
		// "00" is the ITU international prefix: "0044 20 …" is "+44 20 …".
		text = "+" + head[2:]
		international = true
	}

	region, from := rowCountry, "billing_address.country"
	if region == "" {
		region, from = n.phoneRegion, "--phone-region"
	}
	parseRegion := region
	if !international {
		if region == "" {
			return "", "national number needs a country (set billing_address.country or --phone-region): " + quote(s)
		}
		if !n.phoneRegions[region] {
			return "", fmt.Sprintf("national number cannot be read in %s (%s), which has no phone numbering plan; give it in international form (+…): %s", region, from, quote(s))
		}
	} else if !n.phoneRegions[region] {
		parseRegion = "ZZ" // the number carries its own country code
	}
	if !international && fastNational != nil {
		// Most national numbers are digits and spaces read in a region
		// whose prefix rules are simple: skip Parse (see nationalE164).
		if e164, ok := fastNational(s, region); ok {
			return e164, ""
		}
	}

	// The one expensive call (~10 µs): everything below reads num.
	num, err := phonenumbers.Parse(text, parseRegion)
	if err != nil {
		switch {
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			return "", "unknown country calling code in " + quote(s)
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			return "", "too short to be a phone number: " + quote(s)
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			return "", "too long to be a phone number: " + quote(s)
		default:
			return "", "not a phone number: " + quote(s)
		}
	}
	if ext := num.GetExtension(); ext != "" {
		return "", fmt.Sprintf("has an extension (%q), which E.164 cannot carry: %s", ext, quote(s))
	}
	if strings.IndexFunc(s, unicode.IsLetter) >= 0 {
		return "", "contains letters: " + quote(s)
	}
	if !phonenumbers.IsValidNumber(num) {
		where := "+" + strconv.Itoa(int(num.GetCountryCode()))
		if !international {
			where = region
		}
		switch phonenumbers.IsPossibleNumberWithReason(num) {
		case phonenumbers.TOO_SHORT:
			return "", fmt.Sprintf("too short for a %s number: %s", where, quote(s))
		case phonenumbers.TOO_LONG:
			return "", fmt.Sprintf("too long for a %s number: %s", where, quote(s))
		case phonenumbers.INVALID_COUNTRY_CODE:
			return "", "unknown country calling code in " + quote(s)
		}
		if international {
			return "", fmt.Sprintf("not a valid %s phone number: %s", where, quote(s))
		}
		return "", fmt.Sprintf("not a valid %s phone number (read as national in %s, from %s): %s", region, region, from, quote(s))
	}
	// A number from another country than the billing address is kept:
	// the update endpoint documents only "E.164", and refusing a real
	// customer's foreign mobile here would leave the row no way through.
	return phonenumbers.Format(num, phonenumbers.E164), ""
}
