package normalize

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/juicebatch/juicebatch/batch/input"
)

// TestOnlyEndpointRulesRefuse lists every check the normalizer makes. Only
// the update endpoint's own rules make a row invalid; every other check
// (each of which refused the row before) is a warning: the row is sent
// with the value as given, and --strict-values refuses it with the same
// text.
func TestOnlyEndpointRulesRefuse(t *testing.T) {
	n := newNormalizer(t, Options{PhoneRegion: "NG"})
	refused := []struct {
		name string
		in   vals
		err  *input.RowError
	}{
		{"id missing", vals{input.FirstName: set("Ada")}, rowErr("id", "missing")},
		{"id not a safe path segment", vals{input.ID: set("a/b"), input.FirstName: set("Ada")},
			rowErr("id", `contains "/"; only A-Z, a-z, 0-9, "_" and "-" are allowed: "a/b"`)},
		{"id longer than 64", vals{input.ID: set(strings.Repeat("a", 65)), input.FirstName: set("Ada")},
			rowErr("id", `longer than 64 characters: 65 characters, "`+strings.Repeat("a", 60)+`…"`)},
		{"email not a valid address", withID(vals{input.Email: set("bob@")}),
			rowErr("email", `not a valid email address: "bob@"`)},
		{"phone that cannot be put in E.164 form", withID(vals{input.Phone: set("12")}),
			rowErr("phone_number", `too short for a NG number: "12"`)},
		{"address without city", withID(vals{input.Line1: set("1 A St"), input.Country: set("NG")}),
			rowErr("billing_address", "line1, city and country are required when the address is updated; missing: city")},
		{"nothing to update", withID(vals{}), rowErr("", "no fields to update")},
		{"invalid UTF-8", withID(vals{input.LastName: set("L\xe9")}),
			rowErr("last_name", `not valid UTF-8 (byte 0xe9 at offset 1): "L\xe9"`)},
	}
	for _, tc := range refused {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			if _, err := n.Update(record(tc.in)); !cmp.Equal(err, tc.err) {
				t.Fatalf("Update() error = %v; want %v", err, tc.err)
			}
		})
	}

	const nameRule = " (the creation endpoint allows only letters, spaces, hyphens and apostrophes in names): "
	warned := []struct {
		name string
		in   vals
		body string
		warn string
	}{
		{"name with a digit", withID(vals{input.FirstName: set("Seán Changed2")}),
			`{"first_name":"Seán Changed2"}`, `first_name: contains a digit` + nameRule + `"Seán Changed2"`},
		{"name with punctuation", withID(vals{input.LastName: set("Smith, Jr.")}),
			`{"last_name":"Smith, Jr."}`,
			`last_name: contains punctuation, symbols or other characters` + nameRule + `"," "." in "Smith, Jr."`},
		{"name with quotes", withID(vals{input.FirstName: set(`Robert "Bob"`)}),
			`{"first_name":"Robert \"Bob\""}`,
			`first_name: contains punctuation, symbols or other characters` + nameRule + `"\"" in "Robert \"Bob\""`},
		{"name over 100 characters", withID(vals{input.FirstName: set(strings.Repeat("a", 101))}),
			`{"first_name":"` + strings.Repeat("a", 101) + `"}`,
			`first_name: longer than 100 characters (the creation endpoint's limit for names): 101 characters, "` + strings.Repeat("a", 60) + `…"`},
		{"line break in line2", address(vals{input.Line2: set("Flat 3\nBlock B")}),
			`{"billing_address":{"line1":"1 Marina Rd","line2":"Flat 3\nBlock B","city":"Lagos","state":"","zip_code":"","country":"NG"}}`,
			`billing_address.line2: contains a line break (U+000A): "Flat 3\nBlock B"`},
		{"tab", withID(vals{input.LastName: set("Love\tlace")}),
			`{"last_name":"Love\tlace"}`, `last_name: contains a tab (U+0009): "Love\tlace"`},
		{"carriage return", withID(vals{input.LastName: set("Love\rlace")}),
			`{"last_name":"Love\rlace"}`, `last_name: contains a carriage return (U+000D): "Love\rlace"`},
		{"NUL byte", address(vals{input.State: set("La\x00gos")}),
			`{"billing_address":{"line1":"1 Marina Rd","line2":"","city":"Lagos","state":"La\u0000gos","zip_code":"","country":"NG"}}`,
			`billing_address.state: contains a NUL byte (U+0000): "La\x00gos"`},
		{"another control character", withID(vals{input.FirstName: set("A\x1bda")}),
			`{"first_name":"A\u001bda"}`, `first_name: contains control character U+001B: "A\x1bda"`},
		{"byte-order mark", withID(vals{input.FirstName: set("\ufeffAda")}),
			"{\"first_name\":\"\ufeffAda\"}", `first_name: contains a byte-order mark (U+FEFF; were two files joined?): "\ufeffAda"`},
		{"unknown country", address(vals{input.Country: set("Nigerai")}),
			`{"billing_address":{"line1":"1 Marina Rd","line2":"","city":"Lagos","state":"","zip_code":"","country":"Nigerai"}}`,
			`billing_address.country: unknown country (did you mean Nigeria, NG); sent as written: "Nigerai"`},
		{"ambiguous country", address(vals{input.Country: set("Congo")}),
			`{"billing_address":{"line1":"1 Marina Rd","line2":"","city":"Lagos","state":"","zip_code":"","country":"Congo"}}`,
			`billing_address.country: ambiguous country (Congo - Brazzaville (CG) or Congo - Kinshasa (CD)); sent as written: "Congo"`},
		{"email domain that is no host name", withID(vals{input.Email: set("ann@localhost")}),
			`{"email":"ann@localhost"}`, `email: domain has no dot (not a host name mail can reach): "ann@localhost"`},
		{"phone of another country than the address", address(vals{input.Country: set("GB"), input.Phone: set("+2348031234567")}),
			`{"phone_number":"+2348031234567","billing_address":{"line1":"1 Marina Rd","line2":"","city":"Lagos","state":"","zip_code":"","country":"GB"}}`,
			`phone_number: a number of another country (+234, NG) than billing_address.country GB: "+2348031234567"`},
	}
	for _, tc := range warned {
		t.Run("warned/"+tc.name, func(t *testing.T) {
			rec := record(tc.in)
			u, err := n.Update(rec)
			if err != nil {
				t.Fatalf("Update() error = %v; want the row sent with a warning", err)
			}
			if got := marshal(t, u.Body); got != tc.body {
				t.Errorf("Update() body = %s; want %s", got, tc.body)
			}
			checkWarnings(t, n, rec, u, tc.warn)
		})
	}
}

