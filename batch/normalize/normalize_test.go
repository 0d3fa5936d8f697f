package normalize

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/language"

	"github.com/juicebatch/juicebatch/batch/input"
)

// fieldCase is one value of one string field, in a row that has only an id
// and that field (plus the fields in extra).
type fieldCase struct {
	name   string
	in     input.Value
	extra  vals   // other fields of the row
	want   string // the value sent, when reason is ""
	reason string // the expected RowError.Reason
	warn   string // the row's warnings (JoinWarnings), when reason is ""
}

// strictOf is n with --strict-values.
func strictOf(t *testing.T, n *Normalizer) *Normalizer {
	t.Helper()
	region := n.phoneRegion
	s, err := New(Options{File: n.file, PhoneRegion: region, BlankClears: n.blankClears, StrictValues: true})
	if err != nil {
		t.Fatalf("New(strict) = %v", err)
	}
	return s
}

// checkWarnings checks the warnings of a row Update sent, and that
// --strict-values refuses the same row with the first warning's text.
func checkWarnings(t *testing.T, n *Normalizer, rec *input.Record, u Update, want string) {
	t.Helper()
	if got := JoinWarnings(u.Warnings); got != want {
		t.Fatalf("Update() warnings = %q; want %q", got, want)
	}
	_, err := strictOf(t, n).Update(rec)
	if want == "" {
		if err != nil {
			t.Fatalf("Update() with StrictValues error = %v; want nil (no warnings)", err)
		}
		return
	}
	first, _, _ := strings.Cut(want, warningSep)
	if err == nil || strings.TrimPrefix(err.Error(), testFile+":14: ") != first {
		t.Fatalf("Update() with StrictValues error = %v; want %s:14: %s", err, testFile, first)
	}
}

// runFieldCases checks each case's outcome for field f; get reads f's value
// from a Body.
func runFieldCases(t *testing.T, n *Normalizer, f input.Field, get func(Body) *string, cases []fieldCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := withID(vals{f: tc.in})
			for ef, ev := range tc.extra {
				v[ef] = ev
			}
			u, err := n.Update(record(v))
			if tc.reason != "" {
				if want := rowErr(f.String(), tc.reason); !cmp.Equal(err, want) {
					t.Fatalf("Update(%s=%q) error = %v; want %v", f, tc.in.Text, err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Update(%s=%q) error = %v; want %s=%q", f, tc.in.Text, err, f, tc.want)
			}
			got := get(u.Body)
			if got == nil {
				t.Fatalf("Update(%s=%q): %s not sent; want %q", f, tc.in.Text, f, tc.want)
			}
			if *got != tc.want {
				t.Errorf("Update(%s=%q): %s = %q; want %q", f, tc.in.Text, f, *got, tc.want)
			}
			checkWarnings(t, n, record(v), u, tc.warn)
		})
	}
}

func TestUpdateID(t *testing.T) {
	n := newNormalizer(t, Options{})
	long65 := strings.Repeat("a", 65)
	long300 := strings.Repeat("x", 300)
	first60x := `"` + strings.Repeat("x", 60) + `…"`
	const allowed = `; only A-Z, a-z, 0-9, "_" and "-" are allowed: `
	tests := []struct {
		name   string
		in     input.Value
		want   string
		reason string
	}{
		{"simple", set("c1"), "c1", ""},
		{"uuid", set("6f7e1e7f-93d1-4fcc-b7a4-738f869615c8"), "6f7e1e7f-93d1-4fcc-b7a4-738f869615c8", ""},
		{"underscore and case", set("Cus_9-Z"), "Cus_9-Z", ""},
		{"trimmed", set("  abc-DEF_123 \t"), "abc-DEF_123", ""},
		{"64 characters", set(strings.Repeat("a", 64)), strings.Repeat("a", 64), ""},
		{"absent", input.Value{}, "", "missing"},
		{"clear", clr(), "", "missing"},
		{"blank", set("   "), "", "missing"},
		{"slash", set("a/b"), "", `contains "/"` + allowed + `"a/b"`},
		{"dot dot", set(".."), "", `contains "."` + allowed + `".."`},
		{"traversal", set("../admin"), "", `contains "."` + allowed + `"../admin"`},
		{"percent", set("a%2Fb"), "", `contains "%"` + allowed + `"a%2Fb"`},
		{"question mark", set("a?x=1"), "", `contains "?"` + allowed + `"a?x=1"`},
		{"hash", set("a#b"), "", `contains "#"` + allowed + `"a#b"`},
		{"inner space", set("a b"), "", `contains a space` + allowed + `"a b"`},
		{"backslash", set(`a\b`), "", `contains "\\"` + allowed + `"a\\b"`},
		{"non-ascii", set("café"), "", `contains "é"` + allowed + `"café"`},
		{"no-break space", set("a\u00a0b"), "", `contains a no-break space (U+00A0)` + allowed + `"a\u00a0b"`},
		{"65 characters", set(long65), "", `longer than 64 characters: 65 characters, "` + strings.Repeat("a", 60) + `…"`},
		{"300 characters", set(long300), "", `longer than 64 characters: 300 characters, ` + first60x},
		{"300 characters with a slash", set(long300[:299] + "/"), "", `contains "/"` + allowed + first60x},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := n.Update(record(vals{input.ID: tc.in, input.FirstName: set("Ada")}))
			if tc.reason != "" {
				if want := rowErr("id", tc.reason); !cmp.Equal(err, want) {
					t.Fatalf("Update(id=%q) error = %v; want %v", tc.in.Text, err, want)
				}
				return
			}
			if err != nil || u.ID != tc.want {
				t.Fatalf("Update(id=%q) = %q, %v; want %q, nil", tc.in.Text, u.ID, err, tc.want)
			}
		})
	}
}

