package normalize

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

// parseE164 is the library's own answer for a national number read in
// region, the reference the fast path must agree with: Parse, then
// IsValidNumber, then Format(E164). ok is false when Parse fails or the
// number is not valid.
func parseE164(s, region string) (string, bool) {
	num, err := phonenumbers.Parse(s, region)
	if err != nil || num.GetExtension() != "" || !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

func TestNationalE164(t *testing.T) {
	tests := []struct {
		name, in, region string
		want             string // "" when the fast path must decline
	}{
		{"NG mobile", "0803 123 4567", "NG", "+2348031234567"},
		{"NG mobile compact", "08031234567", "NG", "+2348031234567"},
		{"NG mobile without trunk zero", "803 123 4567", "NG", "+2348031234567"},
		{"NG mobile with dashes", "0803-123-4567", "NG", "+2348031234567"},
		{"GB London", "020 7946 0958", "GB", "+442079460958"},
		{"GB London in brackets", "(020) 7946 0958", "GB", "+442079460958"},
		{"GB mobile", "07400 123456", "GB", "+447400123456"},
		{"GB Guernsey mobile read in GB", "07911 123456", "GB", "+447911123456"},
		{"GB London read in NG is an NG number", "020 7946 0958", "NG", "+2342079460958"},
		{"US parentheses", "(415) 555-2671", "US", "+14155552671"},
		{"US dots", "415.555.2671", "US", "+14155552671"},
		{"US leading 1 (calling code, number too long otherwise)", "1-415-555-2671", "US", "+14155552671"},
		{"US number read in CA", "(415) 555-2671", "CA", "+14155552671"},
		{"CA number read in US", "(416) 555-0123", "US", "+14165550123"},
		{"CA leading 1", "1 416 555 0123", "CA", "+14165550123"},
		{"DE mobile", "01512 3456789", "DE", "+4915123456789"},
		{"DE Berlin with slash", "030/12345678", "DE", "+493012345678"},
		{"FR mobile", "06 12 34 56 78", "FR", "+33612345678"},
		{"FR dots", "01.23.45.67.89", "FR", "+33123456789"},
		{"IN mobile", "098765 43210", "IN", "+919876543210"},
		{"ZA mobile", "082 123 4567", "ZA", "+27821234567"},
		{"KE mobile", "0712 345678", "KE", "+254712345678"},
		{"GH mobile", "024 123 4567", "GH", "+233241234567"},
		{"AU mobile", "0412 345 678", "AU", "+61412345678"},
		{"RU mobile with trunk 8", "8 (912) 345-67-89", "RU", "+79123456789"},
		{"HU trunk 06", "06 20 123 4567", "HU", "+36201234567"},
		{"IT mobile", "312 345 6789", "IT", "+393123456789"},

		{"GB fictional drama range is invalid", "07700 900123", "GB", ""},
		{"NG number read in GB is invalid", "0803 123 4567", "GB", ""},
		{"too short", "123", "US", ""},
		{"seven digits", "555-2671", "US", ""},
		{"two digits", "12", "US", ""},
		{"IT fixed line keeps its leading zero", "06 6982 1234", "IT", ""},
		// Crown dependencies share +44; valid numbers, as Parse reads them.
		{"GB Jersey mobile read in GB", "07797 712345", "GB", "+447797712345"},
		{"GB Isle of Man mobile read in GB", "07624 123456", "GB", "+447624123456"},
		{"extension", "0803 123 4567 ext 5", "NG", ""},
		{"x extension", "0803 123 4567 x5", "NG", ""},
		{"hash extension", "415 555 2671 - 503#", "US", ""},
		{"comma extension", "415 555 2671,,5", "US", ""},
		{"letters", "1-800-FLOWERS", "US", ""},
		{"plus", "+234 803 123 4567", "NG", ""},
		{"NG international prefix 009", "009 44 20 7946 0958", "NG", ""},
		{"US international prefix 011", "011 44 20 7946 0958", "US", ""},
		{"00 prefix", "0044 20 7946 0958", "GB", ""},
		{"NG calling code without plus, not too long for NG", "234 803 123 4567", "NG", ""},
		{"too many digits", "123456789012345678901", "US", ""},
		{"full-width digits", "０８０３ １２３ ４５６７", "NG", ""},
		{"AR national prefix is a regexp", "011 15 2345 6789", "AR", ""},
		{"GG trunk 0, the transform rule's group not in the match", "01481 256789", "GG", "+441481256789"},
		{"MG trunk 0, the transform rule's group not in the match", "032 12 345 67", "MG", "+261321234567"},
		{"NZ international prefix 0(?:0|161) might match", "0161 234 5678", "NZ", ""},
		// RU numbers are 10 or 14 digits long, so 11 digits starting with
		// the calling code are not too long, and Parse decides by regexp.
		{"RU leading 7 (calling code), not too long for RU", "7 912 345 67 89", "RU", ""},
		// TA's calling code 290 and two digits: read as "+290 63" by
		// Parse (too short), as TA's 29063 without the code check.
		{"TA calling code without plus", "290 - 63", "TA", ""},
		// TC's national prefix "([2-479]\d{6})$|1" rewrites a local
		// number to 649 310 5049 (a transform rule).
		{"TC local number with a transform rule", "(310) 504 9", "TC", ""},
		// TT's "([2-46-8]\\d{6})$|1" matches a seven-digit number, and
		// "868$1" makes it +1 868 310 8728 (a valid number).
		{"TT local number with a transform rule", "31-0872-8", "TT", ""},
		{"TT number with its area code", "(868) 221-1234", "TT", "+18682211234"},
		// Stripped, 800887102 is a valid +44 number (a GB freephone) but
		// too short for IM, so Parse keeps the 0 and the number is not.
		{"IM: the stripped number's length is impossible for IM", "080 - 0887 - 102", "IM", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := nationalE164(tc.in, tc.region)
			if tc.want == "" {
				if ok {
					t.Fatalf("nationalE164(%q, %s) = %q, true; want it to decline", tc.in, tc.region, got)
				}
				return
			}
			if !ok || got != tc.want {
				t.Fatalf("nationalE164(%q, %s) = %q, %v; want %q, true", tc.in, tc.region, got, ok, tc.want)
			}
			// The hand-written answer is also the library's.
			if lib, ok := parseE164(tc.in, tc.region); !ok || lib != tc.want {
				t.Fatalf("Parse(%q, %s) + IsValidNumber + Format = %q, %v; want %q", tc.in, tc.region, lib, ok, tc.want)
			}
		})
	}
}

