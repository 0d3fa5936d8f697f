package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Customer is one customer record in the API's shape, as GET and a
// successful PATCH answer it inside {"data": ...}. A cleared field is "";
// a customer without a billing address has BillingAddress nil (JSON null).
type Customer struct {
	ID             string   `json:"id"`
	FirstName      string   `json:"first_name"`
	LastName       string   `json:"last_name"`
	Email          string   `json:"email"`
	PhoneNumber    string   `json:"phone_number"`
	BillingAddress *Address `json:"billing_address"`
}

// Address is a customer's billing address. The API replaces it whole.
type Address struct {
	Line1   string `json:"line1"`
	Line2   string `json:"line2"`
	City    string `json:"city"`
	State   string `json:"state"`
	ZipCode string `json:"zip_code"`
	Country string `json:"country"`
}

// exampleCustomer is the one record the API document shows. It is built by
// a function, not held in a variable, so no caller can change it.
func exampleCustomer() Customer {
	return Customer{
		ID:          "6f7e1e7f-93d1-4fcc-b7a4-738f869615c8",
		FirstName:   "Test",
		LastName:    "Customer",
		Email:       "test@custom.er",
		PhoneNumber: "+2348012345678",
		BillingAddress: &Address{
			Line1:   "123 Test lane",
			Line2:   "3456 Mike Drive",
			City:    "Anon",
			State:   "Acme",
			ZipCode: "12345",
			Country: "US",
		},
	}
}

// clone returns a deep copy of c.
func (c Customer) clone() Customer {
	if c.BillingAddress != nil {
		a := *c.BillingAddress
		c.BillingAddress = &a
	}
	return c
}

// idPattern is the rule for a customer id: a safe path segment.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// phonePattern is E.164: a plus, a non-zero digit, at most 15 digits in all.
var phonePattern = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// countryPattern is an ISO 3166-1 alpha-2 shaped code.
var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

// ValidID reports whether id is a customer id the sandbox accepts: 1 to 64
// characters from A-Z, a-z, 0-9, '_' and '-'. Callers seeding [Options.Customers]
// from untrusted input can filter with it, since [New] rejects other ids.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// maxNameLen is the provider's limit on first and last names, in characters.
const maxNameLen = 100

// Reasons used in error details. They are sentences a person can act on.
const (
	reasonName    = "must be at most 100 characters of letters, spaces, hyphens and apostrophes"
	reasonEmail   = "must be a valid email address"
	reasonPhone   = "must be in E.164 format, e.g. +2348012345678"
	reasonCountry = "must be a two-letter upper-case country code (ISO 3166-1 alpha-2), e.g. US"
	reasonString  = "must be a string"
	reasonUnknown = "unknown field"
	reasonEmpty   = "must not be empty"
	reasonTaken   = "is already used by another customer"
	reasonID      = "must match ^[A-Za-z0-9_-]{1,64}$"
)

// checkName returns why s is not an acceptable first or last name, or "".
// Letters include combining marks, so decomposed accents pass; apostrophes
// are ' and ’.
func checkName(s string) string {
	if utf8.RuneCountInString(s) > maxNameLen {
		return reasonName
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r), unicode.Is(unicode.Mn, r):
		case r == ' ', r == '-', r == '\'', r == '’':
		default:
			return reasonName
		}
	}
	return ""
}

// checkEmail returns why s is not a valid bare email address, or "".
func checkEmail(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return reasonEmail
	}
	return ""
}

// checkPhone returns why s is not an E.164 phone number, or "".
func checkPhone(s string) string {
	if !phonePattern.MatchString(s) {
		return reasonPhone
	}
	return ""
}

// checkCountry returns why s is not a country code, or "".
func checkCountry(s string) string {
	if !countryPattern.MatchString(s) {
		return reasonCountry
	}
	return ""
}

// emailKey is the form under which emails are compared for uniqueness.
func emailKey(s string) string { return strings.ToLower(s) }

// fieldErrors collects reasons per field name ("email",
// "billing_address.city").
type fieldErrors map[string][]string

func (fe fieldErrors) add(field, reason string) {
	fe[field] = append(fe[field], reason)
}

// summary is a one-line description naming every field, sorted.
func (fe fieldErrors) summary() string {
	fields := make([]string, 0, len(fe))
	for f := range fe {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		parts = append(parts, f+" "+strings.Join(fe[f], "; "))
	}
	return strings.Join(parts, "; ")
}

// addressKeys returns billing_address's six keys, in the API's order.
func addressKeys() []string {
	return []string{"line1", "line2", "city", "state", "zip_code", "country"}
}

