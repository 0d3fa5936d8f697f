package input

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestOpenRawCSV(t *testing.T) {
	in := "\ufeffRecord ID,Name\r\n\r\n1,\"Smith, \"\"Al\"\"\nJr\"\r\n2,Jo\"hn\n3\n4,x,y\n5,'=1"
	rr, err := OpenRaw(strings.NewReader(in), CSV, "in")
	if err != nil {
		t.Fatalf("OpenRaw = %v", err)
	}
	if got, want := rr.Header(), []string{"Record ID", "Name"}; !slices.Equal(got, want) {
		t.Errorf("Header() = %q; want %q", got, want)
	}
	want := []RawRecord{
		{Num: 1, Line: 3, Fields: []string{"1", "Smith, \"Al\"\nJr"}, Text: []byte("1,\"Smith, \"\"Al\"\"\nJr\"")},
		{Num: 2, Line: 5, Fields: nil, Text: []byte("2,Jo\"hn")},
		{Num: 3, Line: 6, Fields: []string{"3"}, Text: []byte("3")},
		{Num: 4, Line: 7, Fields: []string{"4", "x", "y"}, Text: []byte("4,x,y")},
		{Num: 5, Line: 8, Fields: []string{"5", "'=1"}, Text: []byte("5,'=1")},
	}
	for i, w := range want {
		got, err := rr.Next()
		if err != nil {
			t.Fatalf("Next() #%d = %v", i, err)
		}
		if got.Num != w.Num || got.Line != w.Line || !slices.Equal(got.Fields, w.Fields) || (got.Fields == nil) != (w.Fields == nil) || !bytes.Equal(got.Text, w.Text) {
			t.Errorf("Next() #%d = %+v; want %+v", i, *got, w)
		}
	}
	if _, err := rr.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next() at the end = %v; want io.EOF", err)
	}
}

func TestOpenRawNDJSON(t *testing.T) {
	in := "{\"id\":\"1\"}\r\n\n[oops\n{\"id\":\"" + strings.Repeat("x", 100) + "\"}\n{\"id\":\"5\"}"
	rr, err := openRaw(strings.NewReader(in), NDJSON, Options{Name: "in", maxRecord: 32})
	if err != nil {
		t.Fatalf("OpenRaw = %v", err)
	}
	if rr.Header() != nil {
		t.Errorf("Header() = %q; want nil", rr.Header())
	}
	want := []RawRecord{
		{Num: 1, Line: 1, Text: []byte(`{"id":"1"}`)},
		{Num: 3, Line: 3, Text: []byte(`[oops`)},
		{Num: 4, Line: 4, Text: nil},
		{Num: 5, Line: 5, Text: []byte(`{"id":"5"}`)},
	}
	for i, w := range want {
		got, err := rr.Next()
		if err != nil {
			t.Fatalf("Next() #%d = %v", i, err)
		}
		if got.Num != w.Num || got.Line != w.Line || got.Fields != nil || !bytes.Equal(got.Text, w.Text) || (got.Text == nil) != (w.Text == nil) {
			t.Errorf("Next() #%d = %+v; want %+v", i, *got, w)
		}
	}
	if _, err := rr.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next() at the end = %v; want io.EOF", err)
	}
}

