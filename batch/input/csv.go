package input

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/gocarina/gocsv"
)

// unmapped marks a column that maps to no field (skip marks one ignored on
// purpose).
const unmapped Field = -2

// csvRow is what gocsv decodes each record into. After RenormalizeHeaders
// the header gocsv matches against these tags is the mapped one: each
// mapped column renamed to its canonical field, every other column "".
type csvRow struct {
	ID        string `csv:"id"`
	FirstName string `csv:"first_name"`
	LastName  string `csv:"last_name"`
	Email     string `csv:"email"`
	Phone     string `csv:"phone_number"`
	Line1     string `csv:"billing_address.line1"`
	Line2     string `csv:"billing_address.line2"`
	City      string `csv:"billing_address.city"`
	State     string `csv:"billing_address.state"`
	ZipCode   string `csv:"billing_address.zip_code"`
	Country   string `csv:"billing_address.country"`
}

// UnmarshalCSVWithFields is gocsv's hook for decoding a record a cell at
// a time (gocsv.TypeUnmarshalCSVWithFields), which gocsv.UnmarshalDecoder
// calls, with the column's header, instead of setting the tagged field by
// reflection (a third of the cost of reading a row). The header names are
// the mapped ones, as the tags: a column that maps to no field ("") sets
// nothing.
func (r *csvRow) UnmarshalCSVWithFields(key, value string) error {
	switch key {
	case "id":
		r.ID = value
	case "first_name":
		r.FirstName = value
	case "last_name":
		r.LastName = value
	case "email":
		r.Email = value
	case "phone_number":
		r.Phone = value
	case "billing_address.line1":
		r.Line1 = value
	case "billing_address.line2":
		r.Line2 = value
	case "billing_address.city":
		r.City = value
	case "billing_address.state":
		r.State = value
	case "billing_address.zip_code":
		r.ZipCode = value
	case "billing_address.country":
		r.Country = value
	}
	return nil
}

func (r *csvRow) cells() [NumFields]string {
	return [NumFields]string{
		ID: r.ID, FirstName: r.FirstName, LastName: r.LastName, Email: r.Email, Phone: r.Phone,
		Line1: r.Line1, Line2: r.Line2, City: r.City, State: r.State, ZipCode: r.ZipCode, Country: r.Country,
	}
}

// csvHeader is a header line checked and mapped.
type csvHeader struct {
	names    []string
	cols     []Field // per column: a field, skip or unmapped
	has      [NumFields]bool
	warnings []string
	line     int // where the header is
}

// checkHeader does the checks that need no mapping (OpenRaw does them too).
func checkHeader(name string, line int, header []string) error {
	named := false
	for i, h := range header {
		if !utf8.ValidString(h) {
			return fileErr(name, line, ErrEncoding, "header: column %d is not valid UTF-8; save the file as UTF-8", i+1)
		}
		if strings.IndexByte(h, 0) >= 0 {
			return fileErr(name, line, ErrEncoding, "header contains NUL bytes: is the file UTF-16? save it as UTF-8")
		}
		named = named || normName(h) != ""
	}
	if !named {
		return fileErr(name, line, ErrNoHeader, "the first line names no columns; it must be a header such as id,email,phone_number")
	}
	return nil
}

// mapHeader maps each column and does the checks that need the mapping.
func mapHeader(name string, line int, header []string, m Mapping, strict bool) (*csvHeader, error) {
	h := &csvHeader{names: header, cols: make([]Field, len(header)), line: line}
	var first [NumFields]int
	var unm []int
	for i, col := range header {
		f, ok := m.resolve(col)
		switch {
		case normName(col) == errorColumn:
			f = skip
		case !ok:
			f = unmapped
			unm = append(unm, i)
		case f != skip && h.has[f]:
			return nil, fileErr(name, line, ErrDuplicateColumn, "columns %q (%d) and %q (%d) both map to %s; map one of them to \"-\" to ignore it",
				strings.TrimSpace(header[first[f]]), first[f]+1, strings.TrimSpace(col), i+1, f)
		case f != skip:
			h.has[f], first[f] = true, i
		}
		h.cols[i] = f
	}
	if !h.has[ID] {
		return nil, fileErr(name, line, ErrNoIDColumn, "no column maps to id%s", idHint(header))
	}
	var labels, hints []string
	for _, i := range unm {
		labels = append(labels, columnLabel(header, i))
		if f, ok := suggest(header[i], &h.has); ok {
			col := strings.TrimSpace(header[i])
			hints = append(hints, fmt.Sprintf("column %q is not mapped; did you mean %s? add --column %q", col, f, col+"="+f.String()))
		}
	}
	if strict && len(unm) > 0 {
		msg := fmt.Sprintf("--strict: columns not mapped to any field: %s; map them with --column or --map (field \"-\" ignores a column)", strings.Join(labels, ", "))
		for _, s := range hints {
			msg += "; " + s
		}
		return nil, fileErr(name, line, ErrUnmappedColumns, "%s", msg)
	}
	if len(labels) > 0 {
		h.warnings = append(h.warnings, "ignoring columns not mapped to any field: "+strings.Join(labels, ", "))
	}
	h.warnings = append(h.warnings, hints...)
	return h, nil
}

