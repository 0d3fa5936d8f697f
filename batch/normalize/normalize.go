package normalize

import (
	"errors"
	"fmt"
	"strings"

	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/nyaruka/phonenumbers"
)

// ErrUnknownRegion is wrapped by New's error when Options.PhoneRegion is
// not a known country or has no phone numbering plan.
var ErrUnknownRegion = errors.New("unknown phone region")

// Limits from the API's rules (see the package documentation).
const (
	maxIDLen     = 64
	maxNameRunes = 100
	maxEmailLen  = 254
	maxLocalLen  = 64
	maxHostLen   = 253
	maxLabelLen  = 63
	maxQuoted    = 60 // runes of a value quoted in a reason
)

// Options configure a Normalizer.
type Options struct {
	// File is the input's name as the user gave it, for RowError.File.
	File string
	// PhoneRegion (--phone-region) is the region in which national-format
	// phone numbers are read when the row has no billing_address.country:
	// an ISO 3166-1 code or English country name, as for the country
	// column. "" means none: such numbers are then invalid.
	PhoneRegion string
	// BlankClears says what a Set value that is empty after trimming
	// white space means: false (the default, the CSV rule) leaves the
	// field unchanged, like an empty cell; true clears it, like "" in
	// NDJSON or an empty cell under --empty-clears.
	BlankClears bool
	// StrictValues (--strict-values) makes every warning a refusal: the
	// row's first warning becomes its RowError, with the same text, for
	// users whose provider account enforces the creation endpoint's rules
	// on updates too.
	StrictValues bool
}

// Normalizer validates and normalizes records. Make one with New; it is
// read-only afterwards and safe for concurrent use.
type Normalizer struct {
	file         string
	blankClears  bool
	strict       bool
	phoneRegion  string // resolved alpha-2, or ""
	countries    *countries
	phoneRegions map[string]bool // regions with a numbering plan
}

// New builds a Normalizer, including its country-name table (around a
// millisecond; build it once). It fails, wrapping ErrUnknownRegion, when
// opts.PhoneRegion is set but is not a known country with a phone numbering
// plan.
func New(opts Options) (*Normalizer, error) {
	n := &Normalizer{
		file:         opts.File,
		blankClears:  opts.BlankClears,
		strict:       opts.StrictValues,
		countries:    newCountries(),
		phoneRegions: make(map[string]bool),
	}
	// Copy: the library returns its own map.
	for r, ok := range phonenumbers.GetSupportedRegions() {
		if ok {
			n.phoneRegions[r] = true
		}
	}
	if r := strings.TrimSpace(opts.PhoneRegion); r != "" {
		code, ok := n.countries.lookup(r)
		if !ok {
			return nil, fmt.Errorf("normalize: phone region %q: %w", opts.PhoneRegion, ErrUnknownRegion)
		}
		if !n.phoneRegions[code] {
			return nil, fmt.Errorf("normalize: phone region %q (%s) has no phone numbering plan: %w", opts.PhoneRegion, code, ErrUnknownRegion)
		}
		n.phoneRegion = code
	}
	return n, nil
}

// bodyStrings holds every string of one Body, so that a row costs one
// allocation for all of them instead of one per field.
type bodyStrings struct {
	first, last, email, phone string
	addr                      Address
}