func TestScanIDs(t *testing.T) {
	type hit struct {
		num int
		id  string
	}
	tests := []struct {
		name    string
		format  Format
		in      string
		columns []string
		want    []hit
		rows    int
		err     error
	}{{
		name:    "CSV: ids as Open yields them, broken rows included where the id reads",
		in:      "Email,Record ID\na,1\nb,#N/A\nc,\nd,'=2\ne,1,extra\nf,\xff\ng\"x,9\nh,\" 3 \"\n",
		columns: []string{"record id=id"},
		want:    []hit{{1, "1"}, {4, "=2"}, {5, "1"}, {8, " 3 "}},
		rows:    8,
	}, {
		name: "CSV: stops at an unterminated quote",
		in:   "id\n1\n\"2\n3\n",
		want: []hit{{1, "1"}},
		rows: 1,
		err:  ErrUnterminatedQuote,
	}, {
		name: "CSV: no id column",
		in:   "Record ID\n1\n",
		err:  ErrNoIDColumn,
	}, {
		name:   "NDJSON",
		format: NDJSON,
		in:     lines(`{"id":"a"}`, ``, `{"id":7}`, `{"id":""}`, `{"id":"b","phone_number":1}`, `[1]`, `{"email":"x"}`),
		want:   []hit{{1, "a"}, {3, "7"}, {5, "b"}},
		rows:   6,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []hit
			rows, err := ScanIDs(strings.NewReader(tt.in), tt.format, Options{Name: "in", Mapping: mustMapping(t, tt.columns...)}, func(num int, id string) {
				got = append(got, hit{num, id})
			})
			checkErr(t, tt.name, err, tt.err)
			if !slices.Equal(got, tt.want) || rows != tt.rows {
				t.Errorf("ScanIDs = %v, %d rows; want %v, %d rows", got, rows, tt.want, tt.rows)
			}
		})
	}
}

// corpus returns every input the table tests and fuzz seeds use, and the
// files under the repository's testdata/bad, by format.
func corpus(t testing.TB) map[Format][]string {
	c := map[Format][]string{CSV: slices.Clone(csvSeeds), NDJSON: slices.Clone(ndjsonSeeds)}
	for _, tt := range csvRecordTests {
		c[CSV] = append(c[CSV], tt.in)
	}
	for _, tt := range ndjsonRecordTests {
		c[NDJSON] = append(c[NDJSON], tt.in)
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "bad", "*"))
	if len(files) < 25 {
		t.Fatalf("found %d files in testdata/bad; want the whole corpus", len(files))
	}
	for _, path := range files {
		f, err := DetectFormat(path, "")
		if err != nil {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		c[f] = append(c[f], string(data))
	}
	return c
}

// TestNumberingAgrees checks, on every input of the corpus, that Open,
// OpenRaw, Raw and ScanIDs number the records alike and stop alike.
func TestNumberingAgrees(t *testing.T) {
	for f, inputs := range corpus(t) {
		for _, in := range inputs {
			for _, max := range []int{0, 16} {
				checkAgreement(t, f, []byte(in), max)
			}
		}
	}
}