func TestUpdateNames(t *testing.T) {
	n := newNormalizer(t, Options{})
	// The creation endpoint's name rule is a warning: the value is sent.
	const rule = " (the creation endpoint allows only letters, spaces, hyphens and apostrophes in names): "
	punct := func(f, chars, v string) string {
		return f + ": contains punctuation, symbols or other characters" + rule + chars + " in " + v
	}
	cases := []fieldCase{
		{name: "plain", in: set("Ada"), want: "Ada"},
		{name: "trimmed", in: set("  Ada \t"), want: "Ada"},
		{name: "unicode white space trimmed", in: set("\u00a0\u3000Ada\u2003"), want: "Ada"},
		{name: "two words", in: set("Mary Jane"), want: "Mary Jane"},
		{name: "double inner space kept", in: set("Mary  Jane"), want: "Mary  Jane"},
		{name: "ascii apostrophe", in: set("O'Brien"), want: "O'Brien"},
		{name: "typographic apostrophe", in: set("O\u2019Brien"), want: "O\u2019Brien"},
		{name: "hyphen", in: set("Jean-Luc"), want: "Jean-Luc"},
		{name: "precomposed accent", in: set("Zoë"), want: "Zoë"},
		{name: "combining accent", in: set("Zoe\u0308"), want: "Zoe\u0308"},
		{name: "yoruba", in: set("Ọlámídé"), want: "Ọlámídé"},
		{name: "chinese", in: set("张伟"), want: "张伟"},
		{name: "cyrillic", in: set("Дмитрий"), want: "Дмитрий"},
		{name: "arabic", in: set("محمد"), want: "محمد"},
		{name: "hindi with vowel signs", in: set("प्रिया"), want: "प्रिया"},
		{name: "100 characters", in: set(strings.Repeat("a", 100)), want: strings.Repeat("a", 100)},
		{name: "100 two-byte characters", in: set(strings.Repeat("é", 100)), want: strings.Repeat("é", 100)},
		{name: "clear", in: clr(), want: ""},
	}
	warned := []struct {
		name, in string
		warn     func(f string) string
	}{
		{"digit", "J0hn", func(f string) string { return f + ": contains a digit" + rule + `"J0hn"` }},
		{"digit at the end", "Seán Changed2", func(f string) string { return f + ": contains a digit" + rule + `"Seán Changed2"` }},
		{"dot", "Dr. Who", func(f string) string { return punct(f, `"."`, `"Dr. Who"`) }},
		{"comma and dot", "Smith, Jr.", func(f string) string { return punct(f, `"," "."`, `"Smith, Jr."`) }},
		{"double quotes", `Robert "Bob"`, func(f string) string { return punct(f, `"\""`, `"Robert \"Bob\""`) }},
		{"ampersand", "Ada & Co", func(f string) string { return punct(f, `"&"`, `"Ada & Co"`) }},
		{"slash", "Ada/Bob", func(f string) string { return punct(f, `"/"`, `"Ada/Bob"`) }},
		{"parenthesis", "Ada (Bob)", func(f string) string { return punct(f, `"(" ")"`, `"Ada (Bob)"`) }},
		{"angle bracket", "<script>", func(f string) string { return punct(f, `"<" ">"`, `"<script>"`) }},
		{"left single quote", "O\u2018Brien", func(f string) string { return punct(f, `"‘"`, `"O‘Brien"`) }},
		{"no-break space inside", "Anne\u00a0Marie", func(f string) string {
			return punct(f, `a no-break space (U+00A0)`, `"Anne\u00a0Marie"`)
		}},
		{"zero-width space", "Ann\u200bMarie", func(f string) string { return punct(f, `U+200B`, `"Ann\u200bMarie"`) }},
		{"emoji", "Ada 🙂", func(f string) string { return punct(f, `"🙂"`, `"Ada 🙂"`) }},
		{"digits and punctuation", "Mary-Kate O'Brien 2nd.", func(f string) string {
			return f + ": contains a digit" + rule + `"Mary-Kate O'Brien 2nd."` + "\n" + punct(f, `"."`, `"Mary-Kate O'Brien 2nd."`)
		}},
		{"101 characters", strings.Repeat("b", 101), func(f string) string {
			return f + `: longer than 100 characters (the creation endpoint's limit for names): 101 characters, "` + strings.Repeat("b", 60) + `…"`
		}},
		{"a line break", "Ada\nLovelace", func(f string) string { return f + `: contains a line break (U+000A): "Ada\nLovelace"` }},
	}
	for _, field := range []input.Field{input.FirstName, input.LastName} {
		fc := append([]fieldCase(nil), cases...)
		for _, w := range warned {
			fc = append(fc, fieldCase{name: w.name, in: set(w.in), want: w.in, warn: w.warn(field.String())})
		}
		get := func(b Body) *string { return b.FirstName }
		if field == input.LastName {
			get = func(b Body) *string { return b.LastName }
		}
		runFieldCases(t, n, field, get, fc)
	}
}

