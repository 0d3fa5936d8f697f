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

// maxE164Digits is E.164's limit: a calling code and a national number of
// at most 15 digits together. The update endpoint wants E.164, so a longer
// number is refused even when the library calls it valid.
const maxE164Digits = 15

// phone normalizes one trimmed, non-empty phone number to E.164. rowCountry
// is the row's own resolved billing_address.country ("" when the row sets
// none); badCountry is the row's country as written when it is not one
// juicebatch knows ("" otherwise), in which case national numbers have no
// region. It returns the E.164 form and its warnings, or a reason.
func (n *Normalizer) phone(s, rowCountry, badCountry string) (string, []Warning, string) {
	return n.phoneWith(s, rowCountry, badCountry, nationalE164, e164Fast)
}

// phoneWith is phone with the fast paths passed in (nationalE164 for
// national numbers, e164Fast for numbers already in E.164 form), or nil for
// the full path alone, which the tests use as the reference the fast paths
// must agree with.
//
// Every reading is the library's: Parse in the row's region, whose
// metadata knows the region's international prefix ("009" in NG, "0011"
// in AU, "00" in GB, "011" in the US) and national prefix; IsValidNumber;
// Format(E164). What is ours is only what to do with the answer:
//   - a valid number is sent in the library's E.164 form; when it was
//     written in international form and the library's digits differ from
//     the ones written (a trunk or carrier prefix after the calling code,
//     "+375 8 029…", "+44 (0)20…"), with a warning;
//   - a number written in international form ("+", or the region's own
//     international prefix) that the library finds invalid but of a
//     length its calling code allows is still in E.164 form, which is all
//     the update endpoint requires: it is sent (in the library's E.164
//     form of it) with the warning "not a valid number for any region";
//     --strict-values refuses it;
//   - an invalid national number is refused: without a valid reading the
//     national prefix cannot be told from the number, so no E.164 form can
//     be given without guessing;
//   - more than 15 digits is refused (E.164's limit);
//   - an extension is dropped with a warning (E.164 cannot carry one);
//   - a number that begins with "00" where the region's international
//     prefix is another one is also read as "00" = "+" (the ITU prefix most
//     of the world dials): when both readings are valid and differ, the
//     library's is sent with a warning naming both; when only the "00"
//     reading is valid, the row is refused with a reason that shows it.
func (n *Normalizer) phoneWith(s, rowCountry, badCountry string,
	fastNational func(s, region string) (string, bool), fastE164 func(s string) (string, bool)) (string, []Warning, string) {
	if fastE164 != nil {
		if e164, ok := fastE164(s); ok {
			return e164, nil, ""
		}
	}
	region, from := rowCountry, "billing_address.country"
	switch {
	case rowCountry == "" && badCountry != "":
		// --phone-region is not used: the row says the customer is
		// elsewhere.
		region, from = "", "billing_address.country"
	case region == "":
		region, from = n.phoneRegion, "--phone-region"
	}

	// What the user wrote, apart from a tel: URI's scheme and parameters
	// and an extension, which the library reads itself.
	body := phoneBody(s)
	head := strings.TrimLeft(body, "( ")
	plus := strings.HasPrefix(head, "+") || strings.HasPrefix(head, "\uFF0B")
	parseRegion := region
	switch {
	case plus && !n.phoneRegions[region]:
		parseRegion = "ZZ" // the number carries its own country code
	case !plus && region == "" && badCountry != "":
		return "", nil, fmt.Sprintf("national number needs a country, and billing_address.country is not one juicebatch knows: %s with %s", quote(s), quote(badCountry))
	case !plus && region == "" && strings.HasPrefix(head, "00"):
		// "00" is the international prefix of most regions, not of all
		// (NG dials 009, AU 0011, and there 00… is another number).
		return "", nil, `international prefix needs a country to be read in (set billing_address.country or --phone-region, or write the number with "+"): ` + quote(s)
	case !plus && region == "":
		return "", nil, "national number needs a country (set billing_address.country or --phone-region): " + quote(s)
	case !plus && !n.phoneRegions[region]:
		return "", nil, fmt.Sprintf("national number cannot be read in %s (%s), which has no phone numbering plan; give it in international form (+…): %s", region, from, quote(s))
	}
	if !plus && fastNational != nil && !strings.HasPrefix(head, "00") {
		// Most national numbers are digits and spaces read in a region
		// whose prefix rules are simple: skip Parse (see nationalE164).
		if e164, ok := fastNational(s, region); ok {
			return e164, nil, ""
		}
	}

	// The one expensive call (~10 µs): everything below reads num. It
	// keeps the raw input only to say how the calling code was found.
	num, err := phonenumbers.ParseAndKeepRawInput(s, parseRegion)
	if err != nil {
		switch {
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			return "", nil, "unknown country calling code: " + quote(s)
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			return "", nil, "too short to be a phone number: " + quote(s)
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			return "", nil, "too long to be a phone number: " + quote(s)
		default:
			return "", nil, "not a phone number: " + quote(s)
		}
	}
	if strings.IndexFunc(body, unicode.IsLetter) >= 0 {
		// Vanity numbers (1-800-FLOWERS) are not converted: a letter is
		// as likely a typo as a keypad letter.
		return "", nil, "contains letters: " + quote(s)
	}
	var warns []Warning
	if ext := num.GetExtension(); ext != "" {
		warns = append(warns, Warning{Field: keyPhone, Problem: "extension dropped (E.164 cannot carry one)",
			Detail: fmt.Sprintf("%q of %s", ext, quote(s))})
	}
	// International: the calling code came after "+" or after the
	// region's own international prefix.
	source := num.GetCountryCodeSource()
	international := source == phonenumbers.PhoneNumber_FROM_NUMBER_WITH_PLUS_SIGN ||
		source == phonenumbers.PhoneNumber_FROM_NUMBER_WITH_IDD
	valid := phonenumbers.IsValidNumber(num)
	e164 := phonenumbers.Format(num, phonenumbers.E164)

	// The plain "00" = "+" reading, where the region's prefix is another.
	if !plus && strings.HasPrefix(head, "00") && iddOf(region) != "00" {
		p, err := phonenumbers.Parse("+"+head[2:], "ZZ")
		if err == nil && phonenumbers.IsValidNumber(p) {
			other := phonenumbers.Format(p, phonenumbers.E164)
			switch {
			case valid && other != e164:
				warns = append(warns, Warning{Field: keyPhone,
					Problem: `ambiguous international prefix; sent as the region's own prefix reads it, not with "00" as "+"`,
					Detail: fmt.Sprintf("%s is %s (%s) with %s's prefix %s, %s (%s) with \"00\" as \"+\"", quote(s),
						e164, phonenumbers.GetRegionCodeForNumber(num), region, iddOf(region),
						other, phonenumbers.GetRegionCodeForNumber(p))})
			case !valid:
				return "", nil, fmt.Sprintf("not a valid %s phone number, and \"00\" is not %s's international prefix (%s): %s with \"00\" as \"+\" would be %s (%s); write it so if that is meant",
					region, region, iddOf(region), quote(s), other, phonenumbers.GetRegionCodeForNumber(p))
			}
		}
	}

	written := "+" + phonenumbers.NormalizeDigitsOnly(strings.TrimLeft(head, "(+\uFF0B "))
	if valid {
		if len(e164)-1 > maxE164Digits {
			return "", nil, fmt.Sprintf("longer than the %d digits E.164 allows: %s reads as %s", maxE164Digits, quote(s), e164)
		}
		if source == phonenumbers.PhoneNumber_FROM_NUMBER_WITH_PLUS_SIGN && e164 != written {
			warns = append(warns, Warning{Field: keyPhone,
				Problem: "digits rewritten to the number the phone library reads (a trunk or carrier prefix after the calling code)",
				Detail:  fmt.Sprintf("%s sent as %s", quote(s), e164)})
		}
		return e164, warns, ""
	}

	where := "+" + strconv.Itoa(int(num.GetCountryCode()))
	if !international {
		where = region
	}
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.TOO_SHORT:
		return "", nil, fmt.Sprintf("too short for a %s number: %s", where, quote(s))
	case phonenumbers.TOO_LONG:
		return "", nil, fmt.Sprintf("too long for a %s number: %s", where, quote(s))
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", nil, "unknown country calling code: " + quote(s)
	case phonenumbers.IS_POSSIBLE:
		if !international {
			break
		}
		// Written in international form with a length its calling code
		// allows: E.164 as it stands, which is all the endpoint requires.
		// Whether the number exists is for a warning.
		sent := e164 // the library's reading, "(0)" and carrier prefixes stripped
		if len(sent)-1 > maxE164Digits {
			return "", nil, fmt.Sprintf("longer than the %d digits E.164 allows: %s", maxE164Digits, quote(s))
		}
		warns = append(warns, Warning{Field: keyPhone, Problem: "not a valid number for any region",
			Detail: fmt.Sprintf("%s sent as %s", quote(s), sent)})
		return sent, warns, ""
	}
	if international {
		return "", nil, fmt.Sprintf("not a valid %s phone number: %s", where, quote(s))
	}
	return "", nil, fmt.Sprintf("not a valid %s phone number (read as national in %s, from %s): %s", region, region, from, quote(s))
}