// checkAgreement reads in with Open, OpenRaw and ScanIDs side by side and
// checks the invariants every reader keeps on any input.
func checkAgreement(t *testing.T, f Format, in []byte, maxRecord int) {
	t.Helper()
	opts := Options{Name: "in", maxRecord: maxRecord}
	rd, openErr := Open(bytes.NewReader(in), f, opts)
	rr, rawErr := openRaw(bytes.NewReader(in), f, opts)
	if errors.Is(openErr, ErrNoIDColumn) && rawErr == nil {
		// Take the first column for the id, to compare more inputs.
		if opts.Mapping.set(rr.Header()[0], "id") == nil {
			rd, openErr = Open(bytes.NewReader(in), f, opts)
			rr, rawErr = openRaw(bytes.NewReader(in), f, opts)
		}
	}
	if openErr != nil {
		var fe *FileError
		if !errors.As(openErr, &fe) {
			t.Fatalf("Open(%q) = %v; want a *FileError", in, openErr)
		}
		if rawErr != nil && rawErr.Error() != openErr.Error() {
			t.Fatalf("Open(%q) = %v; OpenRaw = %v", in, openErr, rawErr)
		}
		return // a mapping problem: nothing to compare
	}
	if rawErr != nil {
		t.Fatalf("Open(%q) succeeded; OpenRaw = %v", in, rawErr)
	}
	dopts := opts
	dopts.Deferred = true
	dd, derr := Open(bytes.NewReader(in), f, dopts)
	if derr != nil {
		t.Fatalf("Open(%q) succeeded; with Deferred = %v", in, derr)
	}
	var ids []int
	scanned, scanErr := ScanIDs(bytes.NewReader(in), f, opts, func(num int, _ string) { ids = append(ids, num) })
	prev := &Record{}
	var n int
	var withID []int
	for n = 0; ; n++ {
		if n > len(in)+1 {
			t.Fatalf("%q: more records than bytes", in)
		}
		rec, err := rd.Next()
		raw, rerr := rr.Next()
		drec, derr := dd.Next()
		if fmt.Sprint(derr) != fmt.Sprint(err) {
			t.Fatalf("%q: after %d records: Next() = %v; with Deferred %v", in, n, err, derr)
		}
		if drec != nil {
			Decode([]*Record{drec})
			if !reflect.DeepEqual(drec, rec) {
				t.Fatalf("%q: record %d: deferred and decoded %s; Open gives %s", in, n, describe(drec), describe(rec))
			}
		}
		if err != nil || rerr != nil {
			if err == nil || rerr == nil || err.Error() != rerr.Error() {
				t.Fatalf("%q: after %d records: Next() = %v; raw Next() = %v", in, n, err, rerr)
			}
			if !errors.Is(err, io.EOF) {
				var fe *FileError
				if !errors.As(err, &fe) {
					t.Fatalf("%q: Next() = %#v; want a *FileError", in, err)
				}
				if scanErr == nil || scanErr.Error() != err.Error() {
					t.Fatalf("%q: Next() = %v; ScanIDs = %v", in, err, scanErr)
				}
			} else if scanErr != nil {
				t.Fatalf("%q: Next() = EOF; ScanIDs = %v", in, scanErr)
			}
			if again, _ := rd.Next(); again != nil {
				t.Fatalf("%q: Next() after %v = a record", in, err)
			}
			break
		}
		checkRecord(t, f, in, prev, rec)
		if raw.Num != rec.Num || raw.Line != rec.Line {
			t.Fatalf("%q: record %d: Open gives Num, Line = %d, %d; OpenRaw %d, %d", in, n, rec.Num, rec.Line, raw.Num, raw.Line)
		}
		mine := rd.(RawSource).Raw()
		if mine.Num != raw.Num || !bytes.Equal(mine.Text, raw.Text) || !slices.Equal(mine.Fields, raw.Fields) || (mine.Fields == nil) != (raw.Fields == nil) {
			t.Fatalf("%q: record %d: Raw() = %+v; OpenRaw gives %+v", in, n, mine, raw)
		}
		if rec.Values[ID].State == Set {
			withID = append(withID, rec.Num)
		}
		prev = rec
	}
	if scanned != n || !slices.Equal(ids, withID) {
		t.Fatalf("%q: ScanIDs = %d records, ids at %v; Open gives %d, ids at %v", in, scanned, ids, n, withID)
	}
}

// checkRecord checks what holds for every record: numbers that rise, a
// line of 1 or more, an error that points at the record, values that are
// valid text.
func checkRecord(t *testing.T, f Format, in []byte, prev, rec *Record) {
	t.Helper()
	switch {
	case f == CSV && rec.Num != prev.Num+1, rec.Num <= prev.Num:
		t.Fatalf("%q: Num %d after %d", in, rec.Num, prev.Num)
	case rec.Line < 1, rec.Line <= prev.Line:
		t.Fatalf("%q: record %d: Line %d after %d", in, rec.Num, rec.Line, prev.Line)
	case f == NDJSON && rec.Line != rec.Num:
		t.Fatalf("%q: record %d: Line %d", in, rec.Num, rec.Line)
	}
	if e := rec.Err; e != nil && (e.Line < 1 || e.Line != rec.Line || e.Row != rec.Num || e.File != "in" || e.Reason == "") {
		t.Fatalf("%q: record %d at line %d: Err = %#v", in, rec.Num, rec.Line, e)
	}
	for fld, v := range rec.Values {
		if v.State > Set || (v.State != Set && v.Text != "") || !utf8Valid(v.Text) {
			t.Fatalf("%q: record %d: %s = %#v", in, rec.Num, Field(fld), v)
		}
	}
}
