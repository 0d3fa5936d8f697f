package normalize

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/juicebatch/juicebatch/batch/input"
)

// TestByteOrderMarkInsideAValue: a BOM in the middle of a file (two exports
// joined, the second one's BOM at the start of a data line) lands inside a
// value. It is not white space, so trimming keeps it; sent as is, it would
// make an email or a city differ invisibly. The update endpoint does not
// forbid it, so the row is sent with a warning; in an id it breaks the
// id's own rule.
func TestByteOrderMarkInsideAValue(t *testing.T) {
	const why = "contains a byte-order mark (U+FEFF; were two files joined?): "
	tests := []struct {
		name string
		in   vals
		err  *input.RowError
		warn string
	}{
		{
			name: "at the start of an id (a joined file's second header or first row)",
			in:   vals{input.ID: set("\ufeffc2"), input.Email: set("a@example.com")},
			err:  rowErr("id", `contains U+FEFF; only A-Z, a-z, 0-9, "_" and "-" are allowed: "\ufeffc2"`),
		},
		{
			name: "at the start of an email",
			in:   withID(vals{input.Email: set("\ufeffada@example.com")}),
			warn: "email: " + why + `"\ufeffada@example.com"`,
		},
		{
			name: "at the end of a city, after spaces",
			in:   address(vals{input.City: set("Lagos \ufeff")}),
			warn: "billing_address.city: " + why + `"Lagos \ufeff"`,
		},
		{
			name: "inside a street line",
			in:   address(vals{input.Line1: set("1 Mar\ufeffina Rd")}),
			warn: "billing_address.line1: " + why + `"1 Mar\ufeffina Rd"`,
		},
		{
			name: "a cell holding only a BOM is not blank",
			in:   withID(vals{input.LastName: set("\ufeff")}),
			warn: "last_name: " + why + `"\ufeff"`,
		},
	}
	n := newNormalizer(t, Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := n.Update(record(tc.in))
			if tc.err != nil || err != nil {
				if !cmp.Equal(err, tc.err) {
					t.Fatalf("Update() = %+v, %v; want error %v", u, err, tc.err)
				}
				return
			}
			checkWarnings(t, n, record(tc.in), u, tc.warn)
		})
	}
	// Other invisible but legitimate characters are not affected: a
	// zero-width non-joiner belongs in Persian and Indic street names.
	u, err := n.Update(record(address(vals{input.Line1: set("Kuche\u200cye 5")})))
	if err != nil || u.Body.Address == nil || u.Body.Address.Line1 != "Kuche\u200cye 5" {
		t.Errorf("Update(line1 with U+200C) = %+v, %v; want it sent as written", u, err)
	}
}