// sortedRegions is the library's supported regions in order.
func sortedRegions() []string {
	var rs []string
	for r, ok := range phonenumbers.GetSupportedRegions() {
		if ok {
			rs = append(rs, r)
		}
	}
	slices.Sort(rs)
	return rs
}

// keyRegions are the regions the generated files and most customers use;
// the differential test makes many more numbers for them.
func keyRegions() []string {
	return []string{"NG", "GB", "US", "DE", "FR", "IN", "ZA", "KE", "GH", "CA", "AU"}
}

// nationalCorpus makes national-format strings for region: the library's
// example numbers of every type written every way people write them (with
// and without the national prefix, with the calling code or an
// international prefix in front, grouped with every separator), the same
// numbers with digits changed, added or dropped, and random digit strings
// around the region's lengths, with and without a leading zero.
func nationalCorpus(rng *rand.Rand, region string, random int) []string {
	cc := strconv.Itoa(phonenumbers.GetCountryCodeForRegion(region))
	np := phonenumbers.GetNddPrefixForRegion(region, true)
	var out []string
	group := func(d string) string {
		if len(d) < 2 || rng.IntN(4) == 0 {
			return d
		}
		seps := []string{" ", "-", ".", "/", " - "}
		sep := seps[rng.IntN(len(seps))]
		var b strings.Builder
		first := true
		for len(d) > 0 {
			k := min(len(d), 2+rng.IntN(3))
			if first && rng.IntN(3) == 0 {
				b.WriteString("(" + d[:k] + ")")
			} else {
				b.WriteString(d[:k])
			}
			d = d[k:]
			if len(d) > 0 {
				b.WriteString(sep)
			}
			first = false
		}
		return b.String()
	}
	digit := func() byte { return byte('0' + rng.IntN(10)) }
	mutate := func(d string) string {
		b := []byte(d)
		switch rng.IntN(4) {
		case 0: // change the last digits: the same range
			for k := 1 + rng.IntN(4); k > 0 && len(b) > 0; k-- {
				b[len(b)-k] = digit()
			}
		case 1: // change any digit
			if len(b) > 0 {
				b[rng.IntN(len(b))] = digit()
			}
		case 2: // one digit more
			i := rng.IntN(len(b) + 1)
			b = slices.Insert(b, i, digit())
		default: // one digit fewer
			if len(b) > 1 {
				i := rng.IntN(len(b))
				b = slices.Delete(b, i, i+1)
			}
		}
		return string(b)
	}
	var nsns []string
	for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE,
		phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP,
		phonenumbers.PERSONAL_NUMBER, phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL} {
		ex := phonenumbers.GetExampleNumberForType(region, typ)
		if ex == nil {
			continue
		}
		out = append(out, phonenumbers.Format(ex, phonenumbers.NATIONAL))
		nsns = append(nsns, phonenumbers.GetNationalSignificantNumber(ex))
	}
	for _, nsn := range nsns {
		for _, d := range []string{nsn, np + nsn, cc + nsn, cc + np + nsn, "1" + nsn, "8" + nsn, "0" + nsn,
			"00" + cc + nsn, "000" + cc + nsn, "009" + cc + nsn, "011" + cc + nsn, "810" + cc + nsn} {
			out = append(out, d, group(d))
		}
		for range 6 {
			d := mutate(nsn)
			out = append(out, group(d), group(np+d))
		}
	}
	for k := range random {
		var b []byte
		switch rng.IntN(4) {
		case 0:
			b = append(b, '0')
		case 1:
			b = append(b, np...)
		case 2:
			b = append(b, cc...)
		}
		n := len(b) + 3 + rng.IntN(15)
		if k%2 == 0 && len(nsns) > 0 {
			// A real range: an example's first digits, its length or
			// one off, and random subscriber digits.
			nsn := nsns[rng.IntN(len(nsns))]
			b = append(b, nsn[:min(len(nsn), 2+rng.IntN(3))]...)
			n = len(b) - 2 + len(nsn) + rng.IntN(3)
		}
		for len(b) < n {
			b = append(b, digit())
		}
		out = append(out, group(string(b)))
	}
	return out
}

