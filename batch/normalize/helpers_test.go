package normalize

import (
	"testing"

	"github.com/juicebatch/juicebatch/batch/input"
)

// Shorthands for building records by hand.

func set(s string) input.Value { return input.Value{State: input.Set, Text: s} }
func clr() input.Value         { return input.Value{State: input.Clear} }
func str(s string) *string     { return &s }

type vals map[input.Field]input.Value

const (
	testFile = "customers.csv"
	testRow  = 12
	testLine = 14
)

// record builds a record at row testRow, line testLine.
func record(v vals) *input.Record {
	r := &input.Record{Num: testRow, Line: testLine}
	for f, x := range v {
		r.Values[f] = x
	}
	return r
}

// withID adds id "c1" to v.
func withID(v vals) vals {
	v[input.ID] = set("c1")
	return v
}

// address is a valid whole address plus extra.
func address(extra vals) vals {
	v := vals{
		input.ID:      set("c1"),
		input.Line1:   set("1 Marina Rd"),
		input.City:    set("Lagos"),
		input.Country: set("NG"),
	}
	for f, x := range extra {
		v[f] = x
	}
	return v
}

func newNormalizer(t testing.TB, opts Options) *Normalizer {
	t.Helper()
	if opts.File == "" {
		opts.File = testFile
	}
	n, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v) = %v", opts, err)
	}
	return n
}

// rowErr is the RowError Update should return for the test record.
func rowErr(field, reason string) *input.RowError {
	return &input.RowError{File: testFile, Line: testLine, Row: testRow, Field: field, Reason: reason}
}

// marshal returns b's JSON or fails the test.
func marshal(t testing.TB, b Body) string {
	t.Helper()
	out, err := b.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON() = %v", err)
	}
	return string(out)
}
