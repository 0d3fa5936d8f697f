package input

import (
	"fmt"
	"strings"
)

// Field is one of the API's canonical fields. Its String form is the
// canonical name used in CSV headers, mappings and error messages.
type Field int

// The canonical fields, in the order they appear in request bodies.
const (
	ID Field = iota
	FirstName
	LastName
	Email
	Phone
	Line1
	Line2
	City
	State
	ZipCode
	Country
	NumFields // not a field: the number of fields
)

var fieldNames = [NumFields]string{
	ID:        "id",
	FirstName: "first_name",
	LastName:  "last_name",
	Email:     "email",
	Phone:     "phone_number",
	Line1:     "billing_address.line1",
	Line2:     "billing_address.line2",
	City:      "billing_address.city",
	State:     "billing_address.state",
	ZipCode:   "billing_address.zip_code",
	Country:   "billing_address.country",
}

// String returns the canonical name, e.g. "billing_address.zip_code".
func (f Field) String() string {
	if f < 0 || f >= NumFields {
		return fmt.Sprintf("Field(%d)", int(f))
	}
	return fieldNames[f]
}

// IsAddress reports whether f is one of the six billing_address keys.
func (f Field) IsAddress() bool { return f >= Line1 && f <= Country }

// AddressKey returns the key inside billing_address ("zip_code") for an
// address field, and "" for any other field.
func (f Field) AddressKey() string {
	if !f.IsAddress() {
		return ""
	}
	return strings.TrimPrefix(fieldNames[f], "billing_address.")
}

// FieldByName returns the field whose canonical name is name (exact match).
func FieldByName(name string) (Field, bool) {
	for f, n := range fieldNames {
		if n == name {
			return Field(f), true
		}
	}
	return 0, false
}

// ValueState says what a cell asks for, after the input format's empty-value
// rules have been applied (see the README's "Empty values").
type ValueState uint8

const (
	// Absent: leave the field out of the PATCH (no change).
	Absent ValueState = iota
	// Clear: send "" so the API clears the field.
	Clear
	// Set: send Text (after normalization).
	Set
)

// Value is one field of one input record, as read: not yet trimmed beyond
// what the format's empty rules need, not yet normalized or validated.
type Value struct {
	State ValueState
	Text  string
}

// Record is one data record of an input file, mapped to canonical fields.
type Record struct {
	// Num is the 1-based data row number: the header is not counted in a
	// CSV file; for NDJSON it is the line number. It is the report's "row".
	Num int
	// Line is the physical line on which the record starts (CSV records
	// may span lines; for NDJSON Line == Num).
	Line int
	// File is the name of the file the record is in when it was read
	// through OpenFiles (an input of one or more files); "" from Open.
	// Num then counts across the files, Line within this one.
	File string
	// Values holds each canonical field's value, indexed by Field.
	Values [NumFields]Value
	// Err is set when the record itself is broken (wrong field count,
	// invalid UTF-8, JSON syntax, a non-object line, a wrong type). Values
	// may then be partly filled; the row is invalid and must not be sent.
	Err *RowError

	// pending is a record's fields still to be decoded into Values
	// (Options.Deferred; see Decode), nil once decoded. A pointer, so that
	// a Record stays comparable.
	pending *pendingCells
}

// RowError is a problem with one input row. It names the file, the line, and
// the field when there is one, modelled on encoding/csv's ParseError.
type RowError struct {
	File   string // the input's name as given by the user ("-" for stdin)
	Line   int    // physical line where the record starts
	Row    int    // data row number (Record.Num)
	Field  string // canonical field name, or the input's column/key name, or ""
	Reason string // what is wrong, lower-case, no trailing punctuation
}

// Error formats as "FILE:LINE: FIELD: REASON" (FIELD omitted when empty).
func (e *RowError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}
