package input

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// Options says how to read one input.
type Options struct {
	// Name is the input's name for messages: the path as the user gave
	// it, or "-" for stdin.
	Name string
	// Mapping maps the file's column names to fields. The zero value
	// accepts canonical names only.
	Mapping Mapping
	// EmptyClears makes an empty CSV cell clear its field instead of
	// leaving it unchanged (--empty-clears). NDJSON ignores it.
	EmptyClears bool
	// Strict makes unmapped columns a file-level error (CSV) and unmapped
	// keys a row error (NDJSON).
	Strict bool
	// Deferred lets a CSV Reader's Next return a well-formed record with
	// its Values still to be filled by Decode, which the caller may run on
	// other goroutines: decoding the record into a struct (gocsv, by
	// reflection) is most of the cost of reading a CSV row, and unlike
	// splitting the file into records it need not happen in file order.
	// Until Decode, such a record's Values hold its id only, the rest
	// Absent. Records that are broken (Err set) come decoded, as far as
	// they can be. NDJSON ignores it.
	Deferred bool

	maxRecord int // bytes in one record or line; 0 means 16 MiB (tests set less)
}

// Reader yields the records of one input, in file order. It is not safe
// for concurrent use.
type Reader interface {
	// Next returns the next record, or io.EOF after the last one. A
	// record that is itself broken comes back with Err set, and reading
	// goes on. Any other error is a *FileError: the input cannot be read
	// on, and Next keeps returning it.
	Next() (*Record, error)
	// Warnings returns the warnings not returned before: for CSV, the
	// header's (unmapped columns, did-you-mean hints), all known once
	// Open returns; for NDJSON, each unmapped key once, as rows meet it.
	Warnings() []string
}

// RawSource is implemented by every Reader that Open returns: the raw form
// of the record Next returned last, for writing failed rows back in the
// user's own format when the input can be read only once (stdin).
type RawSource interface {
	// Raw returns the last record as read, or nil before the first.
	Raw() *RawRecord
}

// Open starts reading r as format f. For CSV it reads and checks the
// header; the *FileError it returns for a file that cannot be used at all
// matches ErrEmptyFile (no header line), ErrNoHeader, ErrEncoding (UTF-16,
// invalid UTF-8 or NUL bytes in the header), ErrMalformedHeader,
// ErrNoIDColumn, ErrDuplicateColumn (both columns named) or
// ErrUnmappedColumns (Strict). A header with no rows is not an error. For
// NDJSON it reads nothing but a byte-order mark; an empty NDJSON input has
// zero rows.
func Open(r io.Reader, f Format, opts Options) (Reader, error) {
	switch f {
	case CSV:
		return openCSV(r, opts)
	case NDJSON:
		return openNDJSON(r, opts)
	}
	return nil, fmt.Errorf("input: open %s: unknown format %v", opts.Name, f)
}

// RawRecord is one record of an input as the user wrote it, numbered as
// Open numbers it.
type RawRecord struct {
	Num  int // Record.Num
	Line int // Record.Line
	// Fields are a CSV record's fields, before any mapping or rule; nil
	// for NDJSON, and for a CSV record that could not be split (a quote
	// out of place). A record with the wrong number of fields has them.
	Fields []string
	// Text is the record's text as in the file, without its line
	// terminator (a CSV record may span lines; blank lines before it are
	// not included). It is nil for an NDJSON line over the size limit.
	Text []byte
}

// RawReader yields an input's records unmapped and unchecked, numbered
// exactly as Open numbers them, so failed rows can be written back in the
// user's own format (failed.csv, failed.ndjson). It is not safe for
// concurrent use.
type RawReader struct {
	header []string
	csv    *csvCore
	lines  *lineReader
}

// OpenRaw starts reading r raw. For CSV it reads the header, and fails as
// Open does on a file without one (ErrEmptyFile, ErrNoHeader, ErrEncoding,
// ErrMalformedHeader); it needs no mapping and checks none.
func OpenRaw(r io.Reader, f Format, name string) (*RawReader, error) {
	return openRaw(r, f, Options{Name: name})
}

