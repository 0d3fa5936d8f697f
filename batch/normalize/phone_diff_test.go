package normalize

import (
	"slices"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"github.com/juicebatch/juicebatch/batch/input"
)

// diallingRegions are the regions the differential test dials other
// regions' numbers from, in their own international prefix and as "00":
// those whose prefix is not a plain "00" (NG 009, AU 0011, KE/TZ/UG 000,
// TH, KH, KR, SG, TW, ID, CO, BR, GY, MN, HK, BO, US 011, JP 010, RU 8~10)
// and a few where it is (GB, DE, FR, IN).
func diallingRegions() []string {
	return []string{"NG", "AU", "KE", "TZ", "UG", "TH", "KH", "KR", "SG", "TW", "ID", "CO", "BR", "GY", "MN", "HK", "BO",
		"US", "JP", "RU", "AR", "GB", "DE", "FR", "IN"}
}

// phoneCase is one cell of the differential test: a string as written and
// the region it is read in (the row's billing_address.country).
type phoneCase struct {
	in, region, form string
}

// phoneForms writes num in the forms people and exports use, each read in
// region; then every single-digit typo (a digit dropped, a digit changed)
// of the E.164 and the compact national forms.
func phoneForms(num *phonenumbers.PhoneNumber, region string) []phoneCase {
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	intl := phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
	national := phonenumbers.Format(num, phonenumbers.NATIONAL)
	compact := phonenumbers.NormalizeDigitsOnly(national)
	out := []phoneCase{
		{e164, region, "E164"},
		{intl, region, "INTERNATIONAL"},
		{national, region, "NATIONAL"},
		{phonenumbers.Format(num, phonenumbers.RFC3966), region, "RFC3966"},
		{phonenumbers.Format(num, phonenumbers.RFC3966) + ";ext=12", region, "RFC3966 with extension"},
		{intl + " ext. 12", region, "international with extension"},
		{national + " x12", region, "national with extension"},
		{e164 + "#12", region, "E164 with extension"},
		{"00" + e164[1:], region, "00"},
		{"00 " + intl[1:], region, "00 spaced"},
		{compact, region, "national compact"},
		{strings.ReplaceAll(national, " ", "-"), region, "national dashed"},
		{strings.ReplaceAll(national, " ", "."), region, "national dotted"},
		{strings.ReplaceAll(intl, " ", "-"), region, "international dashed"},
		{strings.ReplaceAll(intl, " ", "."), region, "international dotted"},
	}
	// The national form after the calling code ("+44 020…", the "(0)"
	// convention without brackets; "+375 8 029…"), and with a carrier
	// code where the region's national format can carry one (BR, CO).
	cc := e164[:len(e164)-len(phonenumbers.GetNationalSignificantNumber(num))]
	if nsn := e164[len(cc):]; compact != nsn {
		out = append(out, phoneCase{cc + compact, region, "national after calling code"})
		if ndd, ok := strings.CutSuffix(compact, nsn); ok {
			out = append(out, phoneCase{cc + " (" + ndd + ") " + nsn, region, "(0) after calling code"})
		}
	}
	for _, carrier := range []string{"15", "21"} {
		if with := phonenumbers.FormatNationalNumberWithCarrierCode(num, carrier); with != national {
			out = append(out, phoneCase{with, region, "national with carrier code"},
				phoneCase{cc + " " + with, region, "carrier code after calling code"})
		}
	}
	if first, rest, ok := strings.Cut(national, " "); ok && !strings.ContainsAny(first, "()") {
		out = append(out, phoneCase{"(" + first + ") " + rest, region, "national bracketed"})
	}
	if first, rest, ok := strings.Cut(intl, " "); ok {
		if second, rest2, ok := strings.Cut(rest, " "); ok {
			out = append(out, phoneCase{first + " (" + second + ") " + rest2, region, "international bracketed"})
		}
	}
	for _, d := range diallingRegions() {
		if d == region {
			continue
		}
		out = append(out,
			phoneCase{phonenumbers.FormatOutOfCountryCallingNumber(num, d), d, "dialled from " + d},
			phoneCase{"00" + e164[1:], d, "00 in " + d})
	}
	for _, base := range []phoneCase{{e164, region, "E164 typo"}, {compact, region, "national typo"}} {
		for i := range len(base.in) {
			c := base.in[i]
			if !isDigit(c) {
				continue
			}
			out = append(out,
				phoneCase{base.in[:i] + base.in[i+1:], region, base.form},
				phoneCase{base.in[:i] + string('0'+(c-'0'+1)%10) + base.in[i+1:], region, base.form})
		}
	}
	return out
}

