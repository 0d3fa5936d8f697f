package normalize

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// phone normalizes one trimmed, non-empty phone number to E.164. rowCountry
// is the row's own resolved billing_address.country ("" when the row sets
// none). It returns the E.164 form or a reason.
func (n *Normalizer) phone(s, rowCountry string) (string, string) {
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
			return "", fmt.Sprintf("national number %s needs a country: set billing_address.country or --phone-region", quote(s))
		}
		if !n.phoneRegions[region] {
			return "", fmt.Sprintf("national number %s cannot be read in %s (%s), which has no phone numbering plan; give it in international form (+…)", quote(s), region, from)
		}
	} else if !n.phoneRegions[region] {
		parseRegion = "ZZ" // the number carries its own country code
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
