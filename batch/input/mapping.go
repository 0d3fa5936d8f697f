package input

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// skip is the mapping target "-": the column is ignored on purpose, so it
// is neither warned about nor fatal under Strict.
const skip Field = -1

// errorColumn is the column/key that failed.csv and failed.ndjson add. It is
// ignored silently so that a fixed failed file can be fed straight back.
const errorColumn = "juicebatch_error"

// Mapping maps the names of an input's columns (CSV headers, NDJSON keys) to
// canonical fields. Names are matched ignoring case, surrounding white space
// and a byte-order mark. Canonical names always map to themselves unless an
// entry says otherwise. The zero value holds no entries: canonical names
// only.
//
// A Mapping is built with LoadMapping and AddColumn before the run and only
// read afterwards; reading it from several goroutines is safe.
type Mapping struct {
	cols map[string]Field // normalized column name → field (or skip)
}

// LoadMapping reads a JSON object of "column": "field" entries, such as
// {"Record ID": "id", "Street Address": "billing_address.line1"}. A target
// of "-" ignores the column on purpose. Errors name the file and the entry:
// an unknown target lists the valid names and suggests the nearest one; a
// column listed twice is an error.
func LoadMapping(path string) (Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Mapping{}, fmt.Errorf("read mapping: %w", err)
	}
	m := Mapping{cols: make(map[string]Field)}
	dec := json.NewDecoder(bytes.NewReader(data))
	notObject := fmt.Errorf("mapping %s: want a JSON object of \"column\": \"field\" entries, such as {\"Record ID\": \"id\"}", path)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return Mapping{}, notObject
	}
	seen := make(map[string]string) // normalized → the entry as written
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Mapping{}, fmt.Errorf("mapping %s: %w", path, err)
		}
		col := tok.(string) // object keys are always strings
		tok, err = dec.Token()
		if err != nil {
			return Mapping{}, fmt.Errorf("mapping %s: %w", path, err)
		}
		target, ok := tok.(string)
		if !ok {
			return Mapping{}, fmt.Errorf("mapping %s: entry %q: the target must be a field name in quotes, such as \"email\"", path, col)
		}
		n := normName(col)
		if prev, dup := seen[n]; dup {
			return Mapping{}, fmt.Errorf("mapping %s: entry %q: column listed twice (also as %q)", path, col, prev)
		}
		seen[n] = col
		if err := m.set(col, target); err != nil {
			return Mapping{}, fmt.Errorf("mapping %s: entry %q: %w", path, col, err)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return Mapping{}, notObject
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Mapping{}, fmt.Errorf("mapping %s: unexpected data after the object", path)
	}
	return m, nil
}

// AddColumn adds one --column entry, "COLUMN=FIELD" (split at the last
// "="), such as "Record ID=id"; FIELD "-" ignores the column. It replaces an
// earlier entry for the same column, so --column overrides --map.
func (m *Mapping) AddColumn(spec string) error {
	i := strings.LastIndexByte(spec, '=')
	if i < 0 {
		return fmt.Errorf("--column %q: want COLUMN=FIELD, such as \"Record ID=id\"", spec)
	}
	if err := m.set(spec[:i], spec[i+1:]); err != nil {
		return fmt.Errorf("--column %q: %w", spec, err)
	}
	return nil
}

func (m *Mapping) set(col, target string) error {
	n := normName(col)
	if n == "" {
		return errors.New("empty column name")
	}
	f, err := parseTarget(target)
	if err != nil {
		return err
	}
	if m.cols == nil {
		m.cols = make(map[string]Field)
	}
	m.cols[n] = f
	return nil
}

func parseTarget(s string) (Field, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "-" {
		return skip, nil
	}
	if f, ok := FieldByName(t); ok {
		return f, nil
	}
	if t == "" {
		return 0, errors.New(`empty field name (use "-" to ignore the column)`)
	}
	names := make([]string, NumFields)
	for f := range NumFields {
		names[f] = f.String()
	}
	hint := ""
	if f, ok := suggest(s, nil); ok {
		hint = fmt.Sprintf("did you mean %s? ", f)
	}
	return 0, fmt.Errorf("unknown field %q; %svalid fields: %s (or \"-\" to ignore the column)", s, hint, strings.Join(names, ", "))
}

// Digest returns a stable digest of the entries (hex SHA-256), the same for
// the same entries in any order. It is part of a run's identity: the same
// file read through another mapping is another run.
func (m Mapping) Digest() string {
	keys := make([]string, 0, len(m.cols))
	for k := range m.cols {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	io.WriteString(h, "juicebatch mapping v1\n")
	for _, k := range keys {
		target := "-"
		if f := m.cols[k]; f != skip {
			target = f.String()
		}
		fmt.Fprintf(h, "%q=%q\n", k, target)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// resolve returns the field a column name maps to; ok is false for a name
// that maps to nothing.
func (m Mapping) resolve(name string) (f Field, ok bool) {
	n := normName(name)
	if f, ok := m.cols[n]; ok {
		return f, true
	}
	return FieldByName(n)
}

// lookup is a Mapping flattened for the per-key work of the NDJSON reader:
// exact names first (no allocation), then normalized names.
type lookup map[string]Field

func (m Mapping) lookup() lookup {
	l := make(lookup, int(NumFields)+len(m.cols))
	for f := range NumFields {
		l[f.String()] = f
	}
	for k, f := range m.cols {
		l[k] = f
	}
	l[errorColumn] = skip
	return l
}

func (l lookup) find(name string) (Field, bool) {
	if f, ok := l[name]; ok {
		return f, true
	}
	f, ok := l[normName(name)]
	return f, ok
}

// normName is how column names are compared: case, surrounding white space
// and byte-order marks do not count.
func normName(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' })
	return strings.ToLower(s)
}

// suggest finds the field a misspelt name most likely means: the name and
// the candidates (each canonical name and its last segment, e.g. "zip_code",
// "line1") are compared lower-cased with everything but letters and digits
// removed, and a candidate is close enough within an edit distance (with
// transpositions) that grows with its length: 0 up to 3 characters, 1 up
// to 5, else 2 (and the digits must agree). Fields in taken are not suggested (a column already maps to
// them). It reports false when nothing is close.
func suggest(name string, taken *[NumFields]bool) (Field, bool) {
	n := alnum(name)
	if n == "" {
		return 0, false
	}
	best, bestD := Field(0), -1
	for f := range NumFields {
		if taken != nil && taken[f] {
			continue
		}
		full := f.String()
		last := full[strings.LastIndexByte(full, '.')+1:]
		for _, c := range [2]string{alnum(full), alnum(last)} {
			if digits(c) != digits(n) {
				continue // "line 3" is not a misspelt line1
			}
			limit := 2
			if l := utf8.RuneCountInString(c); l <= 3 {
				limit = 0
			} else if l <= 5 {
				limit = 1
			}
			if d := editDistance(n, c, limit); d <= limit && (bestD < 0 || d < bestD) {
				best, bestD = f, d
			}
		}
	}
	return best, bestD >= 0
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

func alnum(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// editDistance is the optimal-string-alignment distance between a and b
// (insertions, deletions, substitutions and adjacent transpositions), or
// limit+1 when it is certainly larger than limit.
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	// Three rows of the dynamic-programming table suffice.
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