// The disagreements with the library the tool makes on purpose, each
// counted by the test and documented here and in the README. Everything
// else must agree: a valid number is sent exactly as Parse +
// IsValidNumber + Format(E164) give it, and nothing the library calls
// invalid is sent except under the first heading below.
const (
	// An international-form number (after "+" or the region's own
	// international prefix) of a length its calling code allows, but not
	// valid: the update endpoint requires E.164 form, not validity, so it
	// is sent, in the library's E.164 form of it, with the warning "not a
	// valid number for any region" (refused with --strict-values).
	docInvalidSent = "invalid but in E.164 form: sent with a warning"
	// A number the library calls valid but longer than E.164's 15 digits
	// (some German and Austrian ranges): refused, as the endpoint would.
	docTooLong = "valid but over 15 digits: refused"
	// A "00…" number read in a region whose international prefix is not
	// "00", valid both as the library reads it and as "00" = "+", the two
	// readings differing: the library's is sent, with a warning naming both.
	docAmbiguous = "ambiguous 00: the library's reading sent with a warning"
	// A valid number written in international form whose E.164 digits are
	// not those written (a trunk or carrier prefix after the calling code:
	// "+44 (0)20…", "+375 8…"): the library's number is sent with a warning.
	docRewritten = "digits rewritten: the library's number sent with a warning"
	// An extension ("ext. 12", "x12", "#12", ";ext=12"): E.164 cannot
	// carry one, so it is dropped with a warning (the library keeps it
	// apart from the number too; Format(E164) leaves it out).
	docExtension = "extension dropped with a warning"
)

// raceDetectorSample is how many example numbers of the differential test
// stand for one under the race detector or -short, which make the sweep
// several times slower; .ci/run runs the whole sweep without them.
const raceDetectorSample = 25

// TestPhoneDifferential runs the tool's normalizer over every region the
// phone library supports, the example numbers of every type in many
// written forms plus single-digit typos, and compares with the library
// alone: Parse in the row's region, IsValidNumber, Format(E164). It also
// checks that whenever a fast path answered, the full path (Parse and the
// rest) gives the same answer and warnings, which is what keeps the fast
// paths.
func TestPhoneDifferential(t *testing.T) {
	n := newNormalizer(t, Options{})
	sample := 1
	if raceEnabled || testing.Short() {
		sample = raceDetectorSample
	}
	regions := make([]string, 0, 256)
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	var cases []phoneCase
	seen := map[string]bool{}
	k := 0
	for _, r := range regions {
		for typ := phonenumbers.FIXED_LINE; typ <= phonenumbers.VOICEMAIL; typ++ {
			ex := phonenumbers.GetExampleNumberForType(r, typ)
			if ex == nil {
				continue
			}
			key := r + phonenumbers.Format(ex, phonenumbers.E164)
			if seen[key] {
				continue
			}
			seen[key] = true
			if k++; k%sample != 0 {
				continue
			}
			cases = append(cases, phoneForms(ex, r)...)
		}
	}
	for cc := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		if ex := phonenumbers.GetExampleNumberForNonGeoEntity(cc); ex != nil {
			for _, f := range []phonenumbers.PhoneNumberFormat{phonenumbers.E164, phonenumbers.INTERNATIONAL, phonenumbers.RFC3966} {
				cases = append(cases, phoneCase{phonenumbers.Format(ex, f), "GB", "non-geographic"})
			}
		}
	}

	counts := map[string]int{}
	fastAnswers, disagreements := 0, 0
	fail := func(format string, args ...any) {
		disagreements++
		if disagreements <= 30 {
			t.Errorf(format, args...)
		}
	}
	for _, c := range cases {
		fast := false
		national := func(s, region string) (string, bool) {
			e, ok := nationalE164(s, region)
			fast = fast || ok
			return e, ok
		}
		e164 := func(s string) (string, bool) {
			e, ok := e164Fast(s)
			fast = fast || ok
			return e, ok
		}
		got, warns, reason := n.phoneWith(c.in, c.region, "", national, e164)
		if fast {
			fastAnswers++
			full, fullWarns, fullReason := n.phoneWith(c.in, c.region, "", nil, nil)
			if full != got || fullReason != reason || JoinWarnings(fullWarns) != JoinWarnings(warns) {
				fail("%s in %s (%s): the fast path gives %q, the full path %q %q %q", c.in, c.region, c.form, got, full, fullReason, JoinWarnings(fullWarns))
			}
		}

		num, err := phonenumbers.Parse(c.in, c.region)
		refValid := err == nil && phonenumbers.IsValidNumber(num)
		ref := ""
		if err == nil {
			ref = phonenumbers.Format(num, phonenumbers.E164)
		}
		problems := map[string]bool{}
		for _, w := range warns {
			problems[w.Problem] = true
		}
		switch {
		case refValid && len(ref)-1 > maxE164Digits:
			if reason == "" {
				fail("%s in %s (%s): sent %q; the library's valid %s is over 15 digits", c.in, c.region, c.form, got, ref)
			}
			counts[docTooLong]++
		case refValid:
			if reason != "" || got != ref {
				fail("%s in %s (%s): sent %q (reason %q); Parse+IsValidNumber+Format give %s", c.in, c.region, c.form, got, reason, ref)
			}
			for p := range problems {
				switch {
				case strings.HasPrefix(p, "ambiguous international prefix"):
					counts[docAmbiguous]++
				case strings.HasPrefix(p, "digits rewritten"):
					counts[docRewritten]++
				case strings.HasPrefix(p, "extension dropped"):
					counts[docExtension]++
				default:
					fail("%s in %s (%s): unexpected warning %q", c.in, c.region, c.form, p)
				}
			}
		case reason == "":
			// The library says no valid number: only the documented
			// exception may be sent, and only as the library reads it.
			if !problems["not a valid number for any region"] || got != ref || len(warns) != 1 && !problems["extension dropped (E.164 cannot carry one)"] {
				fail("%s in %s (%s): sent %q (warnings %q); the library finds no valid number (it reads %q)",
					c.in, c.region, c.form, got, JoinWarnings(warns), ref)
			}
			counts[docInvalidSent]++
		}
	}
	t.Logf("%d strings (every %d. example number), fast paths answered %d; documented disagreements: %v", len(cases), sample, fastAnswers, counts)
	if disagreements > 0 {
		t.Errorf("%d undocumented disagreements with the library", disagreements)
	}
	if len(cases) < 1000 || fastAnswers < len(cases)/20 {
		t.Errorf("%d strings, %d fast-path answers; the test proves too little", len(cases), fastAnswers)
	}
}

