package input

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

const (
	// defaultMaxRecord bounds one CSV record or NDJSON line, and so the
	// memory a reader holds at once.
	defaultMaxRecord = 16 << 20
	// readBuf is the size of the buffer between the input and the parser.
	readBuf = 64 << 10
)

var errTooLong = errors.New("record too long")

// tap sits between the input and csv.Reader's buffer. It keeps the bytes
// from the start of the record being read onward, so that a record's raw
// text can be handed back and an unterminated quote located, and it stops a
// record from growing past limit bytes (encoding/csv would otherwise buffer
// the whole rest of a file after an unclosed quote).
type tap struct {
	r     io.Reader
	err   error  // sticky errTooLong
	buf   []byte // input bytes from offset base onward
	base  int64
	mark  int64 // offset where the current record's text begins
	limit int64
}

func (t *tap) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	held := t.base + int64(len(t.buf)) - t.mark
	if held >= t.limit {
		t.err = errTooLong
		return 0, t.err
	}
	if room := t.limit - held; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := t.r.Read(p)
	t.buf = append(t.buf, p[:n]...)
	return n, err
}

// region returns the input bytes from the mark to offset end.
func (t *tap) region(end int64) []byte { return t.buf[t.mark-t.base : end-t.base] }

// held returns every byte read from the mark onward.
func (t *tap) held() []byte { return t.buf[t.mark-t.base:] }

// advance moves the mark to off, dropping the bytes before it once that
// frees at least half the buffer (so the copying stays linear overall).
func (t *tap) advance(off int64) {
	t.mark = off
	if drop := int(off - t.base); drop >= readBuf && drop >= len(t.buf)/2 {
		n := copy(t.buf, t.buf[drop:])
		t.buf = t.buf[:n]
		t.base = off
	}
}

// csvCore is the record loop shared by Open, OpenRaw and ScanIDs, so that
// all three number the records of any file alike: the same csv.Reader
// settings, the same tap, the same classification of what went wrong.
type csvCore struct {
	name  string
	tap   *tap
	cr    *csv.Reader
	max   int
	line  int    // physical line at tap.mark
	num   int    // data records so far
	fail  error  // sticky: io.EOF or a *FileError
	full  []byte // the last record's text with its line terminator
	text  []byte // the same without it
	width int    // fields in the header
}

// csvStep is one record as the core saw it.
type csvStep struct {
	num, line int
	parsed    bool      // the fields could be split (also on a wrong field count)
	rowErr    *RowError // the record is broken; reading goes on
}

func newCSVCore(r io.Reader, name string, maxRecord int) (*csvCore, error) {
	if maxRecord <= 0 {
		maxRecord = defaultMaxRecord
	}
	src, empty, err := prepare(r, name)
	if err != nil {
		return nil, err
	}
	if empty {
		return nil, fileErr(name, 0, ErrEmptyFile, "file is empty: a CSV file needs a header line naming its columns")
	}
	// The tap holds a record plus what the buffer has read ahead of it.
	// csv.NewReader keeps a *bufio.Reader of 4 KiB or more as it is.
	size := min(readBuf, max(4096, maxRecord))
	t := &tap{r: src, limit: int64(maxRecord + size)}
	cr := csv.NewReader(bufio.NewReaderSize(t, size))
	return &csvCore{name: name, tap: t, cr: cr, max: maxRecord, line: 1}, nil
}