// TestUnknownCountryGivesNoPhoneRegion: a row whose country juicebatch does
// not know says the customer is somewhere; --phone-region must not read
// its national number in another country.
func TestUnknownCountryGivesNoPhoneRegion(t *testing.T) {
	n := newNormalizer(t, Options{PhoneRegion: "GB"})
	_, err := n.Update(record(address(vals{input.Country: set("Nigerai"), input.Phone: set("0803 123 4567")})))
	want := rowErr("phone_number", `national number needs a country, and billing_address.country is not one juicebatch knows: "0803 123 4567" with "Nigerai"`)
	if !cmp.Equal(err, want) {
		t.Fatalf("Update() error = %v; want %v", err, want)
	}
	u, err := n.Update(record(address(vals{input.Country: set("Nigerai"), input.Phone: set("+234 803 123 4567")})))
	if err != nil || u.Body.Phone == nil || *u.Body.Phone != "+2348031234567" {
		t.Fatalf("Update(+234 803 123 4567) = %+v, %v; want +2348031234567", u.Body, err)
	}
}

func TestParseWarnings(t *testing.T) {
	ws := []Warning{
		{Field: "first_name", Problem: "contains a digit (x)", Detail: `"A: 1"`},
		{Field: "billing_address.line2", Problem: "contains a line break (U+000A)", Detail: `"a\nb"`},
	}
	if got := ParseWarnings(JoinWarnings(ws)); !cmp.Equal(got, ws) {
		t.Fatalf("ParseWarnings(JoinWarnings(%v)) = %v", ws, got)
	}
	if got := ParseWarnings(""); got != nil {
		t.Fatalf(`ParseWarnings("") = %v; want nil`, got)
	}
}
