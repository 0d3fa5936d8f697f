package input

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Format is an input file format.
type Format int

// The input formats.
const (
	CSV    Format = iota // RFC 4180 with a header line
	NDJSON               // one JSON object a line (also called JSON Lines)
)

// String returns "csv" or "ndjson".
func (f Format) String() string {
	switch f {
	case CSV:
		return "csv"
	case NDJSON:
		return "ndjson"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// DetectFormat picks the format of the input called name. A non-empty flag
// (the --format value: "csv", "ndjson" or "jsonl", any case) wins; otherwise
// the extension decides (.csv, .ndjson, .jsonl, any case, each perhaps
// followed by .gz for a gzip-compressed file). Stdin ("-") and
// other extensions give an error matching ErrFormatNeeded; a caller that
// prefers to guess for stdin can use Sniff.
func DetectFormat(name, flag string) (Format, error) {
	if flag != "" {
		switch strings.ToLower(strings.TrimSpace(flag)) {
		case "csv":
			return CSV, nil
		case "ndjson", "jsonl":
			return NDJSON, nil
		}
		return 0, &detailError{kind: ErrFormatNeeded, msg: fmt.Sprintf("unknown format %q: want csv, ndjson or jsonl", flag)}
	}
	if name == "-" {
		return 0, &detailError{kind: ErrFormatNeeded, msg: "cannot tell the format of stdin: add --format csv or --format ndjson"}
	}
	base := name
	if IsGzipName(name) {
		base = name[:len(name)-len(".gz")]
	}
	switch ext := strings.ToLower(filepath.Ext(base)); ext {
	case ".csv":
		return CSV, nil
	case ".ndjson", ".jsonl":
		return NDJSON, nil
	case ".json":
		return 0, &detailError{kind: ErrFormatNeeded, msg: fmt.Sprintf("cannot tell the format of %s: a .json file is not read; if it holds one JSON object a line, add --format ndjson", name)}
	default:
		return 0, &detailError{kind: ErrFormatNeeded, msg: fmt.Sprintf("cannot tell the format of %s from its extension (want .csv, .ndjson or .jsonl, perhaps with .gz after it): add --format csv or --format ndjson", name)}
	}
}

// Sniff guesses the format from the first bytes of an input (for stdin,
// where there is no extension): a first non-blank byte '{' means NDJSON; a
// first line that is valid UTF-8 and holds a comma means CSV. It reports
// false when it cannot tell (an empty prefix, a JSON array, one column).
func Sniff(prefix []byte) (Format, bool) {
	p := bytes.TrimPrefix(prefix, utf8BOM)
	p = bytes.TrimLeft(p, " \t\r\n")
	if len(p) == 0 || hasUTF16BOM(prefix) {
		return 0, false
	}
	if p[0] == '{' {
		return NDJSON, true
	}
	line := p
	if i := bytes.IndexByte(p, '\n'); i >= 0 {
		line = p[:i]
	} else {
		// The prefix ends mid-line: don't fail on a rune cut in half.
		for k := 1; k < utf8.UTFMax && !utf8.Valid(line); k++ {
			line = line[:len(line)-1]
		}
	}
	if p[0] != '[' && utf8.Valid(line) && bytes.IndexByte(line, ',') >= 0 {
		return CSV, true
	}
	return 0, false
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func hasUTF16BOM(b []byte) bool {
	return bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF})
}

// prepare checks the first bytes of r for a byte-order mark: a UTF-16 (or
// UTF-32) BOM is an error, one UTF-8 BOM is dropped. It returns a reader of
// the rest and whether the input is empty.
func prepare(r io.Reader, name string) (io.Reader, bool, error) {
	var b [3]byte
	n, err := io.ReadFull(r, b[:])
	// io.ReadFull's own short-input results, compared as values: a gzip
	// stream cut off in its first bytes fails with an error that wraps
	// io.ErrUnexpectedEOF, and that is no short input but a broken file.
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, false, readErr(name, err)
	}
	head := b[:n]
	if hasUTF16BOM(head) {
		return nil, false, fileErr(name, 0, ErrEncoding, "file is UTF-16; save it as UTF-8")
	}
	head = bytes.TrimPrefix(head, utf8BOM)
	if n < len(b) { // the whole input was shorter than 3 bytes
		return bytes.NewReader(head), len(head) == 0, nil
	}
	return io.MultiReader(bytes.NewReader(head), r), false, nil
}