// phoneBody is s without what the library reads apart from the number: a
// tel: URI's scheme and parameters (";phone-context=", ";ext="), and an
// extension ("ext. 12", "x12", "#12").
func phoneBody(s string) string {
	if plainPhone(s) {
		return s // the common case; the extension regexp costs microseconds
	}
	body := s
	if len(body) >= 4 && strings.EqualFold(body[:4], "tel:") {
		body = body[4:]
	}
	if i := strings.IndexByte(body, ';'); i >= 0 {
		body = body[:i]
	}
	body, _ = phonenumbers.MaybeSeparateExtensionFromPhone(body)
	return body
}

// plainPhone reports whether s holds nothing but ASCII digits, spaces and
// "+-.()/": no scheme, parameter or extension can be in it.
func plainPhone(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c), c == ' ', c == '+', c == '-', c == '.', c == '(', c == ')', c == '/':
		default:
			return false
		}
	}
	return true
}

// iddOf is the region's international prefix as the user would dial it:
// the preferred one when the metadata names one, else the pattern.
func iddOf(region string) string {
	meta := regionMetadata(region)
	if meta == nil {
		return ""
	}
	if p := meta.GetPreferredInternationalPrefix(); p != "" {
		return p
	}
	return meta.GetInternationalPrefix()
}

