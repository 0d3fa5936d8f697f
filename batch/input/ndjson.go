package input

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// maxWarnedKeys bounds how many distinct unmapped NDJSON keys are
// remembered (and warned about), so that memory does not grow with a file
// whose keys are all different.
const maxWarnedKeys = 100

// lineReader frames NDJSON lines itself, so that a syntax error in one line
// cannot derail the next, and no line is held whole past the size limit.
// Open, OpenRaw and ScanIDs all frame with it, so they number alike.
type lineReader struct {
	name string
	br   *bufio.Reader
	max  int
	line int // number of the last line read
	buf  []byte
	fail error // sticky: io.EOF or a *FileError
}

// ndLine is one non-blank line. text (without its terminator) is valid
// until the next call; it is nil when the line is longer than the limit.
type ndLine struct {
	num     int
	text    []byte
	tooLong bool
}

func newLineReader(r io.Reader, name string, maxLine int) (*lineReader, error) {
	if maxLine <= 0 {
		maxLine = defaultMaxRecord
	}
	src, _, err := prepare(r, name)
	if err != nil {
		return nil, err
	}
	return &lineReader{name: name, br: bufio.NewReaderSize(src, readBuf), max: maxLine}, nil
}

// next returns the next line that is not blank (blank lines are counted).
func (l *lineReader) next() (ndLine, error) {
	for l.fail == nil {
		text, tooLong, got, err := l.read()
		if err != nil {
			l.fail = readErr(l.name, err)
			break
		}
		if !got {
			l.fail = io.EOF
			break
		}
		l.line++
		if tooLong {
			return ndLine{num: l.line, tooLong: true}, nil
		}
		if !blank(text) {
			return ndLine{num: l.line, text: text}, nil
		}
	}
	return ndLine{}, l.fail
}

