package input

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"
)

func utf8Valid(s string) bool { return utf8.ValidString(s) }

var csvSeeds = []string{
	"id,email\n1,a@b.c\n",
	"\ufeffid,email\r\n1,a@b.c\r\n\r\n2,\"x,\"\"y\"\"\nz\"\r\n",
	"id,email\n1\n2,a,b\n3,\"x\"y\n4,x\"y\n5,ok\n",
	"id,email\n1,\"open\n2,x\n",
	"id,\"open\n",
	"id\n\"a\"\"\n\"\n\"b\n",
	"id,email\n1,\xff\n",
	"\xff\xfei\x00d\x00",
	"i\x00d\n",
	"",
	"\n\n",
	",,\n",
	"id,id\n",
	"id;email\n",
	"id\n\"\"\"\n",
	"id\n\r\r\n\r\n1\r",
	"id,x\n1,\"a\"\r\n2,\"b\"\rc\n",
}

var ndjsonSeeds = []string{
	`{"id":"1","email":"a@b.c","billing_address":{"city":"X"}}` + "\n",
	"\ufeff{\"id\":1}\r\n\n[1]\n\"x\"\n{bad\n{\"id\":\"1\",\"id\":\"2\"}\n",
	"{\"id\":\"\xff\"}\n{\"\xfe\":1}\n{\"id\":\"\\ud800\"}\n",
	`{"billing_address":null,"billing_address.city":"x","x":[{"y":{}}]}` + "\n{} {}\n{\"id\":\"1\"",
	"\xff\xfe{\x00",
	"",
	"\n\n\n",
	"{\"id\":\"1\",\"phone_number\":5}\r\n{\"id\":\"2\",\"email\":{}}",
}

func fuzz(f *testing.F, format Format, seeds []string) {
	for _, s := range seeds {
		f.Add([]byte(s), 0)
		f.Add([]byte(s), 16)
	}
	for _, in := range corpus(f)[format] {
		if len(in) <= 4<<10 { // big seeds slow the fuzzer down; TestNumberingAgrees reads them
			f.Add([]byte(in), 0)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, maxRecord int) {
		if maxRecord < 0 || maxRecord > 1<<16 {
			maxRecord = 16
		}
		checkAgreement(t, format, in, maxRecord)
	})
}

// FuzzCSV checks on any input that the CSV readers do not panic, number
// records 1, 2, 3... with rising lines, point every row error at a line of
// 1 or more, and agree with one another (Open, OpenRaw, Raw, ScanIDs).
func FuzzCSV(f *testing.F) { fuzz(f, CSV, csvSeeds) }

// FuzzNDJSON is FuzzCSV for NDJSON.
func FuzzNDJSON(f *testing.F) { fuzz(f, NDJSON, ndjsonSeeds) }

// fuzzGzip seeds a gzip fuzzer with the plain seeds and the corpus
// compressed (whole and cut in half) and with the corpus's own .gz files.
func fuzzGzip(f *testing.F, format Format, seeds []string) {
	plain := append(slices.Clone(seeds), corpus(f)[format]...)
	for _, s := range plain {
		if len(s) > 4<<10 {
			continue
		}
		z := gz(f, s)
		f.Add(z)
		f.Add(z[:len(z)/2])
	}
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "bad", "*.gz"))
	for _, p := range files {
		if got, err := DetectFormat(p, ""); err == nil && got == format {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkGzip(t, format, in) })
}