// step reads one record through read, which must call c.cr.Read exactly
// once (directly or through gocsv), and sorts out what happened: a record
// (perhaps broken: rowErr), io.EOF, or a *FileError after which the file
// cannot be read on. The record's raw text is in c.full and c.text until the
// next step.
func (c *csvCore) step(header bool, read func() error) (csvStep, error) {
	if c.fail != nil {
		return csvStep{}, c.fail
	}
	// Release the previous record's text, counting its lines.
	off := c.cr.InputOffset()
	c.line += bytes.Count(c.tap.region(off), []byte{'\n'})
	c.tap.advance(off)

	err := read()
	full, blank := trimBlankLines(c.tap.region(c.cr.InputOffset()))
	c.full, c.text = full, trimEOL(full)
	start := c.line + blank
	if errors.Is(err, io.EOF) {
		c.fail = io.EOF
		return csvStep{}, io.EOF
	}
	st := csvStep{line: start}
	if !header {
		st.num = c.num + 1
	}
	defer func() {
		if c.fail == nil && !header {
			c.num++ // a record, perhaps broken, was read
		}
	}()
	if err == nil {
		st.line, _ = c.cr.FieldPos(0)
		st.parsed = true
		if header {
			c.width = c.cr.FieldsPerRecord
		}
		return st, nil
	}
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
		st.line = pe.StartLine
		st.parsed = true
		found := len(reparse(c.full))
		st.rowErr = c.rowErr(st, "", fmt.Sprintf("expected %d fields, found %d", c.width, found))
		return st, nil
	case errors.As(err, &pe):
		st.line = pe.StartLine
		if qline, qcol, open := openQuote(c.full, start); open {
			c.fail = fileErr(c.name, qline, ErrUnterminatedQuote,
				"quoted field opened at line %d, column %d is never closed: the rest of the file (lines %d-%d) cannot be split into records safely; close the quote (a quote inside a field is written twice: \"\") and run again",
				qline, qcol, qline, pe.Line)
			return csvStep{}, c.fail
		}
		where := fmt.Sprintf("column %d", pe.Column)
		if pe.Line != pe.StartLine {
			where = fmt.Sprintf("line %d, column %d", pe.Line, pe.Column)
		}
		reason := fmt.Sprintf("%v at %s", pe.Err, where)
		if errors.Is(pe.Err, csv.ErrBareQuote) {
			reason = fmt.Sprintf("bare \" in a field without quotes at %s (quote the field and write a quote inside it twice: \"\")", where)
		} else if errors.Is(pe.Err, csv.ErrQuote) {
			reason = fmt.Sprintf("extraneous or missing \" in a quoted field at %s", where)
		}
		st.rowErr = c.rowErr(st, "", reason)
		return st, nil
	case errors.Is(err, errTooLong):
		text, blank := trimBlankLines(c.tap.held())
		start := c.line + blank
		if qline, qcol, open := openQuote(text, start); open {
			c.fail = fileErr(c.name, qline, ErrUnterminatedQuote,
				"quoted field opened at line %d, column %d is not closed within %s: is its closing quote missing? (a quote inside a field is written twice: \"\")",
				qline, qcol, sizeText(c.max))
		} else {
			c.fail = fileErr(c.name, start, ErrRecordTooLong, "record is longer than %s", sizeText(c.max))
		}
		return csvStep{}, c.fail
	default:
		c.fail = readErr(c.name, err)
		return csvStep{}, c.fail
	}
}

func (c *csvCore) rowErr(st csvStep, field, reason string) *RowError {
	return &RowError{File: c.name, Line: st.line, Row: st.num, Field: field, Reason: reason}
}

// reparse splits one record's raw text into fields again, for the rare
// paths that need them after gocsv has consumed the record (a wrong field
// count, invalid UTF-8, Raw). It returns nil when the text does not parse.
func reparse(text []byte) []string {
	cr := csv.NewReader(bytes.NewReader(text))
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	if err != nil {
		return nil
	}
	return rec
}

// trimBlankLines drops the empty lines encoding/csv skips before a record,
// and counts them.
func trimBlankLines(b []byte) ([]byte, int) {
	n := 0
	for {
		switch {
		case bytes.HasPrefix(b, []byte("\n")):
			b = b[1:]
		case bytes.HasPrefix(b, []byte("\r\n")):
			b = b[2:]
		default:
			return b, n
		}
		n++
	}
}

// trimEOL drops a record's line terminator. (A "\r" before the end of the
// input stays: encoding/csv drops it too, and "\r\r\n" ends in a field
// holding "\r".)
func trimEOL(b []byte) []byte {
	if bytes.HasSuffix(b, []byte("\r\n")) {
		return b[:len(b)-2]
	}
	return bytes.TrimSuffix(b, []byte("\n"))
}

// openQuote reads text as CSV from the start of a record, the way
// encoding/csv does, and reports whether it ends inside a quoted field: an
// unterminated quote. line and col (1-based, in bytes) are where that
// field's opening quote is, counting lines from startLine.
func openQuote(text []byte, startLine int) (line, col int, open bool) {
	line, lineStart := startLine, 0
	i := 0
	for i < len(text) {
		if text[i] != '"' {
			j := bytes.IndexAny(text[i:], ",\n\"")
			if j < 0 || text[i+j] != ',' {
				return 0, 0, false // the record ends, or a bare quote stops it
			}
			i += j + 1
			continue
		}
		qline, qcol := line, i-lineStart+1
		i++
		for {
			j := bytes.IndexByte(text[i:], '"')
			seg := text[i:]
			if j >= 0 {
				seg = seg[:j]
			}
			for k, b := range seg {
				if b == '\n' {
					line++
					lineStart = i + k + 1
				}
			}
			if j < 0 {
				return qline, qcol, true
			}
			i += j + 1
			if i < len(text) && text[i] == '"' {
				i++ // a doubled quote: still inside
				continue
			}
			break
		}
		if i >= len(text) || text[i] != ',' {
			return 0, 0, false // the record ends, or a stray quote stops it
		}
		i++
	}
	return 0, 0, false
}

// sizeText writes a size limit for messages.
func sizeText(n int) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