// LoadCustomers reads a JSON array of customers in the API's shape (the
// objects GET /customers/{id} answers inside "data") to seed the sandbox.
//
// Every element needs an "id" matching ^[A-Za-z0-9_-]{1,64}$, unique in the
// array. The other fields may be absent, null or "" (all meaning empty);
// when present they follow the rules of the creation endpoint that made
// them: names of letters, spaces, hyphens and apostrophes (at most 100;
// an update may set any name), a valid bare email unique among the
// customers (case-insensitively), an E.164 phone number. billing_address is
// an object or null; its keys are the API's six, a missing one is empty, and
// country, when set, is two upper-case letters. created_at and updated_at
// (strings or null) are accepted, so a dump of GET /customers pages loads,
// and ignored: the sandbox creates the customers in the array's order (see
// the package documentation, Reads). Unknown fields and values of
// the wrong type are errors. An error names the element and the field, as in
// "customers: [3].email: must be a valid email address".
func LoadCustomers(r io.Reader) ([]Customer, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("customers: read: %w", err)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("customers: not valid UTF-8")
	}
	var elems []json.RawMessage
	if err := decodeOne(data, &elems); err != nil {
		return nil, fmt.Errorf("customers: want a JSON array of customer objects: %w", err)
	}
	out := make([]Customer, 0, len(elems))
	for i, raw := range elems {
		c, err := decodeSeed(raw)
		if err != nil {
			return nil, fmt.Errorf("customers: [%d]%w", i, err)
		}
		out = append(out, c)
	}
	if err := checkSeeds(out); err != nil {
		return nil, fmt.Errorf("customers: %w", err)
	}
	return out, nil
}

// decodeOne decodes exactly one JSON value from data into v.
func decodeOne(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("unexpected data after the JSON value")
	}
	return nil
}

// seedError is a problem with one field of one seed element; its text
// continues "[i]" in LoadCustomers' message.
type seedError struct {
	field, reason string
}

func (e *seedError) Error() string {
	if e.field == "" {
		return ": " + e.reason
	}
	return "." + e.field + ": " + e.reason
}

// decodeSeed decodes one seed element strictly, naming the field at fault.
func decodeSeed(raw json.RawMessage) (Customer, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return Customer{}, &seedError{reason: "must be a JSON object"}
	}
	var c Customer
	str := func(name string, dst *string) error {
		v, ok := obj[name]
		if !ok || string(v) == "null" {
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return &seedError{field: name, reason: reasonString}
		}
		return nil
	}
	for name := range obj {
		switch name {
		case "id", "first_name", "last_name", "email", "phone_number", "billing_address":
		case "created_at", "updated_at":
			var ignored string
			if err := str(name, &ignored); err != nil {
				return Customer{}, err
			}
		default:
			return Customer{}, &seedError{field: name, reason: reasonUnknown}
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"id", &c.ID}, {"first_name", &c.FirstName}, {"last_name", &c.LastName},
		{"email", &c.Email}, {"phone_number", &c.PhoneNumber},
	} {
		if err := str(f.name, f.dst); err != nil {
			return Customer{}, err
		}
	}
	if v, ok := obj["billing_address"]; ok && string(v) != "null" {
		var addr map[string]json.RawMessage
		if err := json.Unmarshal(v, &addr); err != nil || addr == nil {
			return Customer{}, &seedError{field: "billing_address", reason: "must be an object or null"}
		}
		for k := range addr {
			if !slices.Contains(addressKeys(), k) {
				return Customer{}, &seedError{field: "billing_address." + k, reason: reasonUnknown}
			}
		}
		a := &Address{}
		for _, k := range addressKeys() {
			av, ok := addr[k]
			if !ok || string(av) == "null" {
				continue
			}
			if err := json.Unmarshal(av, a.field(k)); err != nil {
				return Customer{}, &seedError{field: "billing_address." + k, reason: reasonString}
			}
		}
		c.BillingAddress = a
	}
	if err := checkRecord(c); err != nil {
		return Customer{}, err
	}
	return c, nil
}

// field returns a pointer to the address field with the given JSON name.
func (a *Address) field(name string) *string {
	switch name {
	case "line1":
		return &a.Line1
	case "line2":
		return &a.Line2
	case "city":
		return &a.City
	case "state":
		return &a.State
	case "zip_code":
		return &a.ZipCode
	case "country":
		return &a.Country
	}
	panic("sandbox: unknown address field " + name)
}

// checkRecord validates one seed record's values; empty values pass.
func checkRecord(c Customer) *seedError {
	if !ValidID(c.ID) {
		return &seedError{field: "id", reason: reasonID}
	}
	for _, f := range []struct{ name, value, reason string }{
		{"first_name", c.FirstName, checkName(c.FirstName)},
		{"last_name", c.LastName, checkName(c.LastName)},
		{"email", c.Email, checkEmail(c.Email)},
		{"phone_number", c.PhoneNumber, checkPhone(c.PhoneNumber)},
	} {
		if f.value != "" && f.reason != "" {
			return &seedError{field: f.name, reason: f.reason}
		}
	}
	if a := c.BillingAddress; a != nil && a.Country != "" {
		if r := checkCountry(a.Country); r != "" {
			return &seedError{field: "billing_address.country", reason: r}
		}
	}
	return nil
}

// checkSeeds validates a whole seed: each record, unique ids, unique emails.
func checkSeeds(cs []Customer) error {
	ids := make(map[string]int, len(cs))
	emails := make(map[string]int, len(cs))
	for i, c := range cs {
		if err := checkRecord(c); err != nil {
			return fmt.Errorf("[%d]%w", i, err)
		}
		if j, dup := ids[c.ID]; dup {
			return fmt.Errorf("[%d].id: %q repeats element %d", i, c.ID, j)
		}
		ids[c.ID] = i
		if c.Email == "" {
			continue
		}
		if j, dup := emails[emailKey(c.Email)]; dup {
			return fmt.Errorf("[%d].email: already used by element %d", i, j)
		}
		emails[emailKey(c.Email)] = i
	}
	return nil
}