// Update normalizes and validates one record. On success the Update holds
// the customer id and the exact body to send. On failure it returns a
// RowError (see the package documentation); a record that already carries
// Err returns that error unchanged.
func (n *Normalizer) Update(rec *input.Record) (Update, *input.RowError) {
	if rec.Err != nil {
		return Update{}, rec.Err
	}
	failNamed := func(field, reason string) (Update, *input.RowError) {
		return Update{}, &input.RowError{File: n.file, Line: rec.Line, Row: rec.Num, Field: field, Reason: reason}
	}
	fail := func(f input.Field, reason string) (Update, *input.RowError) {
		return failNamed(f.String(), reason)
	}

	var warns []Warning
	var vals [input.NumFields]input.Value
	for f := range input.NumFields {
		v, reason, warning := n.clean(rec.Values[f])
		if reason != "" {
			return fail(f, reason)
		}
		if warning != "" && f != input.ID { // the id's own rule refuses it
			warns = append(warns, Warning{Field: f.String(), Problem: warning, Detail: quote(v.Text)})
		}
		vals[f] = v
	}

	// The id.
	id := vals[input.ID]
	if id.State != input.Set {
		return fail(input.ID, "missing")
	}
	if reason := checkID(id.Text); reason != "" {
		return fail(input.ID, reason)
	}

	s := new(bodyStrings)
	var body Body

	// Names and email.
	for _, f := range [...]input.Field{input.FirstName, input.LastName} {
		v := vals[f]
		if v.State == input.Absent {
			continue
		}
		if v.State == input.Set {
			warns = append(warns, nameWarnings(f.String(), v.Text)...)
		}
		if f == input.FirstName {
			s.first = v.Text
			body.FirstName = &s.first
		} else {
			s.last = v.Text
			body.LastName = &s.last
		}
	}
	if v := vals[input.Email]; v.State != input.Absent {
		if v.State == input.Set {
			e, ew, reason := checkEmail(v.Text)
			if reason != "" {
				return fail(input.Email, reason)
			}
			warns = append(warns, ew...)
			s.email = e
		}
		body.Email = &s.email
	}

	// The country is resolved before the phone, which may be read in its
	// region.
	touched := false
	for f := input.Line1; f <= input.Country; f++ {
		if vals[f].State != input.Absent {
			touched = true
		}
	}
	// An unknown country is sent as written, with a warning: the update
	// endpoint states no rule for it. It cannot give a national phone
	// number its region, and neither can --phone-region then (the row
	// says the customer is elsewhere).
	rowCountry, sentCountry, badCountry := "", "", ""
	if v := vals[input.Country]; v.State == input.Set {
		code, ok := n.countries.lookup(v.Text)
		if ok {
			rowCountry, sentCountry = code, code
		} else {
			problem, detail := n.unknownCountry(v.Text)
			warns = append(warns, Warning{Field: input.Country.String(), Problem: problem, Detail: detail})
			sentCountry, badCountry = v.Text, v.Text
		}
	}

	// Phone.
	if v := vals[input.Phone]; v.State != input.Absent {
		if v.State == input.Set {
			p, pw, reason := n.phone(v.Text, rowCountry, badCountry)
			if reason != "" {
				return fail(input.Phone, reason)
			}
			warns = append(warns, pw...)
			if w, ok := otherCountry(p, rowCountry); ok {
				warns = append(warns, w)
			}
			s.phone = p
		}
		body.Phone = &s.phone
	}

	// The address, whole.
	var implied []string
	if touched {
		a := &s.addr
		a.Line1 = vals[input.Line1].Text
		a.Line2 = vals[input.Line2].Text
		a.City = vals[input.City].Text
		a.State = vals[input.State].Text
		a.ZipCode = vals[input.ZipCode].Text
		a.Country = sentCountry
		var missing []string
		for _, f := range [...]input.Field{input.Line1, input.City, input.Country} {
			if vals[f].State != input.Set {
				missing = append(missing, f.AddressKey())
			}
		}
		if len(missing) > 0 {
			return failNamed(keyAddress, "line1, city and country are required when the address is updated; missing: "+strings.Join(missing, ", "))
		}
		absent := 0
		for f := input.Line1; f <= input.Country; f++ {
			if vals[f].State == input.Absent {
				absent++
			}
		}
		if absent > 0 {
			implied = make([]string, 0, absent)
			for f := input.Line1; f <= input.Country; f++ {
				if vals[f].State == input.Absent {
					implied = append(implied, f.String())
				}
			}
		}
		body.Address = a
	}

	if body.IsEmpty() {
		return failNamed("", "no fields to update")
	}
	if n.strict && len(warns) > 0 {
		return failNamed(warns[0].Field, warns[0].reason())
	}
	return Update{ID: id.Text, Body: body, ImpliedClears: implied, Warnings: warns}, nil
}