// TestNationalE164AgreesWithParse is the proof that the fast path changes
// no answer: over every supported region and many national-format strings,
// whenever it answers, the library's Parse + IsValidNumber + Format(E164)
// gives the same valid number, and (for the key regions, to keep the test
// fast under -race) the normalizer's full path gives the same E.164 string
// and no reason. When it declines, phone runs the full
// path as before, so invalid numbers keep their reasons.
func TestNationalE164AgreesWithParse(t *testing.T) {
	n := newNormalizer(t, Options{})
	rng := rand.New(rand.NewPCG(6, 2026))
	total, answered := 0, 0
	perRegion := map[string][2]int{}
	for _, region := range sortedRegions() {
		key := slices.Contains(keyRegions(), region)
		random := 40
		if key {
			random = 600
		}
		for _, s := range nationalCorpus(rng, region, random) {
			total++
			got, ok := nationalE164(s, region)
			c := perRegion[region]
			c[0]++
			if !ok {
				perRegion[region] = c
				continue
			}
			c[1]++
			perRegion[region] = c
			answered++
			if want, valid := parseE164(s, region); !valid || got != want {
				t.Errorf("nationalE164(%q, %s) = %q; Parse + IsValidNumber + Format give %q (valid %v)", s, region, got, want, valid)
			}
			if !key {
				continue
			}
			if want, _, reason := n.phoneWith(s, region, "", nil, nil); reason != "" || got != want {
				t.Errorf("nationalE164(%q, %s) = %q; the full path gives %q, reason %q", s, region, got, want, reason)
			}
		}
	}
	t.Logf("%d strings, the fast path answered %d", total, answered)
	// The test proves something only if the fast path answers often, and
	// it is meant to answer for the regions customers use.
	for _, r := range keyRegions() {
		if c := perRegion[r]; c[1] < 50 {
			t.Errorf("region %s: the fast path answered %d of %d strings; want at least 50", r, c[1], c[0])
		}
	}
}