func TestUpdateEmail(t *testing.T) {
	n := newNormalizer(t, Options{})
	local65 := strings.Repeat("l", 65)
	long := strings.Repeat("l", 60) + "@" + strings.Repeat("d", 190) + ".com" // 255 bytes
	runFieldCases(t, n, input.Email, func(b Body) *string { return b.Email }, []fieldCase{
		{name: "plain", in: set("ada@example.com"), want: "ada@example.com"},
		{name: "trimmed", in: set("  ada@example.com\t"), want: "ada@example.com"},
		{name: "domain lower-cased, local kept", in: set("Ada.Lovelace@Example.COM"), want: "Ada.Lovelace@example.com"},
		{name: "plus tag and subdomains", in: set("ada+crm@mail.example.co.uk"), want: "ada+crm@mail.example.co.uk"},
		{name: "hyphen in domain", in: set("ada@my-example.ng"), want: "ada@my-example.ng"},
		{name: "idn unicode domain lower-cased", in: set("José@Bücher.DE"), want: "José@bücher.de"},
		{name: "idn punycode domain", in: set("ada@XN--bcher-kva.DE"), want: "ada@xn--bcher-kva.de"},
		{name: "clear", in: clr(), want: ""},
		{name: "display name", in: set("Ada Lovelace <ada@example.com>"),
			reason: `has a display name or comment; give only the address: "ada@example.com" in "Ada Lovelace <ada@example.com>"`},
		{name: "comment", in: set("ada@example.com (Ada)"),
			reason: `has a display name or comment; give only the address: "ada@example.com" in "ada@example.com (Ada)"`},
		{name: "angle brackets", in: set("<ada@example.com>"),
			reason: `not a bare address; give it without angle brackets: "ada@example.com" in "<ada@example.com>"`},
		{name: "quoted local part", in: set(`"ada l"@example.com`),
			reason: `not a bare address (quoted parts and comments are not accepted): "\"ada l\"@example.com"`},
		{name: "no at", in: set("ada.example.com"), reason: `not an email address (no "@"): "ada.example.com"`},
		{name: "two ats", in: set("ada@@example.com"), reason: `not a valid email address: "ada@@example.com"`},
		{name: "double dot", in: set("a..b@example.com"), reason: `not a valid email address: "a..b@example.com"`},
		{name: "space in local part", in: set("ada lovelace@example.com"), reason: `not a valid email address: "ada lovelace@example.com"`},
		{name: "two addresses", in: set("ada@example.com, bob@example.com"), reason: `not a valid email address: "ada@example.com, bob@example.com"`},
		// Beyond net/mail's syntax: sent (the endpoint takes them), warned.
		{name: "domain without dot", in: set("ada@localhost"), want: "ada@localhost",
			warn: `email: domain has no dot (not a host name mail can reach): "ada@localhost"`},
		{name: "domain literal", in: set("ada@[192.168.0.1]"), want: "ada@[192.168.0.1]",
			warn: `email: domain contains "[" (not a host name mail can reach): "ada@[192.168.0.1]"`},
		{name: "leading hyphen label", in: set("ada@-example.com"), want: "ada@-example.com",
			warn: `email: domain has a label that starts or ends with a hyphen (not a host name mail can reach): "ada@-example.com"`},
		{name: "underscore in domain", in: set("ada@exa_mple.com"), want: "ada@exa_mple.com",
			warn: `email: domain contains "_" (not a host name mail can reach): "ada@exa_mple.com"`},
		{name: "numeric tld", in: set("ada@10.0.0.1"), want: "ada@10.0.0.1",
			warn: `email: domain has a numeric top-level label (not a host name mail can reach): "ada@10.0.0.1"`},
		{name: "local part too long", in: set(local65 + "@example.com"), want: local65 + "@example.com",
			warn: `email: part before "@" longer than the 64 characters it may have (RFC 5321): 65 characters, "` + strings.Repeat("l", 60) + `…"`},
		{name: "address too long", in: set(long), want: long,
			warn: `email: longer than the 254 characters an address may have (RFC 5321): 255 characters as sent, "` + strings.Repeat("l", 60) + `…"` +
				"\n" + `email: domain has a label longer than 63 characters (not a host name mail can reach): "` + strings.Repeat("l", 60) + `…"`},
		{name: "empty domain", in: set("ada@"), reason: `not a valid email address: "ada@"`},
		{name: "domain with an empty label", in: set("ada@example..com"), reason: `not a valid email address: "ada@example..com"`},
	})
}

