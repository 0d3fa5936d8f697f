package normalize

import (
	"encoding/json"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/juicebatch/juicebatch/batch/input"
)

// FuzzUpdate builds a record from fuzz strings; each pair of bits of states
// picks a field's state (0 absent, 1 clear, 2 and 3 set), and bit 31 picks
// a Normalizer with --phone-region NG and BlankClears. Update must never
// panic, every error must be well formed, and every success must marshal to
// a body the update endpoint accepts; whatever breaks a rule the endpoint
// does not state (control characters, the creation endpoint's name rule, a
// country code) must carry a warning for its field, and --strict-values
// must refuse exactly the rows with a warning, with the first one's text.
func FuzzUpdate(f *testing.F) {
	f.Add(uint32(0xFFFFFFFF), "c1", "Ada", "Lovelace", "Ada@Example.COM", "0803 123 4567",
		"1 Marina Rd", "", "Lagos", "LA", "101241", "Nigeria")
	f.Add(uint32(0x3F), "cus_9", "Jean-Luc", "O’Neil", "jl@example.fr", "+33 1 23 45 67 89", "", "", "", "", "", "")
	f.Add(uint32(0x80000000|0x3<<8), "a/b", " ", "\t", "<a@b.co>", "(415) 555-2671 ext. 9", "x\ny", "", "", "", "", "UK")
	f.Add(uint32(0xAAAAAAAA), strings.Repeat("z", 300), "J0hn", "", "x", "1-800-FLOWERS", "", "", "", "", "", "XY")
	f.Add(uint32(0x00F00F3F), "c2", "\xff", "Zoe\u0308", "a@b", "0044 20 7946 0958", "", "", "", "", "", "gbr")

	plain := newNormalizer(f, Options{})
	ng := newNormalizer(f, Options{PhoneRegion: "NG", BlankClears: true})
	strictPlain := newNormalizer(f, Options{StrictValues: true})
	strictNG := newNormalizer(f, Options{PhoneRegion: "NG", BlankClears: true, StrictValues: true})
	idPattern := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	phonePattern := regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	namePattern := regexp.MustCompile(`^[\p{L}\p{M} '’-]*$`)
	countryPattern := regexp.MustCompile(`^[A-Z]{2}$`)
	knownField := map[string]bool{"": true, "billing_address": true}
	for fl := range input.NumFields {
		knownField[fl.String()] = true
	}

	f.Fuzz(func(t *testing.T, states uint32, id, first, last, email, phone, line1, line2, city, state, zip, country string) {
		texts := [input.NumFields]string{id, first, last, email, phone, line1, line2, city, state, zip, country}
		rec := &input.Record{Num: testRow, Line: testLine}
		for fl := range input.NumFields {
			switch (states >> (2 * fl)) & 3 {
			case 0:
			case 1:
				rec.Values[fl] = input.Value{State: input.Clear}
			default:
				rec.Values[fl] = input.Value{State: input.Set, Text: texts[fl]}
			}
		}
		n, strict := plain, strictPlain
		if states&(1<<31) != 0 {
			n, strict = ng, strictNG
		}

		u, rerr := n.Update(rec)
		if rerr != nil {
			if rerr.File != testFile || rerr.Line != testLine || rerr.Row != testRow {
				t.Fatalf("Update() error position = %q:%d row %d; want %q:%d row %d", rerr.File, rerr.Line, rerr.Row, testFile, testLine, testRow)
			}
			if !knownField[rerr.Field] {
				t.Fatalf("Update() error field = %q; not a canonical name", rerr.Field)
			}
			r, _ := utf8.DecodeRuneInString(rerr.Reason)
			if rerr.Reason == "" || unicode.IsUpper(r) || strings.HasSuffix(rerr.Reason, ".") {
				t.Fatalf("Update() reason = %q; want lower-case, non-empty, no trailing period", rerr.Reason)
			}
			return
		}

		warned := map[string]bool{}
		for _, w := range u.Warnings {
			if !knownField[w.Field] || w.Field == "" || strings.Contains(w.Problem, ": ") {
				t.Fatalf("Update() warning %+v; want a canonical field and a problem without \": \"", w)
			}
			warned[w.Field] = true
		}
		su, serr := strict.Update(rec)
		switch {
		case len(u.Warnings) == 0 && serr != nil:
			t.Fatalf("Update() with StrictValues = %v; want the row sent, it has no warning", serr)
		case len(u.Warnings) == 0 && marshal(t, su.Body) != marshal(t, u.Body):
			t.Fatalf("Update() with StrictValues body = %s; want %s", marshal(t, su.Body), marshal(t, u.Body))
		case len(u.Warnings) > 0 && (serr == nil || serr.Field+": "+serr.Reason != u.Warnings[0].String()):
			t.Fatalf("Update() with StrictValues = %v; want the first warning %q", serr, u.Warnings[0])
		}

		if !idPattern.MatchString(u.ID) {
			t.Fatalf("Update() ID = %q; does not match %s", u.ID, idPattern)
		}
		if u.Body.IsEmpty() {
			t.Fatal("Update() succeeded with an empty body")
		}
		raw, err := u.Body.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON() = %v", err)
		}
		var got struct {
			FirstName *string            `json:"first_name"`
			LastName  *string            `json:"last_name"`
			Email     *string            `json:"email"`
			Phone     *string            `json:"phone_number"`
			Address   *map[string]string `json:"billing_address"`
		}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil || !json.Valid(raw) {
			t.Fatalf("MarshalJSON() = %s; not a valid body: %v", raw, err)
		}

		// Every string round-trips, is valid UTF-8 and trimmed, and keeps
		// its field's rule or carries a warning.
		check := func(name string, sent *string, want *string, rule func(string) bool) {
			t.Helper()
			if (sent == nil) != (want == nil) {
				t.Fatalf("%s: sent %v, Body has %v", name, sent, want)
			}
			if sent == nil {
				return
			}
			s := *sent
			if s != *want {
				t.Fatalf("%s: JSON round trip gives %q; Body has %q", name, s, *want)
			}
			if !utf8.ValidString(s) || strings.TrimSpace(s) != s {
				t.Fatalf("%s = %q; invalid UTF-8 or untrimmed", name, s)
			}
			if strings.IndexFunc(s, isControl) >= 0 && !warned[name] {
				t.Fatalf("%s = %q; a control character without a warning", name, s)
			}
			if s != "" && rule != nil && !rule(s) {
				t.Fatalf("%s = %q; breaks the field's rule", name, s)
			}
		}
		nameRule := func(s string) bool { return namePattern.MatchString(s) && utf8.RuneCountInString(s) <= maxNameRunes }
		warnedRule := func(name string, rule func(string) bool) func(string) bool {
			return func(s string) bool { return rule(s) || warned[name] }
		}
		check("first_name", got.FirstName, u.Body.FirstName, warnedRule("first_name", nameRule))
		check("last_name", got.LastName, u.Body.LastName, warnedRule("last_name", nameRule))
		check("email", got.Email, u.Body.Email, func(s string) bool {
			a, err := mail.ParseAddress(s)
			at := strings.LastIndexByte(s, '@')
			return err == nil && a.Name == "" && a.Address == s && at > 0 &&
				strings.ToLower(s[at+1:]) == s[at+1:] && strings.Contains(s[at+1:], ".")
		})
		check("phone_number", got.Phone, u.Body.Phone, phonePattern.MatchString)
		if (got.Address == nil) != (u.Body.Address == nil) {
			t.Fatalf("billing_address: sent %v, Body has %v", got.Address, u.Body.Address)
		}
		if got.Address != nil {
			a := *got.Address
			if len(a) != 6 {
				t.Fatalf("billing_address = %v; want all six keys", a)
			}
			ba := u.Body.Address
			for key, want := range map[string]string{"line1": ba.Line1, "line2": ba.Line2, "city": ba.City,
				"state": ba.State, "zip_code": ba.ZipCode, "country": ba.Country} {
				v, ok := a[key]
				check("billing_address."+key, &v, &want, nil)
				if !ok {
					t.Fatalf("billing_address has no %s", key)
				}
			}
			if a["line1"] == "" || a["city"] == "" || a["country"] == "" ||
				!countryPattern.MatchString(a["country"]) && !warned["billing_address.country"] {
				t.Fatalf("billing_address = %v; line1, city and a country code are required", a)
			}
		}
		if d := u.Body.Digests(); len(d) == 0 {
			t.Fatal("Digests() is empty for a non-empty body")
		}
	})
}