// TestNationalE164ExampleNumbers checks that the regions customers use
// take the fast path for their ordinary numbers: the library's example
// fixed-line and mobile numbers, written in national format.
func TestNationalE164ExampleNumbers(t *testing.T) {
	for _, region := range keyRegions() {
		for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE} {
			ex := phonenumbers.GetExampleNumberForType(region, typ)
			if ex == nil {
				t.Fatalf("GetExampleNumberForType(%s, %v) = nil", region, typ)
			}
			s := phonenumbers.Format(ex, phonenumbers.NATIONAL)
			want := phonenumbers.Format(ex, phonenumbers.E164)
			if got, ok := nationalE164(s, region); !ok || got != want {
				t.Errorf("nationalE164(%q, %s) = %q, %v; want %q, true", s, region, got, ok, want)
			}
		}
	}
}

func TestRegionMetadata(t *testing.T) {
	for _, r := range sortedRegions() {
		m := regionMetadata(r)
		if m == nil {
			t.Errorf("regionMetadata(%s) = nil; want the region's metadata", r)
			continue
		}
		if m.GetId() != r || int(m.GetCountryCode()) != phonenumbers.GetCountryCodeForRegion(r) ||
			m.GetNationalPrefix() != phonenumbers.GetNddPrefixForRegion(r, false) {
			t.Errorf("regionMetadata(%s) = %s +%d prefix %q; the library says +%d prefix %q", r, m.GetId(), m.GetCountryCode(),
				m.GetNationalPrefix(), phonenumbers.GetCountryCodeForRegion(r), phonenumbers.GetNddPrefixForRegion(r, false))
		}
	}
	for _, r := range []string{"", "ZZ", "001", "AQ", "ng", "NGA"} {
		if m := regionMetadata(r); m != nil {
			t.Errorf("regionMetadata(%q) = %s; want nil", r, m.GetId())
		}
	}
}

