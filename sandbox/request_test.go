package sandbox

import (
	"bytes"
	"testing"
)

// FuzzParseUpdate checks that any body either is rejected or yields a
// non-empty update whose canonical form is a fixed point: parsing it again
// gives the same canonical bytes (so fingerprints do not depend on
// formatting).
func FuzzParseUpdate(f *testing.F) {
	for _, s := range []string{
		`{"first_name":"Ada"}`,
		`{ "email" : "a@b.co", "first_name": null }`,
		`{"billing_address":{"line1":"1","line2":"","city":"c","state":"","zip_code":"","country":"NG"}}`,
		`{"billing_address":""}`,
		`{"phone_number":"+2348012345678","last_name":"O'Brien"}`,
		`{}`, `[]`, `null`, `{"x":1}`, "{\"first_name\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		u, canonical, aerr := parseUpdate(body)
		if aerr != nil {
			if aerr.status != 400 && aerr.status != 422 {
				t.Fatalf("parseUpdate(%q) status %d; want 400 or 422", body, aerr.status)
			}
			return
		}
		if u == (update{}) {
			t.Fatalf("parseUpdate(%q) accepted an empty update", body)
		}
		_, again, aerr := parseUpdate(canonical)
		if aerr != nil || !bytes.Equal(again, canonical) {
			t.Fatalf("parseUpdate(canonical %q) = %q, %v; want the same bytes", canonical, again, aerr)
		}
	})
}