// e164Fast is the fast path for a number already in E.164 form ("+" and
// 7 to 15 digits), the common case in warehouse exports. It returns the
// number and true only when Parse, IsValidNumber and Format(E164) would
// give that same valid number; otherwise false, and the full path runs.
//
// Why it can skip Parse (about 13 of the 16 µs): with nothing but "+" and
// digits, Parse's only decisions are the calling code (calling codes are
// prefix-free: at most one of the first one to three digits is assigned),
// the national prefix of the calling code's main region, which Parse
// strips after the calling code when it matches ("+375 8029…", "+55 0xx…"),
// and a leading zero (Italy's fixed lines). The first is a table lookup;
// the second is replayed by nationalPrefix from the same metadata, and the
// fast path answers only when no national prefix can match; the third it
// leaves to the full path. Then only IsValidNumber (about 3 µs) is left.
// Non-geographic calling codes (+800, +882…) take the full path.
func e164Fast(s string) (string, bool) {
	if len(s) < 8 || len(s) > 1+maxE164Digits || s[0] != '+' || s[1] == '0' {
		return "", false
	}
	for i := 1; i < len(s); i++ {
		if !isDigit(s[i]) {
			return "", false
		}
	}
	for l := 1; l <= 3; l++ {
		cc, _ := strconv.Atoi(s[1 : 1+l])
		main := phonenumbers.GetRegionCodeForCountryCode(cc)
		if main == phonenumbers.UNKNOWN_REGION {
			continue
		}
		nsn := s[1+l:]
		if len(nsn) < phonenumbers.MIN_LENGTH_FOR_NSN || nsn[0] == '0' {
			return "", false
		}
		meta := regionMetadata(main)
		if meta == nil {
			return "", false
		}
		if _, st := nationalPrefix(meta, nsn); st != prefixNone {
			return "", false
		}
		nn, err := strconv.ParseUint(nsn, 10, 64)
		if err != nil {
			return "", false
		}
		num := &phonenumbers.PhoneNumber{CountryCode: proto.Int32(int32(cc)), NationalNumber: proto.Uint64(nn)}
		if !isValid(num, main, meta, false) {
			return "", false
		}
		return s, true
	}
	return "", false
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
	// Rare, so the number's own region is worth a parse: +1 is not
	// always the US.
	region := phonenumbers.GetRegionCodeForCountryCode(cc)
	if num, err := phonenumbers.Parse(e164, "ZZ"); err == nil {
		if r := phonenumbers.GetRegionCodeForNumber(num); r != "" && r != phonenumbers.UNKNOWN_REGION {
			region = r
		}
	}
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