func TestMayMatch(t *testing.T) {
	tests := []struct {
		pattern, digits string
		want            bool
	}{
		{"00", "0044207", true},
		{"00", "0803123", false},
		{"009", "0803123", false},
		{"009", "0094420", true},
		{"011", "4155552", false},
		{"011", "01", false}, // shorter than the prefix
		{"", "0803", true},
		{"00[89]", "0812345", false},
		{"00[89]", "0081234", true},
		{"0(?:0|1[2-9])", "0521234", false},
		{"0(?:0|1[2-9])", "0131234", true},
		{"0(?:0|161)", "0161234", true},
		{"0(?:0|161)", "0162234", false},
		{"00|99(?:[01469]|5(?:[14]1|3[23]))", "0401234", false},
		{"00|99(?:[01469]|5(?:[14]1|3[23]))", "9901234", true},
		{"001[14-689]|14(?:1[14]|34)0011", "0412345", false},
		{"001[14-689]|14(?:1[14]|34)0011", "1452345", false},
		{"001[14-689]|14(?:1[14]|34)0011", "1411345", true},
		{"(?:0|1(?:1[0-69]|2[02-5]))0", "9123456", false},
		{"(?:0|1(?:1[0-69]|2[02-5]))0", "0123456", true},
		{"00(?:1\\d)?", "0012345", true},
		{"0?", "9123456", true},
		{"[08]", "9123456", false},
		{"[08]", "8123456", true},
		{"\\d", "9123456", true},
		{"(?i)x", "9123456", true},
		{"[|]0", "9123456", true},
		{"1[|]|5", "9123456", false}, // the "|" in the class separates nothing
		{"[2-9]\\d{9}|3\\d{6}", "4155552671", true},
		{"[2-9]\\d{9}|3\\d{6}", "14155552671", false},
		{"[1-357-9]\\d{9}|[18]\\d{8}|8\\d{6}", "07400123456", false},
		{"[1-357-9]\\d{9}|[18]\\d{8}|8\\d{6}", "6400123456", false},
		{"[1-357-9]\\d{9}|[18]\\d{8}|8\\d{6}", "7400123456", true},
		{"(?:20|9\\d)\\d{8}|[78]\\d{9,13}", "08031234567", false},
		{"(?:20|9\\d)\\d{8}|[78]\\d{9,13}", "91234567", true},
		{"[^0]\\d", "0123", false},
		{"[^0]\\d", "1123", true},
		{"\\d0", "1123", false},
		{"[2-9]?0", "1123", true},
		{"[a-z]", "1123", true},
		{"([2457]\\d{6})$|1", "2644612345", false}, // "$": seven digits only
		{"([2457]\\d{6})$|1", "2641234", true},
		{"([2457]\\d{6})$|1", "3641234", false},
		{"([2457]\\d{6})$|1", "14155552671", true},
		{"\\d{3}5", "1235", true},
		{"\\d{3}5", "1234", false},
		{"\\d{3}5", "12", false},
		{"\\d{2,3}5", "1", true}, // not an exact count
		{"\\d{2}?5", "1", true},
		{"(?:12)3", "1245", false},
		{"(?:12)3", "1234", true},
		{"0$", "01", false},
		{"0$", "0", true},
		{"(0$)", "01", false},
		{"0$1", "01", true}, // "$" before more items: not read
	}
	for _, tc := range tests {
		if got := mayMatch(tc.pattern, tc.digits); got != tc.want {
			t.Errorf("mayMatch(%q, %q) = %v; want %v", tc.pattern, tc.digits, got, tc.want)
		}
	}
}

