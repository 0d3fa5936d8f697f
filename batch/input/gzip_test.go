package input

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
)

// gz compresses s as gzip(1) would (one member).
func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// memFiles is a Files over in-memory contents, decompressed as the CLI
// does.
func memFiles(names []string, contents [][]byte) Files {
	return Files{Names: names, Open: func(i int) (io.ReadCloser, error) {
		r, err := Decompress(bytes.NewReader(contents[i]), names[i])
		if err != nil {
			return nil, err
		}
		return io.NopCloser(r), nil
	}}
}

func TestDecompress(t *testing.T) {
	const csv = "id,email\nc-1,a@example.com\nc-2,b@example.com\n"
	whole := gz(t, csv)
	twoMembers := append(gz(t, "id,email\nc-1,a@example.com\n"), gz(t, "c-2,b@example.com\n")...)
	tests := []struct {
		name    string
		file    string
		in      []byte
		want    string
		wantErr string // substring; "" for none
		offset  int64  // of the *GzipError, when wantErr is set (-1: do not check)
	}{
		{name: "plain by name", file: "a.csv", in: []byte(csv), want: csv},
		{name: "gzip by extension", file: "a.csv.gz", in: whole, want: csv},
		{name: "gzip by extension, any case", file: "A.CSV.GZ", in: whole, want: csv},
		{name: "gzip by magic bytes", file: "a.csv", in: whole, want: csv},
		{name: "concatenated members", file: "a.csv.gz", in: twoMembers, want: csv},
		{name: "empty plain", file: "a.csv", in: nil, want: ""},
		{name: "one byte plain", file: "a.csv", in: []byte{0x1f}, want: "\x1f"},
		{name: ".gz that is not gzip", file: "a.csv.gz", in: []byte(csv), wantErr: "gzip data corrupt at compressed byte", offset: -1},
		{name: "empty .gz", file: "a.csv.gz", in: nil, wantErr: "gzip data", offset: 0},
		{name: "cut off in the data", file: "a.csv.gz", in: whole[:len(whole)-12], wantErr: "gzip data cut off (truncated) at compressed byte", offset: int64(len(whole) - 12)},
		{name: "cut off in the trailer", file: "a.csv.gz", in: whole[:len(whole)-3], wantErr: "cut off (truncated)", offset: int64(len(whole) - 3)},
		{name: "checksum wrong", file: "a.csv.gz", in: flip(whole, len(whole)-6), wantErr: "gzip: invalid checksum", offset: int64(len(whole))},
		{name: "garbage after the stream", file: "a.csv.gz", in: append(bytes.Clone(whole), "junk after the end of the stream"...), wantErr: "gzip: invalid header", offset: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decompress(bytes.NewReader(tt.in), tt.file)
			var got []byte
			if err == nil {
				got, err = io.ReadAll(r)
			}
			if tt.wantErr == "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("Decompress(%s) read %q, %v; want %q, nil", tt.name, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Decompress(%s) read %q, %v; want an error containing %q", tt.name, got, err, tt.wantErr)
			}
			var ge *GzipError
			if !errors.As(err, &ge) {
				t.Fatalf("Decompress(%s) error %#v; want a *GzipError", tt.name, err)
			}
			if tt.offset >= 0 && ge.Offset != tt.offset {
				t.Errorf("Decompress(%s): Offset = %d; want %d", tt.name, ge.Offset, tt.offset)
			}
			if ge.Offset < 0 || ge.Offset > int64(len(tt.in)) {
				t.Errorf("Decompress(%s): Offset = %d, outside the %d bytes", tt.name, ge.Offset, len(tt.in))
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0xff
	return c
}

// TestGzipReadersStopAtTheBreak: a shard cut off mid-stream gives its
// complete records, then a *FileError that names the file and the
// compressed offset, the same from every pass; no half record comes out.
func TestGzipReadersStopAtTheBreak(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,email\n")
	for i := range 5000 {
		b.WriteString("c-")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(",a@example.com\n")
	}
	whole := gz(t, b.String())
	cut := whole[:len(whole)/2]
	for _, f := range []Format{CSV, NDJSON} {
		in := cut
		if f == NDJSON {
			var nb strings.Builder
			for i := range 5000 {
				nb.WriteString(`{"id":"c-` + strings.Repeat("y", i%5) + `","email":"a@example.com"}` + "\n")
			}
			full := gz(t, nb.String())
			in = full[:len(full)/2]
		}
		name := "export-000000000001." + f.String() + ".gz"
		files := memFiles([]string{name}, [][]byte{in})
		rd, err := OpenFiles(files, f, Options{})
		if err != nil {
			t.Fatalf("%v: OpenFiles: %v", f, err)
		}
		n := 0
		var readErr error
		for {
			rec, err := rd.Next()
			if err != nil {
				readErr = err
				break
			}
			if rec.Err != nil {
				t.Fatalf("%v: record %d broken: %v (a cut-off stream must not yield half a record)", f, rec.Num, rec.Err)
			}
			n++
		}
		scanned, scanErr := ScanFiles(files, f, Options{}, func(int, string) {})
		var fe *FileError
		var ge *GzipError
		if !errors.As(readErr, &fe) || fe.File != name || !errors.As(readErr, &ge) {
			t.Fatalf("%v: Next() = %v; want a *FileError for %s wrapping a *GzipError", f, readErr, name)
		}
		if !strings.HasPrefix(readErr.Error(), name+": read: gzip data cut off (truncated) at compressed byte ") {
			t.Errorf("%v: error %q does not name the file and the offset", f, readErr)
		}
		if scanErr == nil || scanErr.Error() != readErr.Error() || scanned != n {
			t.Errorf("%v: ScanFiles = %d, %v; the reader gave %d records, then %v", f, scanned, scanErr, n, readErr)
		}
		if n == 0 || n >= 5000 {
			t.Errorf("%v: %d records before the break; want some, not all", f, n)
		}
	}
}

// TestGzipCutInItsFirstBytes: a stream cut off before it gives three
// bytes is a broken file, not an empty one (nor zero NDJSON rows).
func TestGzipCutInItsFirstBytes(t *testing.T) {
	for _, f := range []Format{CSV, NDJSON} {
		z := gz(t, "id\nx\n")
		fs := memFiles([]string{"x.gz"}, [][]byte{z[:11]})
		n, err := ScanFiles(fs, f, Options{}, func(int, string) {})
		var ge *GzipError
		if !errors.As(err, &ge) || n != 0 {
			t.Errorf("%v: ScanFiles(cut after 11 bytes) = %d, %v; want 0, a *GzipError", f, n, err)
		}
	}
}