// blank reports whether text holds only spaces, tabs and CRs.
func blank(text []byte) bool {
	for _, c := range text {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// read reads one line. got is false at the end of the input. A line longer
// than the limit is read to its end without being kept.
func (l *lineReader) read() (text []byte, tooLong, got bool, err error) {
	acc := l.buf[:0]
	for {
		chunk, err := l.br.ReadSlice('\n')
		got = got || len(chunk) > 0
		full := errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !full && !errors.Is(err, io.EOF) {
			return nil, false, got, err
		}
		line := chunk // the common case: the whole line is in the buffer
		if full || len(acc) > 0 || tooLong {
			if !tooLong && len(acc)+len(chunk) > l.max+len("\r\n") {
				tooLong = true
			}
			if !tooLong {
				acc = append(acc, chunk...)
			}
			l.buf = acc
			if full {
				continue
			}
			line = acc
		}
		text = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if tooLong || len(text) > l.max {
			return nil, true, got, nil
		}
		return text, false, got, nil
	}
}

// ndjsonReader is the Reader that Open returns for NDJSON.
type ndjsonReader struct {
	lines    *lineReader
	opts     Options
	lk       lookup
	warned   map[string]bool
	warnings []string
	last     *Record
	text     []byte // the last line, for Raw
	fast     fastDecoder
	noFast   bool   // decode every line with encoding/json (tests compare)
	idRec    Record // the record nextID reuses
}

func openNDJSON(r io.Reader, opts Options) (*ndjsonReader, error) {
	lines, err := newLineReader(r, opts.Name, opts.maxRecord)
	if err != nil {
		return nil, err
	}
	return &ndjsonReader{lines: lines, opts: opts, lk: opts.Mapping.lookup(), warned: make(map[string]bool)}, nil
}

// Next implements Reader. A line of the usual shape is read by the fast
// path (ndjson_fast.go); any other line, and every line the fast path is
// unsure of, by decode, which words every error. Both give the same record.
func (r *ndjsonReader) Next() (*Record, error) {
	ln, err := r.lines.next()
	if err != nil {
		r.last, r.text = nil, nil
		return nil, err
	}
	rec := &Record{Num: ln.num, Line: ln.num}
	r.last, r.text = rec, ln.text
	if ln.tooLong {
		rec.Err = r.rowErr(rec, "", "line is longer than "+sizeText(r.lines.max))
		return rec, nil
	}
	if r.noFast || !r.fast.decode(r, rec, ln.text, false) {
		r.decode(rec, ln.text)
	}
	return rec, nil
}

// nextID is Next for a pass that needs only each record's number and id
// (ScanIDs, the Skimmer): the record's Num, Line and Values[ID] are what
// Next would give, but its other values may be left Absent and Err nil.
// For a line of the usual shape it reads no further than the id. The
// record is reused by the next call; Raw works as after Next.
func (r *ndjsonReader) nextID() (*Record, error) {
	ln, err := r.lines.next()
	if err != nil {
		r.last, r.text = nil, nil
		return nil, err
	}
	rec := &r.idRec
	*rec = Record{Num: ln.num, Line: ln.num}
	r.last, r.text = rec, ln.text
	if ln.tooLong {
		return rec, nil
	}
	if r.noFast || !r.fast.decode(r, rec, ln.text, true) {
		r.decode(rec, ln.text)
	}
	return rec, nil
}

// Warnings implements Reader: the keys not mapped to any field, each once,
// as they are met; each call returns the warnings not returned before.
func (r *ndjsonReader) Warnings() []string {
	w := r.warnings
	r.warnings = nil
	return w
}

// Raw implements RawSource.
func (r *ndjsonReader) Raw() *RawRecord {
	if r.last == nil {
		return nil
	}
	return &RawRecord{Num: r.last.Num, Line: r.last.Line, Text: bytes.Clone(r.text)}
}

func (r *ndjsonReader) rowErr(rec *Record, field, reason string) *RowError {
	return &RowError{File: r.opts.Name, Line: rec.Line, Row: rec.Num, Field: field, Reason: reason}
}

// object is the state of decoding one line.
type object struct {
	r     *ndjsonReader
	rec   *Record
	line  []byte
	dec   *json.Decoder
	check bool                // the line may hold bad text: check each member
	by    [NumFields]string   // the key that set each field
	keys  map[string]struct{} // other keys met, for duplicates; made when needed
	ba    bool                // a billing_address object was met
}

// decode fills rec from one line, or sets rec.Err on the first problem. It
// is the reference the fast path must agree with, byte for byte.
func (r *ndjsonReader) decode(rec *Record, line []byte) {
	o := &object{r: r, rec: rec, line: line, dec: json.NewDecoder(bytes.NewReader(line))}
	o.dec.UseNumber()
	// encoding/json turns invalid UTF-8 and unpaired surrogate escapes into
	// U+FFFD silently; look at the raw bytes of each member when the line
	// may hold either.
	o.check = !utf8.Valid(line) || bytes.Contains(line, []byte(`\u`))
	tok, err := o.dec.Token()
	if err != nil {
		o.syntax(err)
		return
	}
	if tok != json.Delim('{') {
		o.fail("", "must be a JSON object, got "+kind(tok))
		return
	}
	if !o.members("") {
		return
	}
	if _, err := o.dec.Token(); !errors.Is(err, io.EOF) {
		o.syntax(errors.New("more data after the object"))
	}
}

// members reads an object's members up to and including its '}'; prefix is
// "" at the top level and "billing_address." inside it. It reports false
// once rec.Err is set.
func (o *object) members(prefix string) bool {
	for o.dec.More() {
		start := o.dec.InputOffset()
		tok, err := o.dec.Token()
		if err != nil {
			o.syntax(err)
			return false
		}
		key := tok.(string) // the decoder only returns strings as object keys
		name := prefix + key
		if o.check {
			if reason := badText(o.line[start:o.dec.InputOffset()]); reason != "" {
				o.fail(name, "key "+reason)
				return false
			}
			start = o.dec.InputOffset()
		}
		f, ok := o.r.lk.find(name)
		switch {
		case ok && f == skip:
			if !o.skipValue() {
				return false
			}
		case ok:
			if !o.field(f, key) {
				return false
			}
		case prefix == "" && normName(key) == "billing_address":
			if !o.address(key) {
				return false
			}
		default:
			if !o.unknown(name, key, prefix != "") {
				return false
			}
		}
		if o.check {
			if reason := badText(o.line[start:o.dec.InputOffset()]); reason != "" {
				field := name
				if ok && f >= 0 {
					field = f.String()
					o.rec.Values[f] = Value{} // the decoder replaced the bad text: drop it
				}
				o.fail(field, reason)
				return false
			}
		}
	}
	tok, err := o.dec.Token()
	if err != nil {
		o.syntax(err)
		return false
	}
	if tok != json.Delim('}') { // cannot happen: More said the object ends
		o.fail("", "invalid JSON: object not closed")
		return false
	}
	return true
}

// field reads the value of a mapped key: a string, or null.
func (o *object) field(f Field, key string) bool {
	if prev := o.by[f]; prev != "" {
		o.duplicate(f.String(), prev, key)
		return false
	}
	o.by[f] = key
	tok, err := o.dec.Token()
	if err != nil {
		o.syntax(err)
		return false
	}
	switch v := tok.(type) {
	case nil:
		// null: no change
	case string:
		if v == "" {
			o.rec.Values[f] = Value{State: Clear}
		} else {
			o.rec.Values[f] = Value{State: Set, Text: v}
		}
	case json.Number:
		// An id written as a whole number is taken as written; every
		// other field must be a string (a number loses a phone's "+"
		// and leading zeros).
		if f == ID && isDigits(v.String()) {
			o.rec.Values[f] = Value{State: Set, Text: v.String()}
			return true
		}
		o.fail(f.String(), "must be a string, got number")
		return false
	default:
		o.fail(f.String(), "must be a string, got "+kind(tok))
		return false
	}
	return true
}

// address reads a nested billing_address: an object of address keys (each
// mapped as "billing_address.KEY"), or null.
func (o *object) address(key string) bool {
	if o.ba {
		o.fail("billing_address", fmt.Sprintf("duplicate key %q", key))
		return false
	}
	o.ba = true
	tok, err := o.dec.Token()
	if err != nil {
		o.syntax(err)
		return false
	}
	switch tok {
	case nil:
		return true
	case json.Delim('{'):
		return o.members("billing_address.")
	}
	o.fail("billing_address", "must be an object, got "+kind(tok))
	return false
}

// unknown handles a key that maps to nothing: a row error under Strict,
// else a warning the first time the key is met.
func (o *object) unknown(name, key string, nested bool) bool {
	if _, dup := o.keys[name]; dup {
		o.fail(name, fmt.Sprintf("duplicate key %q", key))
		return false
	}
	if o.keys == nil {
		o.keys = make(map[string]struct{})
	}
	o.keys[name] = struct{}{}
	if !o.r.opts.Strict && (o.r.warned[name] || len(o.r.warned) > maxWarnedKeys) {
		return o.skipValue() // said already
	}
	hint := unknownHint(name, key, nested)
	if o.r.opts.Strict {
		reason := "key not mapped to any field (--strict)"
		if hint != "" {
			reason += "; " + hint
		}
		o.fail(name, reason)
		return false
	}
	o.r.warn(name, o.rec.Line, hint)
	return o.skipValue()
}

// unknownHint is the "did you mean" for an unmapped key, or "".
func unknownHint(name, key string, nested bool) string {
	f, ok := suggest(name, nil)
	if nested {
		f, ok = suggest(key, nil)
		ok = ok && f.IsAddress()
	}
	if !ok {
		return ""
	}
	return fmt.Sprintf("did you mean %s? add --column %q", f, name+"="+f.String())
}

// noteUnknown warns about an unmapped key (not under Strict) the first time
// it is met, as unknown does.
func (r *ndjsonReader) noteUnknown(name, key string, nested bool, line int) {
	if r.warned[name] || len(r.warned) > maxWarnedKeys {
		return
	}
	r.warn(name, line, unknownHint(name, key, nested))
}

func (r *ndjsonReader) warn(name string, line int, hint string) {
	if r.warned[name] || len(r.warned) > maxWarnedKeys {
		return
	}
	r.warned[name] = true
	switch {
	case len(r.warned) > maxWarnedKeys:
		r.warnings = append(r.warnings, fmt.Sprintf("more than %d keys are not mapped to any field; not listing the rest", maxWarnedKeys))
	case hint != "":
		r.warnings = append(r.warnings, fmt.Sprintf("key %q (line %d) is not mapped; %s", name, line, hint))
	default:
		r.warnings = append(r.warnings, fmt.Sprintf("ignoring key %q (first on line %d): not mapped to any field", name, line))
	}
}

// skipValue reads past one value of any type.
func (o *object) skipValue() bool {
	depth := 0
	for {
		tok, err := o.dec.Token()
		if err != nil {
			o.syntax(err)
			return false
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return true
		}
	}
}

func (o *object) duplicate(field, prev, key string) {
	if prev == key {
		o.fail(field, fmt.Sprintf("duplicate key %q", key))
	} else {
		o.fail(field, fmt.Sprintf("set twice in one object, by keys %q and %q", prev, key))
	}
}

func (o *object) fail(field, reason string) {
	o.rec.Err = o.r.rowErr(o.rec, field, reason)
}

// syntax reports a line that is not valid JSON. The decoder's Token
// errors do not give reliable columns, so the line is checked again whole
// (this path is rare): json.Unmarshal's SyntaxError does.
func (o *object) syntax(err error) {
	var raw json.RawMessage
	var se *json.SyntaxError
	switch uerr := json.Unmarshal(o.line, &raw); {
	case errors.As(uerr, &se) && strings.HasPrefix(se.Error(), "unexpected end"):
		o.fail("", "invalid JSON: the line ends before the JSON value does")
	case errors.As(uerr, &se):
		o.fail("", fmt.Sprintf("invalid JSON at column %d: %v", se.Offset, se))
	default:
		o.fail("", "invalid JSON: "+err.Error())
	}
}

// kind names a JSON token's type for messages.
func kind(tok json.Token) string {
	switch tok.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	if tok == json.Delim('[') {
		return "array"
	}
	return "object"
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// badText explains why raw JSON text would not decode to the characters it
// holds: invalid UTF-8, or a \u escape of an unpaired UTF-16 surrogate. It
// returns "" for good text.
func badText(raw []byte) string {
	if !utf8.Valid(raw) {
		return "not valid UTF-8; save the file as UTF-8"
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		if raw[i+1] != 'u' {
			i++ // another escape: skip its second byte
			continue
		}
		c, ok := hex4(raw[i+2:])
		switch {
		case !ok:
		case c >= 0xD800 && c < 0xDC00:
			if len(raw) >= i+12 && raw[i+6] == '\\' && raw[i+7] == 'u' {
				if c2, ok := hex4(raw[i+8:]); ok && c2 >= 0xDC00 && c2 < 0xE000 {
					i += 11
					continue
				}
			}
			return "holds a \\u escape of an unpaired UTF-16 surrogate, which is not a character"
		case c >= 0xDC00 && c < 0xE000:
			return "holds a \\u escape of an unpaired UTF-16 surrogate, which is not a character"
		}
		i++
	}
	return ""
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var c rune
	for _, x := range b[:4] {
		switch {
		case '0' <= x && x <= '9':
			c = c<<4 | rune(x-'0')
		case 'a' <= x && x <= 'f':
			c = c<<4 | rune(x-'a'+10)
		case 'A' <= x && x <= 'F':
			c = c<<4 | rune(x-'A'+10)
		default:
			return 0, false
		}
	}
	return c, true
}