func TestNationalPrefix(t *testing.T) {
	tests := []struct {
		region, digits string
		wantN          int
		wantState      prefixState
	}{
		{"NG", "08031234567", 1, prefixFound},
		{"NG", "8031234567", 0, prefixNone},
		{"GB", "02079460958", 1, prefixFound},
		{"GB", "1800201234567", 6, prefixFound},
		{"US", "14155552671", 1, prefixFound},
		{"US", "4155552671", 0, prefixNone},
		{"HU", "06201234567", 2, prefixFound},
		{"HU", "0201234567", 0, prefixNone},
		{"IT", "0669821234", 0, prefixNone},   // no national prefix
		{"LI", "10012345678", 4, prefixFound}, // "(1001)|0": a carrier code
		{"AU", "0412345678", 1, prefixFound},  // "(183[12])|0": the first alternative cannot match
		{"AU", "1831412345678", 0, prefixUnknown},
		{"AR", "01123456789", 0, prefixUnknown},   // a long regexp
		{"GG", "01481256789", 1, prefixFound},     // "([25-9]\d{5})$|0|180020", "1481$1": "0" takes no group
		{"GG", "256789", 0, prefixUnknown},        // ... the first alternative might match, and is rewritten
		{"CN", "11912345678", 0, prefixUnknown},   // "(1(?:[12]\d|79)\d\d)|0" might match
		{"CN", "13812345678", 0, prefixNone},      // ... cannot here
		{"CN", "02012345678", 1, prefixFound},     // ... nor here, and "0" does
		{"BY", "0291234567", 1, prefixFound},      // "0|80?": "0" comes first
		{"BY", "80291234567", 0, prefixUnknown},   // ... "80?" has a quantifier
		{"LT", "861234567", 0, prefixUnknown},     // "[08]"
		{"RU", "89123456789", 1, prefixFound},     // "8"
		{"KZ", "87011234567", 1, prefixFound},     // "8"
		{"RU", "79123456789", 0, prefixNone},      // the calling code is not a prefix
		{"MG", "0201234567", 1, prefixFound},      // "([24-9]\d{6})$|0" with a transform rule for the group
		{"MG", "2012345", 0, prefixUnknown},       // ... which might match a seven-digit number
		{"MG", "201234567", 0, prefixNone},        // ... and no other
		{"NF", "01234", 0, prefixUnknown},         // "([0-258]\\d{4})$" might match five digits
		{"NF", "0123456", 0, prefixNone},          // ... and no more
		{"AE", "0501234567", 1, prefixFound},      // "0"
		{"CR", "22123456", 0, prefixNone},         // "(19(?:0[0-2468]|...))" cannot match
		{"CR", "1900812345678", 0, prefixUnknown}, // ... and might here
	}
	for _, tc := range tests {
		m := regionMetadata(tc.region)
		if m == nil {
			t.Fatalf("regionMetadata(%s) = nil", tc.region)
		}
		n, st := nationalPrefix(m, tc.digits)
		if st != tc.wantState || (st == prefixFound && n != tc.wantN) {
			t.Errorf("nationalPrefix(%s %q, %q) = %d, %v; want %d, %v", tc.region, m.GetNationalPrefixForParsing(), tc.digits, n, st, tc.wantN, tc.wantState)
		}
	}
}

// FuzzNationalE164 checks the fast path against the library on any string
// read in any region: when it answers, Parse + IsValidNumber + Format(E164)
// must give the same valid number.
func FuzzNationalE164(f *testing.F) {
	regions := sortedRegions()
	for _, seed := range []struct {
		s string
		r string
	}{
		{"0803 123 4567", "NG"}, {"020 7946 0958", "GB"}, {"(415) 555-2671", "US"}, {"1-415-555-2671", "US"},
		{"01512 3456789", "DE"}, {"06 12 34 56 78", "FR"}, {"098765 43210", "IN"}, {"082 123 4567", "ZA"},
		{"0712 345678", "KE"}, {"024 123 4567", "GH"}, {"(416) 555-0123", "CA"}, {"0412 345 678", "AU"},
		{"8 (912) 345-67-89", "RU"}, {"7 912 345 67 89", "KZ"}, {"06 20 123 4567", "HU"}, {"1001 234 5678", "LI"},
		{"180020 1234567", "GB"}, {"0161 234 5678", "NZ"}, {"009 44 20 7946 0958", "NG"}, {"07797 712345", "GB"},
	} {
		f.Add(seed.s, uint16(slices.Index(regions, seed.r)))
	}
	f.Fuzz(func(t *testing.T, s string, r uint16) {
		region := regions[int(r)%len(regions)]
		got, ok := nationalE164(s, region)
		if !ok {
			return
		}
		if want, valid := parseE164(s, region); !valid || got != want {
			t.Fatalf("nationalE164(%q, %s) = %q; Parse + IsValidNumber + Format give %q (valid %v)", s, region, got, want, valid)
		}
	})
}

// BenchmarkPhoneNationalFull is BenchmarkPhoneNational without the fast
// path: Parse, IsValidNumber and Format.
func BenchmarkPhoneNationalFull(b *testing.B) {
	n, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, r := n.phoneWith("0803 123 4567", "NG", "", nil, nil); r != "" {
			b.Fatal(r)
		}
	}
}

