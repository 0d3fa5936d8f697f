package live

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/juicebatch/juicebatch/batch/normalize"
)

// Record is one customer as the read endpoints show it, with its values
// put through the tool's own normalization so that they compare with an
// update's body. Body has every field set: a null or missing value is ""
// (the API treats the two alike), and Body.Address is nil only when the
// record has no billing address at all.
type Record struct {
	ID        string
	Body      normalize.Body
	CreatedAt time.Time
	UpdatedAt time.Time
}

// wireRecord is a record on the wire. Pointers tell null from "".
type wireRecord struct {
	ID             *string      `json:"id"`
	FirstName      *string      `json:"first_name"`
	LastName       *string      `json:"last_name"`
	Email          *string      `json:"email"`
	PhoneNumber    *string      `json:"phone_number"`
	BillingAddress *wireAddress `json:"billing_address"`
	CreatedAt      *string      `json:"created_at"`
	UpdatedAt      *string      `json:"updated_at"`
}

type wireAddress struct {
	Line1   *string `json:"line1"`
	Line2   *string `json:"line2"`
	City    *string `json:"city"`
	State   *string `json:"state"`
	ZipCode *string `json:"zip_code"`
	Country *string `json:"country"`
}

// ParseRecord decodes one record (the object under "data", or one element
// of the list's "data").
func ParseRecord(raw json.RawMessage) (Record, error) {
	var w wireRecord
	if err := json.Unmarshal(raw, &w); err != nil {
		return Record{}, fmt.Errorf("decode customer record: %w", err)
	}
	if w.ID == nil || *w.ID == "" {
		return Record{}, fmt.Errorf("decode customer record: no id")
	}
	rec := Record{ID: *w.ID}
	str := func(p *string) *string {
		s := ""
		if p != nil {
			s = strings.TrimSpace(*p)
		}
		return &s
	}
	rec.Body.FirstName = str(w.FirstName)
	rec.Body.LastName = str(w.LastName)
	rec.Body.Email = str(w.Email)
	*rec.Body.Email = normalEmail(*rec.Body.Email)
	rec.Body.Phone = str(w.PhoneNumber)
	if a := w.BillingAddress; a != nil {
		rec.Body.Address = &normalize.Address{
			Line1: *str(a.Line1), Line2: *str(a.Line2), City: *str(a.City),
			State: *str(a.State), ZipCode: *str(a.ZipCode), Country: strings.ToUpper(*str(a.Country)),
		}
	}
	for _, t := range []struct {
		p   *string
		dst *time.Time
	}{{w.CreatedAt, &rec.CreatedAt}, {w.UpdatedAt, &rec.UpdatedAt}} {
		if t.p != nil {
			// A timestamp the client cannot read is not a reason to refuse
			// the record: nothing is decided on it.
			*t.dst, _ = time.Parse(time.RFC3339, *t.p)
		}
	}
	return rec, nil
}

// normalEmail lower-cases an address's domain, as the tool does to the
// emails it sends; the local part is left as it is (it may be
// case-sensitive).
func normalEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	return s[:at+1] + strings.ToLower(s[at+1:])
}

// Digests returns the digest of every field of the record, in the form
// normalize.Body.Digests gives them: what a state records as last applied
// when it learns the live values by reading.
func (r Record) Digests() map[string][32]byte {
	ds := r.Body.Digests()
	m := make(map[string][32]byte, len(ds))
	for _, d := range ds {
		m[d.Name] = d.Sum
	}
	return m
}

// FieldDiff is one field whose live value differs from the update's.
type FieldDiff struct {
	Field string // "email", "billing_address", ...
	Live  string // the live value as the report shows it (`""` when empty, null when absent)
	Want  string // the update's value, the same way
}

// String is the form the report and plan print: `email: old@x → new@x`.
func (d FieldDiff) String() string { return d.Field + ": " + d.Live + " → " + d.Want }

// Diff compares an update's body with a live record by the API's rules:
// only the fields the update sends count; billing_address is compared
// whole (the API replaces it whole); null and "" are the same value. It
// returns the differing fields in the body's canonical order, nil when the
// record already holds every value the update sends.
func Diff(update normalize.Body, rec Record) []FieldDiff {
	live := rec.Digests()
	var out []FieldDiff
	for _, d := range update.Digests() {
		if got, ok := live[d.Name]; ok && got == d.Sum {
			continue
		}
		out = append(out, FieldDiff{Field: d.Name, Live: show(rec.Body, d.Name), Want: show(update, d.Name)})
	}
	return out
}

// Join is diffs as one report cell: "email: a → b; phone_number: c → d".
func Join(diffs []FieldDiff) string {
	parts := make([]string, len(diffs))
	for i, d := range diffs {
		parts[i] = d.String()
	}
	return strings.Join(parts, "; ")
}

// show is one field of b for a person: the text itself, `""` for an empty
// value, null for a missing address, the address as compact JSON.
func show(b normalize.Body, field string) string {
	var p *string
	switch field {
	case "first_name":
		p = b.FirstName
	case "last_name":
		p = b.LastName
	case "email":
		p = b.Email
	case "phone_number":
		p = b.Phone
	case "billing_address":
		if b.Address == nil {
			return "null"
		}
		j, err := json.Marshal(b.Address)
		if err != nil {
			return "?"
		}
		return string(j)
	}
	if p == nil || *p == "" {
		return `""`
	}
	return *p
}