func TestUpdatePhone(t *testing.T) {
	const needsCountry = `national number needs a country (set billing_address.country or --phone-region): "0803 123 4567"`
	tests := []struct {
		name    string
		phone   input.Value
		country string // the row's billing_address.country ("" = none; the row then has no address)
		region  string // Options.PhoneRegion
		want    string
		reason  string
		warn    string // the row's warnings, when it is sent
	}{
		// Nigeria.
		{name: "NG national with country code", phone: set("0803 123 4567"), country: "NG", want: "+2348031234567"},
		{name: "NG national with country name", phone: set("0803 123 4567"), country: "Nigeria", want: "+2348031234567"},
		{name: "NG national with phone region", phone: set("0803 123 4567"), region: "NG", want: "+2348031234567"},
		{name: "NG national with region name", phone: set("08031234567"), region: "nigeria", want: "+2348031234567"},
		{name: "NG national without country", phone: set("0803 123 4567"), reason: needsCountry},
		{name: "NG international", phone: set("+234 803 123 4567"), want: "+2348031234567"},
		{name: "NG international compact", phone: set("+2348012345678"), want: "+2348012345678"},
		{name: "00 without a country", phone: set("00234 803 123 4567"),
			reason: `international prefix needs a country to be read in (set billing_address.country or --phone-region, or write the number with "+"): "00234 803 123 4567"`},
		{name: "NG dials 009: 00234 is no Nigerian number", phone: set("00234 803 123 4567"), country: "NG",
			reason: `not a valid NG phone number, and "00" is not NG's international prefix (009): "00234 803 123 4567" with "00" as "+" would be +2348031234567 (NG); write it so if that is meant`},
		{name: "NG 009 prefix, a Bahamas number (00 = + would read an Indian one)", phone: set("009 1 242-345-6789"), country: "NG",
			want: "+12423456789",
			warn: `phone_number: ambiguous international prefix; sent as the region's own prefix reads it, not with "00" as "+": "009 1 242-345-6789" is +12423456789 (BS) with NG's prefix 009, +912423456789 (IN) with "00" as "+"` + "\n" +
				`phone_number: a number of another country (+1, BS) than billing_address.country NG: "+12423456789"`},
		{name: "NG international with trunk zero", phone: set("+234 (0)803 123 4567"), want: "+2348031234567",
			warn: `phone_number: digits rewritten to the number the phone library reads (a trunk or carrier prefix after the calling code): "+234 (0)803 123 4567" sent as +2348031234567`},
		{name: "NG country code without plus in NG", phone: set("234 803 123 4567"), country: "NG", want: "+2348031234567"},
		// United States.
		{name: "US parentheses", phone: set("(415) 555-2671"), country: "US", want: "+14155552671"},
		{name: "US dots", phone: set("415.555.2671"), country: "US", want: "+14155552671"},
		{name: "US leading 1", phone: set("1-415-555-2671"), country: "US", want: "+14155552671"},
		{name: "US with phone region", phone: set("415 555 2671"), region: "US", want: "+14155552671"},
		{name: "US international", phone: set("+1 (415) 555-2671"), want: "+14155552671"},
		{name: "US region, number from NANP IDD", phone: set("011 44 20 7946 0958"), region: "US", want: "+442079460958"},
		{name: "US country, Canadian number (same calling code)", phone: set("(416) 555-0123"), country: "US", want: "+14165550123"},
		{name: "US extension", phone: set("(415) 555-2671 ext. 12"), country: "US", want: "+14155552671",
			warn: `phone_number: extension dropped (E.164 cannot carry one): "12" of "(415) 555-2671 ext. 12"`},
		{name: "US x extension", phone: set("+1 415-555-2671 x12"), want: "+14155552671",
			warn: `phone_number: extension dropped (E.164 cannot carry one): "12" of "+1 415-555-2671 x12"`},
		{name: "US # extension", phone: set("+1 415-555-2671 #12"), want: "+14155552671",
			warn: `phone_number: extension dropped (E.164 cannot carry one): "12" of "+1 415-555-2671 #12"`},
		{name: "tel URI", phone: set("tel:+1-415-555-2671"), want: "+14155552671"},
		{name: "tel URI with an extension", phone: set("tel:+1-415-555-2671;ext=7"), want: "+14155552671",
			warn: `phone_number: extension dropped (E.164 cannot carry one): "7" of "tel:+1-415-555-2671;ext=7"`},
		{name: "US vanity letters", phone: set("1-800-FLOWERS"), country: "US", reason: `contains letters: "1-800-FLOWERS"`},
		{name: "US too short", phone: set("123"), country: "US", reason: `too short for a US number: "123"`},
		{name: "US too long", phone: set("+1 415 555 26711234"), reason: `too long for a +1 number: "+1 415 555 26711234"`},
		{name: "US seven digits", phone: set("555-2671"), country: "US",
			reason: `not a valid US phone number (read as national in US, from billing_address.country): "555-2671"`},
		// United Kingdom.
		{name: "GB London", phone: set("020 7946 0958"), country: "GB", want: "+442079460958"},
		{name: "GB London, country United Kingdom", phone: set("020 7946 0958"), country: "United Kingdom", want: "+442079460958"},
		{name: "GB London, country UK", phone: set("020 7946 0958"), country: "UK", want: "+442079460958"},
		{name: "GB international with (0)", phone: set("+44 (0)20 7946 0958"), want: "+442079460958",
			warn: `phone_number: digits rewritten to the number the phone library reads (a trunk or carrier prefix after the calling code): "+44 (0)20 7946 0958" sent as +442079460958`},
		{name: "GB international with 00, in GB", phone: set("0044 20 7946 0958"), country: "GB", want: "+442079460958"},
		{name: "GB number with 00 in DE (00 is DE's prefix too)", phone: set("0044 20 7946 0958"), region: "DE", want: "+442079460958"},
		// Australia dials 0011.
		{name: "AU 0011 prefix, a Belgian number", phone: set("0011 32 78 10 23 45"), region: "AU", want: "+3278102345",
			warn: `phone_number: ambiguous international prefix; sent as the region's own prefix reads it, not with "00" as "+": "0011 32 78 10 23 45" is +3278102345 (BE) with AU's prefix 0011, +13278102345 (US) with "00" as "+"`},
		{name: "AU mobile", phone: set("0412 345 678"), country: "AU", want: "+61412345678"},
		// E.164 form: the library decides.
		{name: "E.164 of no number (AE)", phone: set("+9712234567"), want: "+9712234567",
			warn: `phone_number: not a valid number for any region: "+9712234567" sent as +9712234567`},
		{name: "E.164 of no number (AU)", phone: set("+6121234567"), want: "+6121234567",
			warn: `phone_number: not a valid number for any region: "+6121234567" sent as +6121234567`},
		{name: "E.164 of a drama number", phone: set("+447700900123"), want: "+447700900123",
			warn: `phone_number: not a valid number for any region: "+447700900123" sent as +447700900123`},
		{name: "BY trunk prefix after the calling code", phone: set("+375 8 029 491 19 11"), want: "+375294911911",
			warn: `phone_number: digits rewritten to the number the phone library reads (a trunk or carrier prefix after the calling code): "+375 8 029 491 19 11" sent as +375294911911`},
		{name: "BR carrier code after the calling code", phone: set("+55 0 15 11 96123 4567"), want: "+5511961234567",
			warn: `phone_number: digits rewritten to the number the phone library reads (a trunk or carrier prefix after the calling code): "+55 0 15 11 96123 4567" sent as +5511961234567`},
		{name: "BR in E.164 form", phone: set("+55 (11) 96123-4567"), want: "+5511961234567"},
		{name: "valid but over 15 digits", phone: set("01800 1234567890"), country: "DE",
			reason: `longer than the 15 digits E.164 allows: "01800 1234567890" reads as +4918001234567890`},
		{name: "valid but over 15 digits in E.164 form", phone: set("+4918001234567890"),
			reason: `longer than the 15 digits E.164 allows: "+4918001234567890" reads as +4918001234567890`},
		{name: "GB mobile", phone: set("07911 123456"), country: "gb", want: "+447911123456"},
		{name: "GB Isle of Man number for GB country", phone: set("+44 7624 123456"), country: "GB", want: "+447624123456"},
		{name: "GB fictional drama range", phone: set("07700 900123"), country: "GB",
			reason: `not a valid GB phone number (read as national in GB, from billing_address.country): "07700 900123"`},
		{name: "GB national without country", phone: set("020 7946 0958"),
			reason: `national number needs a country (set billing_address.country or --phone-region): "020 7946 0958"`},
		// Wrong country.
		{name: "NG number read in GB", phone: set("0803 123 4567"), country: "GB",
			reason: `not a valid GB phone number (read as national in GB, from billing_address.country): "0803 123 4567"`},
		{name: "GB mobile read in NG region", phone: set("07911 123456"), region: "NG",
			reason: `not a valid NG phone number (read as national in NG, from --phone-region): "07911 123456"`},
		// A limit of any phone region: a national number that happens to be
		// valid in the wrong region is accepted there. London's 020 7946
		// 0958 is also a well-formed Nigerian landline number.
		{name: "GB London number read in NG region is an NG number", phone: set("020 7946 0958"), region: "NG", want: "+2342079460958"},
		{name: "row country wins over region", phone: set("020 7946 0958"), country: "GB", region: "NG", want: "+442079460958"},
		{name: "GB international, NG billing country (kept)", phone: set("+44 20 7946 0958"), country: "NG", want: "+442079460958",
			warn: `phone_number: a number of another country (+44, GB) than billing_address.country NG: "+442079460958"`},
		{name: "GB international, NG phone region only", phone: set("+44 20 7946 0958"), region: "NG", want: "+442079460958"},
		{name: "national in a country without numbering plan", phone: set("0803 123 4567"), country: "AQ",
			reason: `national number cannot be read in AQ (billing_address.country), which has no phone numbering plan; give it in international form (+…): "0803 123 4567"`},
		{name: "international in a country without numbering plan", phone: set("+234 803 123 4567"), country: "Antarctica", want: "+2348031234567"},
		// Garbage.
		{name: "words", phone: set("call me"), region: "US", reason: `not a phone number: "call me"`},
		{name: "plus only", phone: set("+"), reason: `not a phone number: "+"`},
		{name: "unknown calling code", phone: set("+999 123456"), reason: `unknown country calling code: "+999 123456"`},
		{name: "00 then zero", phone: set("000 123 4567"), region: "GB",
			reason: `not a valid GB phone number (read as national in GB, from --phone-region): "000 123 4567"`},
		{name: "far too long", phone: set("12345678901234567890"), region: "US", reason: `too long to be a phone number: "12345678901234567890"`},
		{name: "tel uri", phone: set("tel:+1-415-555-2671"), region: "US", want: "+14155552671"},
		{name: "letters after a tel: scheme", phone: set("tel:+1-800-FLOWERS"), reason: `contains letters: "tel:+1-800-FLOWERS"`},
		{name: "clear", phone: clr(), want: ""},
		{name: "clear needs no country", phone: clr(), want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newNormalizer(t, Options{PhoneRegion: tc.region})
			v := withID(vals{input.Phone: tc.phone})
			if tc.country != "" {
				v = address(vals{input.Phone: tc.phone, input.Country: set(tc.country)})
			}
			u, err := n.Update(record(v))
			if tc.reason != "" {
				if want := rowErr("phone_number", tc.reason); !cmp.Equal(err, want) {
					t.Fatalf("Update(phone=%q, country=%q, region=%q) error = %v; want %v", tc.phone.Text, tc.country, tc.region, err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Update(phone=%q, country=%q, region=%q) error = %v; want %q", tc.phone.Text, tc.country, tc.region, err, tc.want)
			}
			if u.Body.Phone == nil || *u.Body.Phone != tc.want {
				t.Errorf("Update(phone=%q, country=%q, region=%q) phone = %v; want %q", tc.phone.Text, tc.country, tc.region, u.Body.Phone, tc.want)
			}
			checkWarnings(t, n, record(v), u, tc.warn)
		})
	}
}

func TestUpdateCountry(t *testing.T) {
	n := newNormalizer(t, Options{})
	// A country juicebatch does not know is sent as written, with a warning.
	const isoHint = " (give an ISO 3166-1 code such as NG or GB, or an English name); sent as written: "
	const country = "billing_address.country: "
	tests := []struct {
		in   string
		want string
		warn string
	}{
		{in: "NG", want: "NG"},
		{in: "ng", want: "NG"},
		{in: "Ng", want: "NG"},
		{in: " ng ", want: "NG"},
		{in: "NGA", want: "NG"},
		{in: "nga", want: "NG"},
		{in: "gbr", want: "GB"},
		{in: "USA", want: "US"},
		{in: "UKR", want: "UA"},
		{in: "Nigeria", want: "NG"},
		{in: "NIGERIA", want: "NG"},
		{in: "nigeria", want: "NG"},
		{in: "United Kingdom", want: "GB"},
		{in: "united  kingdom", want: "GB"},
		{in: "UK", want: "GB"},
		{in: "u.k.", want: "GB"},
		{in: "Great Britain", want: "GB"},
		{in: "England", want: "GB"},
		{in: "Scotland", want: "GB"},
		{in: "United States", want: "US"},
		{in: "united states", want: "US"},
		{in: "United States of America", want: "US"},
		{in: "U.S.A.", want: "US"},
		{in: "US", want: "US"},
		{in: "Côte d’Ivoire", want: "CI"},
		{in: "Cote d'Ivoire", want: "CI"},
		{in: "Ivory Coast", want: "CI"},
		{in: "Bosnia & Herzegovina", want: "BA"},
		{in: "Bosnia and Herzegovina", want: "BA"},
		{in: "The Gambia", want: "GM"},
		{in: "Gambia", want: "GM"},
		{in: "St. Lucia", want: "LC"},
		{in: "Saint Lucia", want: "LC"},
		{in: "Myanmar", want: "MM"},
		{in: "Burma", want: "MM"},
		{in: "Hong Kong", want: "HK"},
		{in: "Czechia", want: "CZ"},
		{in: "Czech Republic", want: "CZ"},
		{in: "Turkey", want: "TR"},
		{in: "Türkiye", want: "TR"},
		{in: "Curaçao", want: "CW"},
		{in: "Curacao", want: "CW"},
		{in: "São Tomé & Príncipe", want: "ST"},
		{in: "South Korea", want: "KR"},
		{in: "Democratic Republic of the Congo", want: "CD"},
		{in: "Ghana", want: "GH"},
		{in: "Nigerai", want: "Nigerai", warn: country + `unknown country (did you mean Nigeria, NG); sent as written: "Nigerai"`},
		{in: "Untied States", want: "Untied States", warn: country + `unknown country (did you mean United States, US); sent as written: "Untied States"`},
		{in: "Germny", want: "Germny", warn: country + `unknown country (did you mean Germany, DE); sent as written: "Germny"`},
		{in: "Congo", want: "Congo", warn: country + `ambiguous country (Congo - Brazzaville (CG) or Congo - Kinshasa (CD)); sent as written: "Congo"`},
		{in: "korea", want: "korea", warn: country + `ambiguous country (South Korea (KR) or North Korea (KP)); sent as written: "korea"`},
		{in: "XY", want: "XY", warn: country + `unknown country` + isoHint + `"XY"`},
		{in: "EU", want: "EU", warn: country + `unknown country` + isoHint + `"EU"`},
		{in: "XK", want: "XK"},
		{in: "Kosovo", want: "XK"},
		{in: "ac", want: "AC"},
		{in: "Ascension Island", want: "AC"},
		{in: "Tristan da Cunha", want: "TA"},
		{in: "DG", want: "DG", warn: country + `unknown country` + isoHint + `"DG"`},
		{in: "UN", want: "UN", warn: country + `unknown country` + isoHint + `"UN"`},
		{in: "566", want: "566", warn: country + `unknown country` + isoHint + `"566"`},
		{in: "Atlantis", want: "Atlantis", warn: country + `unknown country` + isoHint + `"Atlantis"`},
		{in: "N/A", want: "N/A", warn: country + `unknown country` + isoHint + `"N/A"`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			rec := record(address(vals{input.Country: set(tc.in)}))
			u, err := n.Update(rec)
			if err != nil {
				t.Fatalf("Update(country=%q) error = %v; want %q", tc.in, err, tc.want)
			}
			if got := u.Body.Address.Country; got != tc.want {
				t.Errorf("Update(country=%q) country = %q; want %q", tc.in, got, tc.want)
			}
			checkWarnings(t, n, rec, u, tc.warn)
		})
	}
}

