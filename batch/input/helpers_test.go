package input

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// row is an expected record: its number and line, the values that are not
// Absent, and for a broken row the error's field and (a part of) its reason.
type row struct {
	num, line int
	vals      map[Field]Value
	errField  string
	errReason string // substring of RowError.Reason; "" means no error
}

func set(s string) Value { return Value{State: Set, Text: s} }

var clear = Value{State: Clear}

// readAll reads every record of in, with the warnings and the error that
// ended the reading (nil for io.EOF). openErr is Open's error.
func readAll(t *testing.T, f Format, in string, opts Options) (recs []*Record, warnings []string, end, openErr error) {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "in"
	}
	rd, err := Open(strings.NewReader(in), f, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	for {
		rec, err := rd.Next()
		warnings = append(warnings, rd.Warnings()...)
		if errors.Is(err, io.EOF) {
			return recs, warnings, nil, nil
		}
		if err != nil {
			return recs, warnings, err, nil
		}
		if len(recs) > 1e6 {
			t.Fatalf("more than a million records from %d bytes", len(in))
		}
		recs = append(recs, rec)
	}
}

// checkRows compares records with the expected rows.
func checkRows(t *testing.T, name string, got []*Record, want []row) {
	t.Helper()
	if len(got) != len(want) {
		for _, r := range got {
			t.Logf("got %s", describe(r))
		}
		t.Fatalf("%s: %d records; want %d", name, len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Num != w.num || g.Line != w.line {
			t.Errorf("%s: record %d: Num, Line = %d, %d; want %d, %d", name, i, g.Num, g.Line, w.num, w.line)
		}
		for f := range NumFields {
			if wv := w.vals[f]; g.Values[f] != wv {
				t.Errorf("%s: record %d: %s = %+v; want %+v", name, i, f, g.Values[f], wv)
			}
		}
		switch {
		case w.errReason == "" && g.Err != nil:
			t.Errorf("%s: record %d: Err = %v; want nil", name, i, g.Err)
		case w.errReason != "" && g.Err == nil:
			t.Errorf("%s: record %d: Err = nil; want %s: %s", name, i, w.errField, w.errReason)
		case w.errReason != "":
			if g.Err.Field != w.errField || !strings.Contains(g.Err.Reason, w.errReason) {
				t.Errorf("%s: record %d: Err = %q, %q; want %q, containing %q", name, i, g.Err.Field, g.Err.Reason, w.errField, w.errReason)
			}
			if g.Err.Line != w.line || g.Err.Row != w.num || g.Err.File != "in" {
				t.Errorf("%s: record %d: Err at %s:%d row %d; want in:%d row %d", name, i, g.Err.File, g.Err.Line, g.Err.Row, w.line, w.num)
			}
		}
	}
}

func describe(r *Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "num=%d line=%d", r.Num, r.Line)
	for f, v := range r.Values {
		if v.State != Absent {
			fmt.Fprintf(&b, " %s=%d:%q", Field(f), v.State, v.Text)
		}
	}
	if r.Err != nil {
		fmt.Fprintf(&b, " err=%q,%q", r.Err.Field, r.Err.Reason)
	}
	return b.String()
}

// checkErr checks that err matches the sentinel want (nil: no error) and
// says all of msg.
func checkErr(t *testing.T, name string, err, want error, msg ...string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Errorf("%s: error %v; want none", name, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v; want %v", name, err, want)
		return
	}
	var fe *FileError
	if !errors.As(err, &fe) || fe.File != "in" {
		t.Errorf("%s: error %#v; want a *FileError for file in", name, err)
	}
	for _, m := range msg {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("%s: error %q; want it to contain %q", name, err, m)
		}
	}
}
