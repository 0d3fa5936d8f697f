package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// invalidUTF8Note is added to the error of a line that is not valid UTF-8.
const invalidUTF8Note = " (line is not valid UTF-8: " + InputMember + " shows it with each invalid byte replaced by U+FFFD)"

// FailedNDJSON writes one line of failed.ndjson: the input line (with or
// without its line break) with msg as its "juicebatch_error" member, as the
// package doc says. It returns an error wrapping [ErrFormat] on a CSV
// report. line is not modified.
func (w *Writer) FailedNDJSON(line []byte, msg string) error {
	if w.closed {
		return fmt.Errorf("report: write %s: %w", FailedNDJSONName, ErrClosed)
	}
	if w.format != NDJSON {
		return fmt.Errorf("report: write %s: %w: ndjson line in a %v report", FailedNDJSONName, ErrFormat, w.format)
	}
	w.jsonBuf.Reset()
	w.members = appendFailedLine(&w.jsonBuf, w.members[:0], line, msg)
	w.jsonBuf.WriteByte('\n')
	if _, err := w.failedBuf.Write(w.jsonBuf.Bytes()); err != nil {
		return fmt.Errorf("report: write %s: %w", FailedNDJSONName, err)
	}
	return nil
}

// member is the position of one top-level member of a JSON object: the key
// string (quotes included) is b[keyStart:keyEnd], the member ends at valEnd.
type member struct {
	keyStart, keyEnd, valEnd int
}

// appendFailedLine appends to buf the failed.ndjson object for line, without
// a line break. ms is scratch space, returned for reuse.
func appendFailedLine(buf *bytes.Buffer, ms []member, line []byte, msg string) []member {
	b := bytes.TrimPrefix(line, []byte("\uFEFF"))
	b = bytes.Trim(b, " \t\r\n")
	if !utf8.Valid(b) {
		appendFallback(buf, line, msg+invalidUTF8Note)
		return ms
	}
	if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
		appendFallback(buf, line, msg)
		return ms
	}
	ms = scanObject(b, ms)

	// Subtleness ahead: the object is rebuilt from slices of the original, so
	// every kept member keeps its bytes, and the separator written before a
	// kept member is the one that preceded it in the original.
	start := buf.Len()
	kept := 0
	if len(ms) == 0 {
		end := len(b) - 1 // the closing brace; b is a valid object
		buf.Write(b[:end])
		appendMember(buf, ErrorColumn, msg)
		buf.Write(b[end:])
	} else {
		buf.Write(b[:ms[0].keyStart])
		for i, m := range ms {
			if isErrorKey(b[m.keyStart:m.keyEnd]) {
				continue
			}
			if kept > 0 {
				buf.Write(b[ms[i-1].valEnd:m.keyStart])
			}
			buf.Write(b[m.keyStart:m.valEnd])
			kept++
		}
		if kept > 0 {
			buf.WriteByte(',')
		}
		appendMember(buf, ErrorColumn, msg)
		buf.Write(b[ms[len(ms)-1].valEnd:])
	}
	// Line breaks can only be white space between tokens here (JSON strings
	// cannot hold raw control characters): make the object one line.
	out := buf.Bytes()[start:]
	for i, c := range out {
		if c == '\n' || c == '\r' {
			out[i] = ' '
		}
	}
	return ms
}

// appendFallback appends the object written for a line that is not a JSON
// object or not valid UTF-8.
func appendFallback(buf *bytes.Buffer, line []byte, msg string) {
	line = bytes.TrimRight(line, "\r\n")
	buf.WriteByte('{')
	appendMember(buf, ErrorColumn, msg)
	buf.WriteByte(',')
	appendMember(buf, InputMember, string(line))
	buf.WriteByte('}')
}

// appendMember appends "key":value with value as a JSON string.
func appendMember(buf *bytes.Buffer, key, value string) {
	appendString(buf, key)
	buf.WriteByte(':')
	appendString(buf, value)
}

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does; '<', '>' and '&' are left readable.
func appendString(buf *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf.WriteByte('\\')
				buf.WriteByte(c)
			case c == '\n':
				buf.WriteString(`\n`)
			case c == '\r':
				buf.WriteString(`\r`)
			case c == '\t':
				buf.WriteString(`\t`)
			case c < 0x20 || c == 0x7f:
				buf.WriteString(`\u00`)
				buf.WriteByte(hex[c>>4])
				buf.WriteByte(hex[c&0xf])
			default:
				buf.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf.WriteString(`\ufffd`)
		case r == '\u2028' || r == '\u2029':
			// Valid JSON, but they end lines in JavaScript and some editors.
			fmt.Fprintf(buf, `\u%04x`, r)
		default:
			buf.WriteString(s[i : i+size])
		}
		i += size
	}
	buf.WriteByte('"')
}

// isErrorKey reports whether a raw JSON key string (quotes included) names
// juicebatch_error.
func isErrorKey(raw []byte) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return isErrorName(string(raw[1 : len(raw)-1]))
	}
	var k string
	if err := json.Unmarshal(raw, &k); err != nil {
		return false
	}
	return isErrorName(k)
}

// scanObject appends to ms the top-level members of b, which must be a valid
// JSON object with no surrounding white space (json.Valid checked it, so the
// scan need not).
func scanObject(b []byte, ms []member) []member {
	i := skipSpace(b, 1)
	for i < len(b) && b[i] != '}' {
		var m member
		m.keyStart = i
		i = skipString(b, i)
		m.keyEnd = i
		i = skipSpace(b, i)
		i = skipSpace(b, i+1) // ':'
		i = skipValue(b, i)
		m.valEnd = i
		ms = append(ms, m)
		i = skipSpace(b, i)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return ms
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}