// columnLabel names column i for messages.
func columnLabel(header []string, i int) string {
	if s := strings.TrimSpace(header[i]); s != "" {
		return s
	}
	return fmt.Sprintf("(column %d, no name)", i+1)
}

// idHint explains a missing id column: the columns there are, one that
// looks like an id, or a hint that the file is not comma-separated.
func idHint(header []string) string {
	var b strings.Builder
	const most = 12
	b.WriteString("; the columns are ")
	for i := range header {
		if i == most {
			fmt.Fprintf(&b, ", ... (%d in all)", len(header))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", columnLabel(header, i))
	}
	for i, col := range header {
		a := alnum(col)
		if f, ok := suggest(col, nil); (ok && f == ID) || (len(a) > 2 && strings.HasSuffix(a, "id")) {
			fmt.Fprintf(&b, "; if %q holds the customer id, add --column %q", columnLabel(header, i), strings.TrimSpace(col)+"=id")
			return b.String()
		}
	}
	if len(header) == 1 {
		for _, sep := range []string{";", "\t", "|"} {
			if strings.Contains(header[0], sep) {
				fmt.Fprintf(&b, "; the header is one column holding %q: fields must be separated by commas", sep)
				break
			}
		}
	}
	return b.String()
}

// cellValue applies the CSV empty-value rules to one cell, after undoing
// the report's spreadsheet neutralization (see the package doc).
func cellValue(s string, emptyClears bool) Value {
	if len(s) >= 2 && s[0] == '\'' && strings.IndexByte("=+-@\t\r", s[1]) >= 0 {
		s = s[1:]
	}
	switch t := strings.TrimSpace(s); {
	case t == "" && emptyClears:
		return Value{State: Clear}
	case t == "":
		return Value{State: Absent}
	case t == "#N/A":
		return Value{State: Clear}
	}
	return Value{State: Set, Text: s}
}

// csvReader is the Reader that Open returns for CSV.
type csvReader struct {
	core     *csvCore
	um       *gocsv.Unmarshaller
	dec      *csvDecoder // how a record's cells become Values
	deferred bool        // Options.Deferred
	h        *csvHeader
	opts     Options
	warnings []string
	last     *Record // the record Next returned last, for Raw
	parsed   bool    // whether last's text splits into fields
}

func openCSV(r io.Reader, opts Options) (*csvReader, error) {
	core, err := newCSVCore(r, opts.Name, opts.maxRecord)
	if err != nil {
		return nil, err
	}
	// gocsv copies what it keeps; a deferred record keeps its fields, so
	// each needs a slice of its own.
	core.cr.ReuseRecord = !opts.Deferred
	var um *gocsv.Unmarshaller
	header, line, err := readHeader(core, func() error {
		var err error
		um, err = gocsv.NewUnmarshaller(core.cr, &csvRow{})
		return err
	})
	if err != nil {
		return nil, err
	}
	h, err := mapHeader(opts.Name, line, header, opts.Mapping, opts.Strict)
	if err != nil {
		return nil, err
	}
	// Show gocsv the mapped header: canonical names where mapped, "" (which
	// matches no tag) elsewhere.
	err = um.RenormalizeHeaders(func([]string) []string { return mappedHeader(h) })
	if err != nil {
		return nil, fmt.Errorf("input: map header: %w", err)
	}
	dec := &csvDecoder{name: opts.Name, header: mappedHeader(h), has: h.has, emptyClears: opts.EmptyClears, idCol: -1}
	for i, f := range h.cols {
		if f == ID {
			dec.idCol = i
		}
	}
	return &csvReader{core: core, um: um, dec: dec, deferred: opts.Deferred, h: h, opts: opts, warnings: h.warnings}, nil
}

// mappedHeader is the header gocsv is shown: each mapped column under its
// canonical name, "" (which matches no tag) elsewhere.
func mappedHeader(h *csvHeader) []string {
	out := make([]string, len(h.cols))
	for i, f := range h.cols {
		if f >= 0 {
			out[i] = f.String()
		}
	}
	return out
}

// readHeader reads the header line through read (see csvCore.step) and
// checks it. The header is split again from its raw text, so it is exactly
// what the file says whatever gocsv's (global) header normalizer does.
func readHeader(core *csvCore, read func() error) ([]string, int, error) {
	st, err := core.step(true, read)
	if err == io.EOF {
		return nil, 0, fileErr(core.name, 0, ErrEmptyFile, "file is empty: a CSV file needs a header line naming its columns")
	}
	if err != nil {
		return nil, 0, err
	}
	if st.rowErr != nil {
		return nil, 0, fileErr(core.name, st.line, ErrMalformedHeader, "header: %s", st.rowErr.Reason)
	}
	header := reparse(core.full)
	if err := checkHeader(core.name, st.line, header); err != nil {
		return nil, 0, err
	}
	return header, st.line, nil
}

// Next implements Reader.
func (r *csvReader) Next() (*Record, error) {
	var v any
	var fields []string
	st, err := r.core.step(false, func() error {
		var err error
		if r.deferred {
			fields, err = r.core.cr.Read() // gocsv's part is left to Decode
		} else {
			v, err = r.um.Read()
		}
		return err
	})
	if err != nil {
		r.last = nil
		return nil, err
	}
	rec := &Record{Num: st.num, Line: st.line, Err: st.rowErr}
	r.last, r.parsed = rec, st.parsed
	switch {
	case st.rowErr != nil:
		if st.parsed { // a wrong field count: fill what lines up, for the report's id column
			r.fill(rec, reparse(r.core.full))
		}
	case !utf8.Valid(r.core.text):
		fields := reparse(r.core.full)
		r.fill(rec, fields)
		for i, cell := range fields {
			if !utf8.ValidString(cell) {
				rec.Err = r.core.rowErr(st, r.columnName(i), "not valid UTF-8; save the file as UTF-8")
				break
			}
		}
	case r.deferred:
		rec.pending = &pendingCells{fields: fields, dec: r.dec}
		// The id at once: a reader that picks rows by customer needs it.
		if i := r.dec.idCol; i >= 0 && i < len(fields) {
			rec.Values[ID] = cellValue(fields[i], r.opts.EmptyClears)
		}
	default:
		r.dec.fill(rec, v.(*csvRow))
	}
	return rec, nil
}

// fill sets the values of the mapped columns that are present and valid.
func (r *csvReader) fill(rec *Record, fields []string) {
	for i, cell := range fields {
		if i < len(r.h.cols) && r.h.cols[i] >= 0 && utf8.ValidString(cell) {
			rec.Values[r.h.cols[i]] = cellValue(cell, r.opts.EmptyClears)
		}
	}
}

// columnName names column i in a RowError: its field when mapped, else its
// header.
func (r *csvReader) columnName(i int) string {
	if i < len(r.h.cols) && r.h.cols[i] >= 0 {
		return r.h.cols[i].String()
	}
	if i < len(r.h.names) {
		return columnLabel(r.h.names, i)
	}
	return fmt.Sprintf("(column %d)", i+1)
}

// Warnings implements Reader: the header's warnings, once.
func (r *csvReader) Warnings() []string {
	w := r.warnings
	r.warnings = nil
	return w
}

// Raw implements RawSource.
func (r *csvReader) Raw() *RawRecord {
	if r.last == nil {
		return nil
	}
	raw := &RawRecord{Num: r.last.Num, Line: r.last.Line, Text: bytes.Clone(r.core.text)}
	if r.parsed {
		raw.Fields = reparse(r.core.full)
	}
	return raw
}
