package normalize

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
)

// Update is one row's intended change to one customer.
type Update struct {
	// ID is the customer id, trimmed and checked to be a safe path segment.
	ID string
	// Body is what the PATCH request carries.
	Body Body
	// ImpliedClears lists, in field order, the canonical names of address
	// keys ("billing_address.line2") sent as "" only because the row set
	// other address fields and the API replaces the address whole. Explicit
	// clears are not listed. Nil when there are none.
	ImpliedClears []string
	// Warnings are what the row's values suggest is wrong although the
	// update endpoint allows it, in the order found; nil when none.
	Warnings []Warning
}

// Body is the PATCH request body. A nil field is not sent; a pointer to ""
// is sent as "" and clears the field.
type Body struct {
	FirstName *string
	LastName  *string
	Email     *string
	Phone     *string // sent as "phone_number"
	Address   *Address
}

// Address is the billing_address object. The API replaces it whole, so it
// is always sent with all six keys; "" clears a key.
type Address struct {
	Line1   string `json:"line1"`
	Line2   string `json:"line2"`
	City    string `json:"city"`
	State   string `json:"state"`
	ZipCode string `json:"zip_code"`
	Country string `json:"country"`
}

// The body's keys, in canonical order. Digests uses the same names.
const (
	keyFirstName = "first_name"
	keyLastName  = "last_name"
	keyEmail     = "email"
	keyPhone     = "phone_number"
	keyAddress   = "billing_address"
)

// IsEmpty reports whether the body sends no field at all.
func (b Body) IsEmpty() bool {
	return b.FirstName == nil && b.LastName == nil && b.Email == nil && b.Phone == nil && b.Address == nil
}

// valueEncoder writes JSON values into buf with encoding/json's escaping,
// HTML escaping off, and without the newline json.Encoder appends.
type valueEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newValueEncoder() *valueEncoder {
	e := &valueEncoder{}
	e.buf.Grow(256)
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}

func (e *valueEncoder) value(v any) error {
	if err := e.enc.Encode(v); err != nil {
		return err
	}
	e.buf.Truncate(e.buf.Len() - 1) // the '\n' Encode adds
	return nil
}

// fields calls fn for each sent field in canonical order.
func (b Body) fields(fn func(key string, v any) error) error {
	for _, f := range [...]struct {
		key string
		v   *string
	}{
		{keyFirstName, b.FirstName},
		{keyLastName, b.LastName},
		{keyEmail, b.Email},
		{keyPhone, b.Phone},
	} {
		if f.v != nil {
			if err := fn(f.key, *f.v); err != nil {
				return err
			}
		}
	}
	if b.Address != nil {
		return fn(keyAddress, *b.Address)
	}
	return nil
}

// MarshalJSON returns the request body: the canonical form described in the
// package documentation. It is deterministic: equal bodies give equal bytes.
// An empty body is "{}".
func (b Body) MarshalJSON() ([]byte, error) {
	e := newValueEncoder()
	e.buf.WriteByte('{')
	err := b.fields(func(key string, v any) error {
		if e.buf.Len() > 1 {
			e.buf.WriteByte(',')
		}
		e.buf.WriteByte('"')
		e.buf.WriteString(key) // the keys need no escaping
		e.buf.WriteString(`":`)
		return e.value(v)
	})
	if err != nil {
		return nil, fmt.Errorf("normalize: marshal body: %w", err)
	}
	e.buf.WriteByte('}')
	return e.buf.Bytes(), nil
}

// FieldDigest is the digest of one sent field's value.
type FieldDigest struct {
	// Name is "first_name", "last_name", "email", "phone_number" or
	// "billing_address".
	Name string
	// Sum is SHA-256 of the field's JSON value exactly as MarshalJSON
	// writes it (a quoted string, or the whole address object).
	Sum [32]byte
}

// Digests returns one digest per sent field, in canonical order; nil for an
// empty body. The formula: Sum = SHA-256(JSON value bytes), where the value
// bytes are the field's value as it appears in MarshalJSON's output, e.g.
// sha256(`"+2348031234567"`) for phone_number and
// sha256(`{"line1":...,"country":"NG"}`) for billing_address. A field's
// digest depends only on its own value, so a stored digest stays valid when
// other fields change.
func (b Body) Digests() []FieldDigest {
	var out []FieldDigest
	e := newValueEncoder()
	// Encoding a string or an Address cannot fail.
	_ = b.fields(func(key string, v any) error {
		e.buf.Reset()
		if err := e.value(v); err != nil {
			return err
		}
		out = append(out, FieldDigest{Name: key, Sum: sha256.Sum256(e.buf.Bytes())})
		return nil
	})
	return out
}

// Merge combines two rows' bodies for the same customer, older first in file
// order: each field newer sends wins, each field only older sends is kept,
// and billing_address is taken whole from newer when newer sends it (never
// merged key by key, since the API replaces it whole). The result shares
// the string pointers of its arguments but has its own Address.
func Merge(older, newer Body) Body {
	out := older
	if newer.FirstName != nil {
		out.FirstName = newer.FirstName
	}
	if newer.LastName != nil {
		out.LastName = newer.LastName
	}
	if newer.Email != nil {
		out.Email = newer.Email
	}
	if newer.Phone != nil {
		out.Phone = newer.Phone
	}
	if newer.Address != nil {
		out.Address = newer.Address
	}
	if out.Address != nil {
		a := *out.Address
		out.Address = &a
	}
	return out
}