// BenchmarkPhoneNationalRegions is one national number of each key region
// through phone, fast path first.
func BenchmarkPhoneNationalRegions(b *testing.B) {
	n, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ region, number string }{
		{"NG", "0803 123 4567"}, {"GB", "07400 123456"}, {"US", "(415) 555-2671"}, {"DE", "01512 3456789"},
		{"FR", "06 12 34 56 78"}, {"ZA", "082 123 4567"}, {"KE", "0712 345678"}, {"GH", "024 123 4567"},
	} {
		b.Run(tc.region, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, r := n.phone(tc.number, tc.region, ""); r != "" {
					b.Fatal(r)
				}
			}
		})
	}
}

func TestCaptureGroups(t *testing.T) {
	tests := []struct {
		pattern string
		want    int
	}{
		{"0", 0},
		{"(1001)|0", 1},
		{"(?:0|1)", 0},
		{"([25-9]\\d{5})$|0|180020", 1},
		{"0(8(?:[1-46-8]|5\\d\\d))?", 1},
		{"(?:0|90)(?:(1[245]|2[1-35])(\\d{10,11}))?", 2},
		{"\\(0\\)", 0},
		{"[(]0", 0},
		{"(?P<x>0)", 1},
	}
	for _, tc := range tests {
		if got := captureGroups(tc.pattern); got != tc.want {
			t.Errorf("captureGroups(%q) = %d; want %d", tc.pattern, got, tc.want)
		}
	}
}

// TestIsValidAgreesWithLibrary checks the shortcut for shared calling
// codes against the library: for the first two regions of every shared
// calling code and
// numbers of all its sibling regions (example numbers and the same with
// digits changed, valid or not), isValid gives IsValidNumber, and with
// sameRegion it gives GetRegionCodeForNumber == region &&
// IsValidNumberForRegion.
func TestIsValidAgreesWithLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	checked := map[bool]int{}
	for _, region := range sortedRegions() {
		cc := phonenumbers.GetCountryCodeForRegion(region)
		siblings := phonenumbers.GetRegionCodesForCountryCode(cc)
		// The shortcut is for the first region of a shared calling code;
		// the second stands for the others, which go straight to the
		// library.
		if len(siblings) < 2 || region != siblings[0] && region != siblings[1] {
			continue
		}
		meta := regionMetadata(region)
		var nsns []uint64
		for _, sib := range siblings {
			for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE,
				phonenumbers.TOLL_FREE, phonenumbers.PREMIUM_RATE, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER} {
				if ex := phonenumbers.GetExampleNumberForType(sib, typ); ex != nil {
					nsns = append(nsns, ex.GetNationalNumber())
				}
			}
		}
		for _, nsn := range nsns {
			for k := range 8 {
				nn := nsn
				switch k % 4 {
				case 1: // the last digits changed
					p := uint64(1)
					for range 1 + rng.IntN(4) {
						p *= 10
					}
					nn = nsn - nsn%p + rng.Uint64N(p)
				case 2: // a digit more
					nn = nsn*10 + rng.Uint64N(10)
				case 3: // a digit fewer
					nn = nsn / 10
				}
				num := &phonenumbers.PhoneNumber{CountryCode: proto.Int32(int32(cc)), NationalNumber: proto.Uint64(nn)}
				want := phonenumbers.IsValidNumber(num)
				checked[want]++
				if got := isValid(num, region, meta, false); got != want {
					t.Errorf("isValid(+%d %d, %s, false) = %v; IsValidNumber says %v", cc, nn, region, got, want)
				}
				wantSame := phonenumbers.GetRegionCodeForNumber(num) == region && phonenumbers.IsValidNumberForRegion(num, region)
				if got := isValid(num, region, meta, true); got != wantSame {
					t.Errorf("isValid(+%d %d, %s, true) = %v; the library says %v", cc, nn, region, got, wantSame)
				}
			}
		}
	}
	if checked[true] < 100 || checked[false] < 100 {
		t.Errorf("checked %d valid and %d invalid numbers; want at least 100 of each", checked[true], checked[false])
	}
}