func TestCountryTable(t *testing.T) {
	c := newCountries()
	if got := len(c.names); got != 252 {
		t.Errorf("newCountries() has %d countries; want the 249 assigned ISO 3166-1 codes, XK, AC and TA", got)
	}
	for code := range c.names {
		iso3 := language.MustParseRegion(code).ISO3()
		for _, in := range []string{code, strings.ToLower(code), iso3, strings.ToLower(iso3)} {
			if got, ok := c.lookup(in); !ok || got != code {
				t.Errorf("lookup(%q) = %q, %v; want %q, true", in, got, ok, code)
			}
		}
	}
	for _, k := range c.suggest {
		if len(k) > maxSuggestInput {
			t.Errorf("name key %q is longer than maxSuggestInput (%d)", k, maxSuggestInput)
		}
	}
	// No alias may be lost to a clash with a CLDR name.
	for _, al := range countryAliases() {
		if got, ok := c.lookup(al.name); !ok || got != al.code {
			t.Errorf("lookup(alias %q) = %q, %v; want %q, true", al.name, got, ok, al.code)
		}
	}
	for _, in := range []string{"DG", "CP", "EU", "UN", "QO", "ZZ", "BU", "YU", "SU", "DD", "ZR"} {
		if got, ok := c.lookup(in); ok {
			t.Errorf("lookup(%q) = %q, true; want not found (not an assigned ISO 3166-1 code)", in, got)
		}
	}
	// Every region the phone library has a numbering plan for is a
	// country, so that its national numbers can be read in it.
	for region := range phonenumbers.GetSupportedRegions() {
		if got, ok := c.lookup(region); !ok || got != region {
			t.Errorf("lookup(%q) = %q, %v; want the phone library's region %q", region, got, ok, region)
		}
	}
}