// checkGzip checks on a gzip stream that nothing panics, that a broken
// stream is a *FileError wrapping a *GzipError whose offset lies inside the
// input, that the three passes (ScanFiles, OpenFiles, OpenSkimFiles) read
// the same records and stop at the same error, and that two copies of the
// stream read as one input number the second copy's records after the
// first's.
func checkGzip(t *testing.T, format Format, in []byte) {
	const limit = 1 << 20 // a tiny stream may decompress to gigabytes
	dec, err := Decompress(bytes.NewReader(in), "in.gz")
	var plain []byte
	if err == nil {
		plain, err = io.ReadAll(io.LimitReader(dec, limit))
		if len(plain) == limit {
			return
		}
	}
	if err != nil {
		var ge *GzipError
		if !errors.As(err, &ge) || ge.Offset < 0 || ge.Offset > int64(len(in)) {
			t.Fatalf("Decompress(%q): %v; want a *GzipError with an offset in [0, %d]", in, err, len(in))
		}
	}
	one := memFiles([]string{"in.gz"}, [][]byte{in})
	nums, scanned, readErr := passesAgree(t, format, one)
	if err == nil {
		checkAgreement(t, format, plain, 0)
		if readErr != nil {
			return // a file problem in the plain content (checked above)
		}
		two := memFiles([]string{"a.gz", "b.gz"}, [][]byte{in, in})
		nums2, scanned2, err2 := passesAgree(t, format, two)
		if err2 != nil || scanned2 != 2*scanned || len(nums2) != 2*len(nums) {
			t.Fatalf("%q twice: %d records, %v; want %d", in, scanned2, err2, 2*scanned)
		}
		last := 0
		if len(nums) > 0 {
			last = nums[len(nums)-1]
		}
		for i, n := range nums {
			if nums2[len(nums)+i] != last+n {
				t.Fatalf("%q twice: record %d of the second copy is %d; want %d", in, i, nums2[len(nums)+i], last+n)
			}
		}
		return
	}
	var fe *FileError
	if readErr == nil || !errors.As(readErr, &fe) || fe.File != "in.gz" {
		t.Fatalf("%q: the stream is broken (%v), but the readers end with %v", in, err, readErr)
	}
}

// passesAgree reads fs with the three passes and checks they agree on the
// records (numbers, lines, files) and on the error that ends them. It
// returns the record numbers, ScanFiles' count and the error (nil at EOF).
func passesAgree(t *testing.T, format Format, fs Files) ([]int, int, error) {
	t.Helper()
	opts := Options{}
	scanned, scanErr := ScanFiles(fs, format, opts, func(int, string) {})
	type rec struct {
		num, line int
		file      string
	}
	var read, skimmed []rec
	var readErr, skimErr error
	if rd, err := OpenFiles(fs, format, opts); err != nil {
		readErr = err
	} else {
		for {
			r, err := rd.Next()
			if err != nil {
				readErr = err
				break
			}
			read = append(read, rec{r.Num, r.Line, r.File})
		}
	}
	if sk, err := OpenSkimFiles(fs, format, opts); err != nil {
		skimErr = err
	} else {
		for {
			s, err := sk.Next()
			if err != nil {
				skimErr = err
				break
			}
			skimmed = append(skimmed, rec{s.Num, s.Line, s.File})
		}
	}
	if readErr == io.EOF {
		readErr = nil
	}
	if skimErr == io.EOF {
		skimErr = nil
	}
	text := func(err error) string {
		if err == nil {
			return "<nil>"
		}
		return err.Error()
	}
	if text(readErr) != text(scanErr) || text(readErr) != text(skimErr) {
		t.Fatalf("passes end differently: OpenFiles %v; ScanFiles %v; OpenSkimFiles %v", readErr, scanErr, skimErr)
	}
	if !slices.Equal(read, skimmed) || (readErr == nil && scanned != len(read)) {
		t.Fatalf("passes disagree: OpenFiles %v; OpenSkimFiles %v; ScanFiles counted %d", read, skimmed, scanned)
	}
	nums := make([]int, len(read))
	for i, r := range read {
		nums[i] = r.num
	}
	return nums, scanned, readErr
}

// FuzzGzipCSV checks gzip-compressed CSV, as warehouse shards come: see
// checkGzip.
func FuzzGzipCSV(f *testing.F) { fuzzGzip(f, CSV, csvSeeds) }

// FuzzGzipNDJSON is FuzzGzipCSV for NDJSON.
func FuzzGzipNDJSON(f *testing.F) { fuzzGzip(f, NDJSON, ndjsonSeeds) }
