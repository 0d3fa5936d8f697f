package input

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// place is where a record came from, as the report's row, file and line
// columns say.
type place struct {
	num  int
	file string
	line int
	id   string
}

func readFiles(t *testing.T, fs Files, f Format, opts Options) ([]place, []string, error) {
	t.Helper()
	rd, err := OpenFiles(fs, f, opts)
	if err != nil {
		return nil, nil, err
	}
	defer rd.Close()
	var got []place
	var warnings []string
	for {
		rec, err := rd.Next()
		warnings = append(warnings, rd.Warnings()...)
		if err == io.EOF {
			return got, warnings, nil
		}
		if err != nil {
			return got, warnings, err
		}
		got = append(got, place{rec.Num, rec.File, rec.Line, rec.Values[ID].Text})
		if raw := rd.Raw(); raw == nil || raw.Num != rec.Num || raw.Line != rec.Line {
			t.Fatalf("Raw() = %+v for record %+v", raw, rec)
		}
		if rec.Err != nil && (rec.Err.Row != rec.Num || rec.Err.File != rec.File) {
			t.Fatalf("record %d of %s: RowError names row %d of %s", rec.Num, rec.File, rec.Err.Row, rec.Err.File)
		}
	}
}

func skimFiles(t *testing.T, fs Files, f Format, opts Options) ([]place, [][]string, []string, error) {
	t.Helper()
	sk, err := OpenSkimFiles(fs, f, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	defer sk.Close()
	var got []place
	var fields [][]string
	for {
		s, err := sk.Next()
		if err == io.EOF {
			return got, fields, sk.Header(), nil
		}
		if err != nil {
			return got, fields, sk.Header(), err
		}
		got = append(got, place{s.Num, s.File, s.Line, s.ID})
		raw := sk.Raw()
		if raw == nil || raw.Num != s.Num || raw.Line != s.Line {
			t.Fatalf("skim %d: Raw() = %+v; want the record's number and line", s.Num, raw)
		}
		fields = append(fields, raw.Fields)
	}
}

func TestFilesNumberAcross(t *testing.T) {
	idEmail := func(s string) Mapping {
		var m Mapping
		if err := m.AddColumn(s); err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name     string
		format   Format
		files    []string
		gzipped  []bool
		mapping  Mapping
		want     []place
		wantSkim [][]string // Raw.Fields as the failed file gets them (CSV)
		header   []string
		warnings []string
	}{
		{
			name: "CSV shards, one gzipped, a record over two lines", format: CSV,
			files: []string{
				"id,email,notes\na,a@x.example,\nb,b@x.example,\"two\nlines\"\n",
				"id,email,notes\nc,c@x.example,\n",
				"id,email,notes\n", // a header-only shard: no rows
				"id,email,notes\r\n\r\nd,d@x.example,\r\na,a2@x.example,\r\n",
			},
			gzipped: []bool{true, false, true, true},
			want: []place{
				{1, "f0", 2, "a"}, {2, "f0", 3, "b"}, {3, "f1", 2, "c"}, {4, "f3", 3, "d"}, {5, "f3", 4, "a"},
			},
			header:   []string{"id", "email", "notes"},
			warnings: []string{"ignoring columns not mapped to any field: notes"},
		},
		{
			name: "CSV shards whose headers differ in order and case", format: CSV,
			mapping: idEmail("E-Mail=email"),
			files: []string{
				"id,E-Mail,Notes\na,a@x.example,n1\n",
				"notes ,e-mail,ID\nn2,b@x.example,b\n",
			},
			want:     []place{{1, "f0", 2, "a"}, {2, "f1", 2, "b"}},
			wantSkim: [][]string{{"a", "a@x.example", "n1"}, {"b", "b@x.example", "n2"}},
			header:   []string{"id", "E-Mail", "Notes"},
			warnings: []string{"ignoring columns not mapped to any field: Notes", "ignoring columns not mapped to any field: notes"},
		},
		{
			name: "NDJSON numbers by line, blank lines counted, trailing ones not", format: NDJSON,
			files: []string{
				"{\"id\":\"a\"}\n\n{\"id\":\"b\"}\n\n\n",
				"{\"id\":\"c\"}\nnot json\n",
			},
			gzipped: []bool{false, true},
			want:    []place{{1, "f0", 1, "a"}, {3, "f0", 3, "b"}, {4, "f1", 1, "c"}, {5, "f1", 2, ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := make([]string, len(tt.files))
			contents := make([][]byte, len(tt.files))
			for i, s := range tt.files {
				names[i] = "f" + string(rune('0'+i))
				contents[i] = []byte(s)
				if i < len(tt.gzipped) && tt.gzipped[i] {
					contents[i] = gz(t, s)
				}
			}
			fs := memFiles(names, contents)
			opts := Options{Mapping: tt.mapping}
			got, warnings, err := readFiles(t, fs, tt.format, opts)
			if err != nil {
				t.Fatalf("OpenFiles: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("OpenFiles read %v; want %v", got, tt.want)
			}
			if !slices.Equal(warnings, tt.warnings) {
				t.Errorf("warnings %q; want %q", warnings, tt.warnings)
			}
			var scanned []place
			n, err := ScanFiles(fs, tt.format, opts, func(num int, id string) { scanned = append(scanned, place{num: num, id: id}) })
			if err != nil || n != len(tt.want) {
				t.Errorf("ScanFiles = %d, %v; want %d, nil", n, err, len(tt.want))
			}
			var wantScan []place
			for _, p := range tt.want {
				if p.id != "" {
					wantScan = append(wantScan, place{num: p.num, id: p.id})
				}
			}
			if !slices.Equal(scanned, wantScan) {
				t.Errorf("ScanFiles saw %v; want %v", scanned, wantScan)
			}
			skimmed, fields, header, err := skimFiles(t, fs, tt.format, opts)
			if err != nil || !slices.Equal(skimmed, tt.want) {
				t.Errorf("OpenSkimFiles read %v, %v; want %v", skimmed, err, tt.want)
			}
			if tt.format == CSV && !slices.Equal(header, tt.header) {
				t.Errorf("Header() = %q; want %q", header, tt.header)
			}
			if tt.wantSkim != nil && !slices.EqualFunc(fields, tt.wantSkim, slices.Equal) {
				t.Errorf("skimmed fields %q; want %q (in the first file's column order)", fields, tt.wantSkim)
			}
		})
	}
}

func TestFilesHeaderMismatch(t *testing.T) {
	fs := memFiles([]string{"part-1.csv", "part-2.csv.gz"}, [][]byte{
		[]byte("id,email\na,a@x.example\n"),
		gz(t, "\nid,phone_number\nb,+2348031234567\n"),
	})
	_, err := ScanFiles(fs, CSV, Options{}, func(int, string) {})
	if !errors.Is(err, ErrHeaderMismatch) {
		t.Fatalf("ScanFiles = %v; want ErrHeaderMismatch", err)
	}
	want := "part-2.csv.gz:2: header maps to id, phone_number, but the header of part-1.csv maps to id, email: every file of one input must have the same fields"
	if err.Error() != want {
		t.Errorf("ScanFiles error\n%s\nwant\n%s", err, want)
	}
}

func TestFilesOpenErrorNamesTheFile(t *testing.T) {
	fs := Files{Names: []string{"a.csv", "b.csv"}, Open: func(i int) (io.ReadCloser, error) {
		if i == 1 {
			return nil, errors.New("open input: no such file")
		}
		return io.NopCloser(strings.NewReader("id\nx\n")), nil
	}}
	n, err := ScanFiles(fs, CSV, Options{}, func(int, string) {})
	var fe *FileError
	if !errors.As(err, &fe) || fe.File != "b.csv" || n != 1 {
		t.Fatalf("ScanFiles = %d, %v; want 1, a *FileError for b.csv", n, err)
	}
	got, _, err := readFiles(t, fs, CSV, Options{})
	if len(got) != 1 || err == nil || err.Error() != "b.csv: open input: no such file" {
		t.Fatalf("OpenFiles read %v, %v; want one record, then b.csv's error", got, err)
	}
}

// abortable records how ScanFiles let go of a file.
type abortable struct {
	io.Reader
	closed, aborted bool
}

func (a *abortable) Close() error { a.closed = true; return nil }
func (a *abortable) Abort() error { a.aborted = true; return nil }

// TestScanFilesAbortsABrokenFile: after a file problem, ScanFiles lets go
// of the file with Abort (no need to read the rest to hash it), and opens
// no later file; a file read to its end is closed.
func TestScanFilesAbortsABrokenFile(t *testing.T) {
	var opened []*abortable
	contents := []string{"id\na\n", "id\n\"never closed\nb\n", "id\nc\n"}
	fs := Files{Names: []string{"1.csv", "2.csv", "3.csv"}, Open: func(i int) (io.ReadCloser, error) {
		a := &abortable{Reader: strings.NewReader(contents[i])}
		opened = append(opened, a)
		return a, nil
	}}
	_, err := ScanFiles(fs, CSV, Options{}, func(int, string) {})
	if !errors.Is(err, ErrUnterminatedQuote) {
		t.Fatalf("ScanFiles = %v; want ErrUnterminatedQuote", err)
	}
	if len(opened) != 2 || !opened[0].closed || opened[0].aborted || opened[1].closed || !opened[1].aborted {
		t.Errorf("files opened %d; first closed %v aborted %v; second closed %v aborted %v; want 2: closed, then aborted",
			len(opened), opened[0].closed, opened[0].aborted, opened[1].closed, opened[1].aborted)
	}
}