func TestUpdateAddress(t *testing.T) {
	n := newNormalizer(t, Options{})
	const required = "line1, city and country are required when the address is updated; missing: "
	tests := []struct {
		name    string
		in      vals
		want    *Address // nil: not sent
		implied []string
		warn    string
		err     *input.RowError
	}{
		{
			name:    "three required fields, the rest implied clears",
			in:      address(nil),
			want:    &Address{Line1: "1 Marina Rd", City: "Lagos", Country: "NG"},
			implied: []string{"billing_address.line2", "billing_address.state", "billing_address.zip_code"},
		},
		{
			name: "all six set",
			in: address(vals{input.Line2: set("Flat 2"), input.State: set("Lagos State"),
				input.ZipCode: set(" 101241 "), input.Country: set("nigeria")}),
			want: &Address{Line1: "1 Marina Rd", Line2: "Flat 2", City: "Lagos", State: "Lagos State", ZipCode: "101241", Country: "NG"},
		},
		{
			name:    "explicit clear is not an implied clear",
			in:      address(vals{input.Line2: clr(), input.ZipCode: set("101241")}),
			want:    &Address{Line1: "1 Marina Rd", City: "Lagos", ZipCode: "101241", Country: "NG"},
			implied: []string{"billing_address.state"},
		},
		{
			name: "no address field: no address",
			in:   withID(vals{input.Email: set("ada@example.com")}),
		},
		{
			name: "only line2 set",
			in:   withID(vals{input.Line2: set("Flat 2")}),
			err:  rowErr("billing_address", required+"line1, city, country"),
		},
		{
			name: "city cleared",
			in:   address(vals{input.City: clr()}),
			err:  rowErr("billing_address", required+"city"),
		},
		{
			name: "line1 blank is absent",
			in:   address(vals{input.Line1: set("   ")}),
			err:  rowErr("billing_address", required+"line1"),
		},
		{
			name: "clearing only the country touches the address",
			in:   withID(vals{input.Country: clr()}),
			err:  rowErr("billing_address", required+"line1, city, country"),
		},
		{
			name: "clearing the whole address is still incomplete",
			in: withID(vals{input.Line1: clr(), input.Line2: clr(), input.City: clr(),
				input.State: clr(), input.ZipCode: clr(), input.Country: clr()}),
			err: rowErr("billing_address", required+"line1, city, country"),
		},
		{
			name: "an unknown country is a warning; the address is still incomplete",
			in:   withID(vals{input.Country: set("Narnia")}),
			err:  rowErr("billing_address", required+"line1, city"),
		},
		{
			name:    "line break in line1 is sent as it is",
			in:      address(vals{input.Line1: set("1 Marina Rd\nFlat 2")}),
			want:    &Address{Line1: "1 Marina Rd\nFlat 2", City: "Lagos", Country: "NG"},
			implied: []string{"billing_address.line2", "billing_address.state", "billing_address.zip_code"},
			warn:    `billing_address.line1: contains a line break (U+000A): "1 Marina Rd\nFlat 2"`,
		},
		{
			name:    "a two-line line2 is sent as it is",
			in:      address(vals{input.Line2: set("Flat 3\nBlock B")}),
			want:    &Address{Line1: "1 Marina Rd", Line2: "Flat 3\nBlock B", City: "Lagos", Country: "NG"},
			implied: []string{"billing_address.state", "billing_address.zip_code"},
			warn:    `billing_address.line2: contains a line break (U+000A): "Flat 3\nBlock B"`,
		},
		{
			name:    "an unknown country is sent as written",
			in:      address(vals{input.Country: set("Narnia")}),
			want:    &Address{Line1: "1 Marina Rd", City: "Lagos", Country: "Narnia"},
			implied: []string{"billing_address.line2", "billing_address.state", "billing_address.zip_code"},
			warn:    `billing_address.country: unknown country (give an ISO 3166-1 code such as NG or GB, or an English name); sent as written: "Narnia"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := n.Update(record(tc.in))
			if tc.err != nil {
				if !cmp.Equal(err, tc.err) {
					t.Fatalf("Update() error = %v; want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Update() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, u.Body.Address); diff != "" {
				t.Errorf("Update() address mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.implied, u.ImpliedClears); diff != "" {
				t.Errorf("Update() ImpliedClears mismatch (-want +got):\n%s", diff)
			}
			checkWarnings(t, n, record(tc.in), u, tc.warn)
		})
	}
}

// TestUpdateWhole checks complete Updates, bodies included.
func TestUpdateWhole(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		in       vals
		wantID   string
		wantBody string
		implied  []string
		warn     string
		err      *input.RowError
	}{
		{
			name: "everything",
			in: vals{
				input.ID: set(" cus_42 "), input.FirstName: set(" Ọlá "), input.LastName: set("O’Neil"),
				input.Email: set("Ola@Example.NG"), input.Phone: set("0803 123 4567"),
				input.Line1: set("1 Marina Rd"), input.Line2: set("Flat <2> & co"), input.City: set("Lagos"),
				input.State: set("LA"), input.ZipCode: set("101241"), input.Country: set("Nigeria"),
			},
			wantID: "cus_42",
			wantBody: `{"first_name":"Ọlá","last_name":"O’Neil","email":"Ola@example.ng","phone_number":"+2348031234567",` +
				`"billing_address":{"line1":"1 Marina Rd","line2":"Flat <2> & co","city":"Lagos","state":"LA","zip_code":"101241","country":"NG"}}`,
		},
		{
			name:     "clears only",
			in:       vals{input.ID: set("c1"), input.LastName: clr(), input.Email: clr(), input.Phone: clr()},
			wantID:   "c1",
			wantBody: `{"last_name":"","email":"","phone_number":""}`,
		},
		{
			name: "id only",
			in:   vals{input.ID: set("c1")},
			err:  rowErr("", "no fields to update"),
		},
		{
			name: "blank values are absent by default",
			in:   vals{input.ID: set("c1"), input.FirstName: set("  "), input.Email: set("\t")},
			err:  rowErr("", "no fields to update"),
		},
		{
			name:     "blank values clear with BlankClears",
			opts:     Options{BlankClears: true},
			in:       vals{input.ID: set("c1"), input.FirstName: set("  "), input.Email: set("\t")},
			wantID:   "c1",
			wantBody: `{"first_name":"","email":""}`,
		},
		{
			name:     "blank address field is an implied clear by default",
			in:       address(vals{input.Line2: set("  ")}),
			wantID:   "c1",
			wantBody: `{"billing_address":{"line1":"1 Marina Rd","line2":"","city":"Lagos","state":"","zip_code":"","country":"NG"}}`,
			implied:  []string{"billing_address.line2", "billing_address.state", "billing_address.zip_code"},
		},
		{
			name:     "blank address field is an explicit clear with BlankClears",
			opts:     Options{BlankClears: true},
			in:       address(vals{input.Line2: set("  ")}),
			wantID:   "c1",
			wantBody: `{"billing_address":{"line1":"1 Marina Rd","line2":"","city":"Lagos","state":"","zip_code":"","country":"NG"}}`,
			implied:  []string{"billing_address.state", "billing_address.zip_code"},
		},
		{
			name: "blank id is missing even with BlankClears",
			opts: Options{BlankClears: true},
			in:   vals{input.ID: set(" "), input.FirstName: set("Ada")},
			err:  rowErr("id", "missing"),
		},
		{
			name: "invalid UTF-8",
			in:   withID(vals{input.FirstName: set("Ad\xffa")}),
			err:  rowErr("first_name", `not valid UTF-8 (byte 0xff at offset 2): "Ad\xffa"`),
		},
		{
			name: "invalid UTF-8 in an ignored-looking field still fails",
			in:   address(vals{input.State: set("\xc3")}),
			err:  rowErr("billing_address.state", `not valid UTF-8 (byte 0xc3 at offset 0): "\xc3"`),
		},
		{
			name:     "tab inside",
			in:       withID(vals{input.FirstName: set("Ada\tLovelace")}),
			wantID:   "c1",
			wantBody: `{"first_name":"Ada\tLovelace"}`,
			warn:     `first_name: contains a tab (U+0009): "Ada\tLovelace"`,
		},
		{
			name:     "surrounding tabs and newlines are trimmed",
			in:       withID(vals{input.FirstName: set("\tAda\r\n")}),
			wantID:   "c1",
			wantBody: `{"first_name":"Ada"}`,
		},
		{
			name:     "DEL",
			in:       address(vals{input.City: set("La\x7fgos")}),
			wantID:   "c1",
			wantBody: `{"billing_address":{"line1":"1 Marina Rd","line2":"","city":"La` + "\x7f" + `gos","state":"","zip_code":"","country":"NG"}}`,
			implied:  []string{"billing_address.line2", "billing_address.state", "billing_address.zip_code"},
			warn:     `billing_address.city: contains control character U+007F: "La\x7fgos"`,
		},
		{
			name:     "C1 control",
			in:       address(vals{input.ZipCode: set("10\u00851")}),
			wantID:   "c1",
			wantBody: `{"billing_address":{"line1":"1 Marina Rd","line2":"","city":"Lagos","state":"","zip_code":"10` + "\u0085" + `1","country":"NG"}}`,
			implied:  []string{"billing_address.line2", "billing_address.state"},
			warn:     `billing_address.zip_code: contains control character U+0085: "10\u00851"`,
		},
		{
			name:     "NUL in a name is sent, escaped",
			in:       withID(vals{input.FirstName: set("An\x00n")}),
			wantID:   "c1",
			wantBody: `{"first_name":"An\u0000n"}`,
			warn:     `first_name: contains a NUL byte (U+0000): "An\x00n"`,
		},
		{
			name: "NUL in an email is not a valid address",
			in:   withID(vals{input.Email: set("a\x00@example.com")}),
			err:  rowErr("email", `not a valid email address: "a\x00@example.com"`),
		},
		{
			name: "NUL in an id breaks the id's rule",
			in:   vals{input.ID: set("c\x001"), input.FirstName: set("Ada")},
			err:  rowErr("id", `contains U+0000; only A-Z, a-z, 0-9, "_" and "-" are allowed: "c\x001"`),
		},
		{
			name:     "every warning of a row, in field order",
			in:       address(vals{input.LastName: set("Smith, Jr."), input.FirstName: set("Ada\tB"), input.Line2: set("Flat 3\nBlock B")}),
			wantID:   "c1",
			wantBody: `{"first_name":"Ada\tB","last_name":"Smith, Jr.","billing_address":{"line1":"1 Marina Rd","line2":"Flat 3\nBlock B","city":"Lagos","state":"","zip_code":"","country":"NG"}}`,
			implied:  []string{"billing_address.state", "billing_address.zip_code"},
			warn: `first_name: contains a tab (U+0009): "Ada\tB"` + "\n" +
				`billing_address.line2: contains a line break (U+000A): "Flat 3\nBlock B"` + "\n" +
				`last_name: contains punctuation, symbols or other characters (the creation endpoint allows only letters, spaces, hyphens and apostrophes in names): "," "." in "Smith, Jr."`,
		},
		{
			name: "bad id reported before other fields",
			in:   vals{input.ID: set("a/b"), input.Email: set("nope")},
			err:  rowErr("id", `contains "/"; only A-Z, a-z, 0-9, "_" and "-" are allowed: "a/b"`),
		},
		{
			name: "a warning never hides a refusal",
			in:   withID(vals{input.LastName: set("L4"), input.Email: set("nope"), input.Phone: set("x")}),
			err:  rowErr("email", `not an email address (no "@"): "nope"`),
		},
		{
			name: "unknown value state",
			in:   withID(vals{input.Email: {State: 9, Text: "a@b.co"}}),
			err:  rowErr("email", "unknown value state 9"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newNormalizer(t, tc.opts)
			u, err := n.Update(record(tc.in))
			if tc.err != nil {
				if !cmp.Equal(err, tc.err) {
					t.Fatalf("Update() error = %v; want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Update() error = %v", err)
			}
			if u.ID != tc.wantID {
				t.Errorf("Update() ID = %q; want %q", u.ID, tc.wantID)
			}
			if got := marshal(t, u.Body); got != tc.wantBody {
				t.Errorf("Update() body = %s; want %s", got, tc.wantBody)
			}
			if diff := cmp.Diff(tc.implied, u.ImpliedClears); diff != "" {
				t.Errorf("Update() ImpliedClears mismatch (-want +got):\n%s", diff)
			}
			checkWarnings(t, n, record(tc.in), u, tc.warn)
		})
	}
}

func TestUpdateRecordErr(t *testing.T) {
	n := newNormalizer(t, Options{})
	rec := record(withID(vals{input.FirstName: set("Ada")}))
	rec.Err = &input.RowError{File: "other.ndjson", Line: 3, Row: 3, Reason: "line is not a JSON object"}
	u, err := n.Update(rec)
	if err != rec.Err {
		t.Errorf("Update(record with Err) error = %v; want the record's own error %v", err, rec.Err)
	}
	if !cmp.Equal(u, Update{}) {
		t.Errorf("Update(record with Err) = %+v; want the zero Update", u)
	}
}

func TestUpdateErrorPosition(t *testing.T) {
	n := newNormalizer(t, Options{File: "-"})
	rec := &input.Record{Num: 5, Line: 9}
	rec.Values[input.ID] = set("c1")
	rec.Values[input.Email] = set("nope")
	_, err := n.Update(rec)
	want := &input.RowError{File: "-", Line: 9, Row: 5, Field: "email", Reason: `not an email address (no "@"): "nope"`}
	if !cmp.Equal(err, want) {
		t.Fatalf("Update() error = %v; want %v", err, want)
	}
	if got, wantS := err.Error(), `-:9: email: not an email address (no "@"): "nope"`; got != wantS {
		t.Errorf("Error() = %q; want %q", got, wantS)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		region  string
		want    string // resolved phone region
		wantErr bool
	}{
		{region: "", want: ""},
		{region: "NG", want: "NG"},
		{region: "ng", want: "NG"},
		{region: " gb ", want: "GB"},
		{region: "GBR", want: "GB"},
		{region: "Nigeria", want: "NG"},
		{region: "United Kingdom", want: "GB"},
		{region: "united states", want: "US"},
		{region: "XY", wantErr: true},
		{region: "Atlantis", wantErr: true},
		{region: "EU", wantErr: true},
		{region: "AQ", wantErr: true}, // a country, but no numbering plan
		{region: "Congo", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.region, func(t *testing.T) {
			n, err := New(Options{PhoneRegion: tc.region})
			if tc.wantErr {
				if !errors.Is(err, ErrUnknownRegion) {
					t.Fatalf("New(PhoneRegion: %q) error = %v; want ErrUnknownRegion", tc.region, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(PhoneRegion: %q) error = %v", tc.region, err)
			}
			if n.phoneRegion != tc.want {
				t.Errorf("New(PhoneRegion: %q) region = %q; want %q", tc.region, n.phoneRegion, tc.want)
			}
		})
	}
}

// TestUpdateConcurrent runs one Normalizer from many goroutines; run with
// -race.
func TestUpdateConcurrent(t *testing.T) {
	n := newNormalizer(t, Options{PhoneRegion: "GB"})
	rows := []struct {
		in   vals
		want string
	}{
		{withID(vals{input.Phone: set("020 7946 0958")}), `{"phone_number":"+442079460958"}`},
		{address(vals{input.Phone: set("0803 123 4567")}), `{"phone_number":"+2348031234567","billing_address":{"line1":"1 Marina Rd","line2":"","city":"Lagos","state":"","zip_code":"","country":"NG"}}`},
		{withID(vals{input.Email: set("A@B.CO")}), `{"email":"A@b.co"}`},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(rows))
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				r := rows[i%len(rows)]
				u, err := n.Update(record(r.in))
				if err != nil {
					errs <- err.Error()
					return
				}
				if got, _ := u.Body.MarshalJSON(); string(got) != r.want {
					errs <- string(got) + " != " + r.want
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