func openRaw(r io.Reader, f Format, opts Options) (*RawReader, error) {
	switch f {
	case CSV:
		core, err := newCSVCore(r, opts.Name, opts.maxRecord)
		if err != nil {
			return nil, err
		}
		header, _, err := readHeader(core, func() error {
			_, err := core.cr.Read()
			return err
		})
		if err != nil {
			return nil, err
		}
		return &RawReader{header: header, csv: core}, nil
	case NDJSON:
		lines, err := newLineReader(r, opts.Name, opts.maxRecord)
		if err != nil {
			return nil, err
		}
		return &RawReader{lines: lines}, nil
	}
	return nil, fmt.Errorf("input: open %s: unknown format %v", opts.Name, f)
}

// Header returns the CSV header as read (nil for NDJSON).
func (r *RawReader) Header() []string { return r.header }

// Next returns the next record, io.EOF after the last, or the same
// *FileError that Open's Reader returns at the same place.
func (r *RawReader) Next() (*RawRecord, error) {
	if r.lines != nil {
		ln, err := r.lines.next()
		if err != nil {
			return nil, err
		}
		return &RawRecord{Num: ln.num, Line: ln.num, Text: bytes.Clone(ln.text)}, nil
	}
	var fields []string
	st, err := r.csv.step(false, func() error {
		var err error
		fields, err = r.csv.cr.Read()
		return err
	})
	if err != nil {
		return nil, err
	}
	rec := &RawRecord{Num: st.num, Line: st.line, Text: bytes.Clone(r.csv.text)}
	if st.parsed {
		rec.Fields = fields
	}
	return rec, nil
}

// ScanIDs is a cheap first pass over an input: it calls fn with the number
// and id of every record whose id Open would yield as Set (even when the
// record is otherwise invalid), and returns how many records there are.
// The lead uses it to find the ids that occur more than once before
// sending anything. It fails as Open and Next would.
func ScanIDs(r io.Reader, f Format, opts Options, fn func(num int, id string)) (int, error) {
	n, _, _, err := scanIDs(r, f, opts, fn)
	return n, err
}

// scanIDs is ScanIDs, also returning the last record's number (not the
// count for NDJSON, where blank lines are counted) and, for CSV, the
// mapped header.
func scanIDs(r io.Reader, f Format, opts Options, fn func(num int, id string)) (n, last int, h *csvHeader, err error) {
	if f == NDJSON {
		rd, err := openNDJSON(r, opts)
		if err != nil {
			return 0, 0, nil, err
		}
		for {
			rec, err := rd.nextID()
			if err == io.EOF {
				return n, last, nil, nil
			}
			if err != nil {
				return n, last, nil, err
			}
			n++
			last = rec.Num
			if v := rec.Values[ID]; v.State == Set {
				fn(rec.Num, v.Text)
			}
		}
	}
	if f != CSV {
		return 0, 0, nil, fmt.Errorf("input: scan %s: unknown format %v", opts.Name, f)
	}
	core, h, idCol, err := openIDColumn(r, opts)
	if err != nil {
		return 0, 0, nil, err
	}
	core.cr.ReuseRecord = true
	for {
		var fields []string
		st, err := core.step(false, func() error {
			var err error
			fields, err = core.cr.Read()
			return err
		})
		if err == io.EOF {
			return core.num, core.num, h, nil
		}
		if err != nil {
			return core.num, core.num, h, err
		}
		if !st.parsed || idCol < 0 || idCol >= len(fields) || !utf8.ValidString(fields[idCol]) {
			continue
		}
		if v := cellValue(fields[idCol], opts.EmptyClears); v.State == Set {
			fn(st.num, v.Text)
		}
	}
}

var (
	_ RawSource = (*csvReader)(nil)
	_ RawSource = (*ndjsonReader)(nil)
	_ Reader    = (*csvReader)(nil)
	_ Reader    = (*ndjsonReader)(nil)
)