// TestPhoneDifferentialReadsRegionPrefixes pins the cases the issue found
// wrong, in the differential test's terms.
func TestPhoneDifferentialReadsRegionPrefixes(t *testing.T) {
	n := newNormalizer(t, Options{})
	tests := []struct{ in, region, want string }{
		{"009 1 242-345-6789", "NG", "+12423456789"},
		{"0011 32 78 10 23 45", "AU", "+3278102345"},
		{"0044 20 7946 0958", "GB", "+442079460958"},
		{"011 44 20 7946 0958", "US", "+442079460958"},
	}
	for _, tc := range tests {
		got, _, reason := n.phone(tc.in, tc.region, "")
		if reason != "" || got != tc.want {
			t.Errorf("phone(%q, %s) = %q, %q; want %s", tc.in, tc.region, got, reason, tc.want)
		}
	}
}

// TestExtraRegions: Kosovo, Ascension and Tristan da Cunha are countries
// and phone regions: their example numbers, written nationally, are read
// in them, as billing_address.country and as --phone-region.
func TestExtraRegions(t *testing.T) {
	for _, region := range []string{"XK", "AC", "TA"} {
		t.Run(region, func(t *testing.T) {
			ex := phonenumbers.GetExampleNumber(region)
			if ex == nil {
				t.Fatalf("no example number for %s", region)
			}
			national := phonenumbers.Format(ex, phonenumbers.NATIONAL)
			want := phonenumbers.Format(ex, phonenumbers.E164)
			byRegion := newNormalizer(t, Options{PhoneRegion: region})
			if u, err := byRegion.Update(record(withID(vals{input.Phone: set(national)}))); err != nil || *u.Body.Phone != want {
				t.Errorf("--phone-region %s: Update(%q) = %v, %v; want %s", region, national, u.Body.Phone, err, want)
			}
			byCountry := newNormalizer(t, Options{})
			u, err := byCountry.Update(record(address(vals{input.Phone: set(national), input.Country: set(region)})))
			if err != nil || *u.Body.Phone != want || u.Body.Address.Country != region || len(u.Warnings) != 0 {
				t.Errorf("country %s: Update(%q) = %+v, %v; want %s without warnings", region, national, u, err, want)
			}
		})
	}
}
