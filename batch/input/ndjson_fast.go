package input

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// The fast path for NDJSON lines.
//
// Nearly every line of a real file has one shape: an object whose values
// are strings or nulls (an id perhaps a whole number), with perhaps a nested
// billing_address object of the same, and perhaps a few keys the mapping
// does not know. fastDecoder reads exactly that shape by hand, in one pass
// over the line, without encoding/json: no Decoder per line, no token per
// value, one string allocation per record for all its texts, key names
// resolved once per reader and remembered.
//
// Subtleness ahead! It must give what the decoder in ndjson.go gives, to the
// byte. So it accepts only lines it can read with no doubt, and on anything
// else (any syntax error, a value of the wrong type, a duplicate key,
// invalid UTF-8, an unpaired surrogate escape, an escaped key, nesting
// deeper than fastMaxDepth, an unmapped key under Strict) it gives up
// having changed nothing but the warnings, and the line is decoded again
// from the start by the decoder, which finds the problem and words it. The
// warnings it gave are the ones the decoder would give for the same keys in
// the same order (the decoder reads members in order and stops no earlier
// than the fast path does), and a key is warned about only once, so giving
// up never doubles or reorders them. The tests run every line of the corpus
// and random mutations of it through both and require the same records and
// warnings.

const (
	// fastMaxDepth bounds the nesting the fast path follows inside the
	// value of an unmapped key; deeper values go to the decoder.
	fastMaxDepth = 16
	// fastMaxKeys bounds how many distinct key names are remembered (per
	// level), so that memory does not grow with a file whose keys are all
	// different; others are resolved each time they are met.
	fastMaxKeys = 256
	// fastMaxKeyLen is the longest key remembered (a key may be as long
	// as a line).
	fastMaxKeyLen = 128
	// fastMaxBuf is the most buffer kept from one line to the next.
	fastMaxBuf = 64 << 10
	// fastSlots is how many members per object are remembered by position:
	// rows usually repeat the keys of the row before in the same order,
	// and comparing a key with the one at its position last time is cheaper
	// than a map lookup.
	fastSlots = 16
)

// keyInfo is what one key of an object means to the reader.
type keyInfo struct {
	raw  string // the key as written (the fast path reads no escaped key)
	name string // the name mapped: raw, or "billing_address."+raw inside it
	f    Field  // the field name maps to, when ok (skip: ignored on purpose)
	ok   bool   // name maps to f
	ba   bool   // not mapped, at the top level, and names billing_address
}

// fastVal is one field's value in the line: its state, and for Set where
// its text is: line[a:b], or buf[a:b] when it held an escape.
type fastVal struct {
	state ValueState
	esc   bool
	a, b  int
}

// fastDecoder is the state of the fast path. One belongs to each
// ndjsonReader and is reused from line to line.
type fastDecoder struct {
	r      *ndjsonReader
	line   []byte
	i      int    // the next byte of line to read
	idOnly bool   // read no further than the id, keep no other value
	done   bool   // idOnly: the id has been read
	seen   uint32 // the fields met (bit 1<<f)
	vset   uint32 // the fields with a value in vals (Set or Clear)
	ba     bool   // a billing_address key was met
	vals   [NumFields]fastVal
	buf    []byte   // the decoded texts of the line's values with escapes
	names  []string // the unmapped keys met in the line, for duplicates
	keys   [2]map[string]*keyInfo
	slots  [2][fastSlots]*keyInfo
}

// decode fills rec's values from line when line has the usual shape, and
// reports whether it did. When it reports false rec is unchanged. With
// idOnly it fills only the id (Values[ID] as the decoder would leave it),
// stops reading once it has it, and gives no warnings.
func (d *fastDecoder) decode(r *ndjsonReader, rec *Record, line []byte, idOnly bool) bool {
	d.r, d.line, d.i, d.idOnly, d.done, d.seen, d.vset, d.ba = r, line, 0, idOnly, false, 0, 0, false
	if cap(d.buf) > fastMaxBuf {
		d.buf = nil // the last line was huge: do not keep its buffer
	}
	d.buf, d.names = d.buf[:0], d.names[:0]
	d.ws()
	if !d.eat('{') || !d.members(rec.Line, false) {
		return false
	}
	if !d.done {
		d.ws()
		if d.i != len(d.line) {
			return false // more after the object
		}
	}
	d.fill(rec)
	d.r, d.line = nil, nil
	return true
}

// fill sets rec's values, all their texts in one allocation: a copy of the
// whole line when the texts are most of it and hold no escape (one copy
// instead of one per value), else the texts back to back.
func (d *fastDecoder) fill(rec *Record) {
	total, esc := 0, false
	for m := d.vset; m != 0; m &= m - 1 {
		v := &d.vals[bits.TrailingZeros32(m)]
		total += v.b - v.a
		esc = esc || v.esc
	}
	var text string
	switch {
	case total == 0:
	case !esc && 2*total >= len(d.line):
		text = string(d.line)
	default:
		var b strings.Builder
		b.Grow(total)
		for m := d.vset; m != 0; m &= m - 1 {
			v := &d.vals[bits.TrailingZeros32(m)]
			src := d.line
			if v.esc {
				src = d.buf
			}
			a := b.Len()
			b.Write(src[v.a:v.b])
			v.a, v.b = a, b.Len()
		}
		text = b.String()
	}
	for m := d.vset; m != 0; m &= m - 1 {
		f := bits.TrailingZeros32(m)
		if v := &d.vals[f]; v.state == Clear {
			rec.Values[f] = Value{State: Clear}
		} else {
			rec.Values[f] = Value{State: Set, Text: text[v.a:v.b]}
		}
	}
}

// members reads an object's members up to and including its '}', the '{'
// read already; nested is true inside billing_address.
func (d *fastDecoder) members(line int, nested bool) bool {
	d.ws()
	if d.i < len(d.line) && d.line[d.i] == '}' {
		d.i++
		return true
	}
	for pos := 0; ; pos++ {
		k, ok := d.member(nested, pos)
		if !ok {
			return false
		}
		d.ws()
		if !d.eat(':') {
			return false
		}
		d.ws()
		switch {
		case k.ok && k.f == skip:
			if !d.skipValue(0) {
				return false
			}
		case k.ok:
			if !d.field(k.f) {
				return false
			}
		case k.ba:
			if d.ba {
				return false // a second billing_address
			}
			d.ba = true
			switch {
			case d.literal("null"):
			case d.eat('{'):
				if !d.members(line, true) {
					return false
				}
			default:
				return false
			}
		default:
			if d.r.opts.Strict {
				return false
			}
			for _, n := range d.names {
				if n == k.name {
					return false
				}
			}
			d.names = append(d.names, k.name)
			if !d.idOnly {
				d.r.noteUnknown(k.name, k.raw, nested, line)
			}
			if !d.skipValue(0) {
				return false
			}
		}
		if d.done {
			return true
		}
		d.ws()
		switch {
		case d.eat(','):
			d.ws()
		case d.eat('}'):
			return true
		default:
			return false
		}
	}
}

// field reads the value of a key mapped to f: a string, null, or for the
// id a whole number.
func (d *fastDecoder) field(f Field) bool {
	bit := uint32(1) << uint(f)
	if d.seen&bit != 0 {
		return false // set twice
	}
	d.seen |= bit
	if d.i >= len(d.line) {
		return false
	}
	keep := !d.idOnly || f == ID
	switch c := d.line[d.i]; {
	case c == '"':
		v, ok := d.str(keep)
		switch {
		case !ok:
			return false
		case keep && v.a == v.b:
			d.vals[f] = fastVal{state: Clear}
			d.vset |= bit
		case keep:
			d.vals[f] = v
			d.vset |= bit
		}
	case c == 'n':
		if !d.literal("null") {
			return false
		}
	case f == ID && '0' <= c && c <= '9':
		// A whole number: 0, or digits not starting with 0 (JSON allows
		// no leading zero). encoding/json reads a number as far as its
		// grammar goes, so a '.', 'e' or 'E' next makes it another number
		// (or a syntax error); anything else ends it (and the caller
		// checks that what follows may follow a value: "01" is the
		// number 0 and then a syntax error).
		start := d.i
		d.i++
		for c != '0' && d.i < len(d.line) && '0' <= d.line[d.i] && d.line[d.i] <= '9' {
			d.i++
		}
		if d.i < len(d.line) && (d.line[d.i] == '.' || d.line[d.i] == 'e' || d.line[d.i] == 'E') {
			return false
		}
		d.vals[f] = fastVal{state: Set, a: start, b: d.i}
		d.vset |= bit
	default:
		return false
	}
	if f == ID && d.idOnly {
		d.done = true
	}
	return true
}

// member reads the key of the member at position pos of an object and says
// what it means: from the slot of its position when the key is the one
// there (a slot's key holds no quote or escape, so the line holding it in
// quotes is that key), else from the reader's memory of keys, resolving it
// through the mapping the first time.
func (d *fastDecoder) member(nested bool, pos int) (*keyInfo, bool) {
	lv := 0
	if nested {
		lv = 1
	}
	if pos < fastSlots {
		if s := d.slots[lv][pos]; s != nil {
			if end := d.i + 1 + len(s.raw); end < len(d.line) && d.line[d.i] == '"' &&
				d.line[end] == '"' && string(d.line[d.i+1:end]) == s.raw {
				d.i = end + 1
				return s, true
			}
		}
	}
	key, ok := d.key()
	if !ok {
		return nil, false
	}
	k, found := d.keys[lv][string(key)]
	if !found {
		k = d.r.keyInfo(string(key), nested)
		if len(key) > fastMaxKeyLen {
			return k, true // not worth remembering
		}
		if d.keys[lv] == nil {
			d.keys[lv] = make(map[string]*keyInfo)
		}
		if len(d.keys[lv]) < fastMaxKeys {
			d.keys[lv][k.raw] = k
		}
	}
	if pos < fastSlots {
		d.slots[lv][pos] = k
	}
	return k, true
}

// keyInfo resolves a key through the mapping exactly as the decoder does.
func (r *ndjsonReader) keyInfo(key string, nested bool) *keyInfo {
	name := key
	if nested {
		name = "billing_address." + key
	}
	f, ok := r.lk.find(name)
	return &keyInfo{raw: key, name: name, f: f, ok: ok, ba: !ok && !nested && normName(key) == "billing_address"}
}

// key reads an object key: a string with no escape in it (an escaped key
// goes to the decoder). The bytes returned are the line's.
func (d *fastDecoder) key() ([]byte, bool) {
	if !d.eat('"') {
		return nil, false
	}
	start := d.i
	for j := start; j < len(d.line); {
		switch c := d.line[j]; {
		case c == '"':
			d.i = j + 1
			return d.line[start:j], true
		case c == '\\', c < 0x20:
			return nil, false
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(d.line[j:])
			if r == utf8.RuneError && size == 1 {
				return nil, false
			}
			j += size
		}
	}
	return nil, false
}

// str reads a string value, the opening quote at d.i, and says where its
// text is, decoded as encoding/json decodes it: in the line when it holds
// no escape, else (with keep) decoded into buf. Invalid UTF-8 and escapes
// of unpaired surrogates, which encoding/json would turn into U+FFFD
// silently, are left to the decoder (they make the row invalid).
func (d *fastDecoder) str(keep bool) (fastVal, bool) {
	line := d.line
	start := d.i + 1 // the text not yet appended to buf
	v := fastVal{state: Set, a: start}
	for j := start; j < len(line); {
		for j+8 <= len(line) {
			m := special8(binary.LittleEndian.Uint64(line[j:]))
			if m != 0 {
				j += bits.TrailingZeros64(m) / 8 // the first special byte
				break
			}
			j += 8
		}
		if j >= len(line) {
			break
		}
		c := line[j]
		switch {
		case c == '"':
			if v.esc && keep {
				d.buf = append(d.buf, line[start:j]...)
				v.b = len(d.buf)
			} else if !v.esc {
				v.b = j
			}
			d.i = j + 1
			return v, true
		case c == '\\':
			if keep {
				if !v.esc {
					v.a = len(d.buf)
				}
				d.buf = append(d.buf, line[start:j]...)
			}
			v.esc = true
			n, ok := d.escape(line[j:], keep)
			if !ok {
				return fastVal{}, false
			}
			j += n
			start = j
		case c < 0x20:
			return fastVal{}, false // a control character must be escaped
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(line[j:])
			if r == utf8.RuneError && size == 1 {
				return fastVal{}, false
			}
			j += size
		}
	}
	return fastVal{}, false // the line ends inside the string
}

// special8 finds, among the 8 bytes in x (little-endian: the first byte
// lowest), those a string does not copy as they are: '"', '\\', a control
// character below 0x20, and any byte of 0x80 or more. It returns a mask
// with the high bit of the first such byte set (and perhaps of later ones),
// or 0 when there is none, testing all eight at once. A byte of 0x80 or
// more is marked by its own high bit. The borrow tricks mark the others
// (Hacker's Delight, searching a word for a byte value): (v - 0x01…) &^ v
// marks a byte of v that is 0, and (x - 0x20…) &^ x a byte below 0x20. A
// borrow runs only upward, from a byte that is truly marked, so the lowest
// mark is always right, and a byte of 0x80 or more starts no borrow.
func special8(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	return (x | (x-ones*0x20)&^x | (q-ones)&^q | (b-ones)&^b) & highs
}

// escape decodes the escape at the start of s (at its backslash), appending
// the character with keep, and returns its length.
func (d *fastDecoder) escape(s []byte, keep bool) (int, bool) {
	if len(s) < 2 {
		return 0, false
	}
	var b byte
	switch s[1] {
	case '"', '\\', '/':
		b = s[1]
	case 'b':
		b = '\b'
	case 'f':
		b = '\f'
	case 'n':
		b = '\n'
	case 'r':
		b = '\r'
	case 't':
		b = '\t'
	case 'u':
		r, ok := hex4(s[2:])
		if !ok {
			return 0, false
		}
		n := 6
		switch {
		case r >= 0xD800 && r < 0xDC00:
			// A high surrogate must be followed by the escape of a low one;
			// the pair is one character.
			if len(s) < 12 || s[6] != '\\' || s[7] != 'u' {
				return 0, false
			}
			r2, ok := hex4(s[8:])
			if !ok || r2 < 0xDC00 || r2 >= 0xE000 {
				return 0, false
			}
			r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
			n = 12
		case r >= 0xDC00 && r < 0xE000:
			return 0, false
		}
		if keep {
			d.buf = utf8.AppendRune(d.buf, r)
		}
		return n, true
	default:
		return 0, false
	}
	if keep {
		d.buf = append(d.buf, b)
	}
	return 2, true
}

// skipValue reads past one JSON value of any type, checking it as the
// decoder would (an unmapped key's value).
func (d *fastDecoder) skipValue(depth int) bool {
	if d.i >= len(d.line) {
		return false
	}
	switch c := d.line[d.i]; {
	case c == '"':
		_, ok := d.str(false)
		return ok
	case c == 'n':
		return d.literal("null")
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == '-', '0' <= c && c <= '9':
		return d.number()
	case c == '{', c == '[':
		if depth >= fastMaxDepth {
			return false
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		d.i++
		d.ws()
		if d.eat(end) {
			return true
		}
		for {
			if c == '{' {
				if d.i >= len(d.line) || d.line[d.i] != '"' {
					return false
				}
				if _, ok := d.str(false); !ok {
					return false
				}
				d.ws()
				if !d.eat(':') {
					return false
				}
				d.ws()
			}
			if !d.skipValue(depth + 1) {
				return false
			}
			d.ws()
			switch {
			case d.eat(','):
				d.ws()
			case d.eat(end):
				return true
			default:
				return false
			}
		}
	}
	return false
}

// number reads past a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *fastDecoder) number() bool {
	d.eat('-')
	switch {
	case d.eat('0'):
	case d.i < len(d.line) && '1' <= d.line[d.i] && d.line[d.i] <= '9':
		d.digits()
	default:
		return false
	}
	if d.eat('.') && !d.digits() {
		return false
	}
	if d.eat('e') || d.eat('E') {
		if !d.eat('+') {
			d.eat('-')
		}
		if !d.digits() {
			return false
		}
	}
	return true
}

// digits reads past digits, reporting whether there was one.
func (d *fastDecoder) digits() bool {
	start := d.i
	for d.i < len(d.line) && '0' <= d.line[d.i] && d.line[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}

// literal reads past s if the line goes on with it.
func (d *fastDecoder) literal(s string) bool {
	if len(d.line)-d.i >= len(s) && string(d.line[d.i:d.i+len(s)]) == s {
		d.i += len(s)
		return true
	}
	return false
}

// eat reads past c if it is the next byte.
func (d *fastDecoder) eat(c byte) bool {
	if d.i < len(d.line) && d.line[d.i] == c {
		d.i++
		return true
	}
	return false
}

// ws reads past JSON white space.
func (d *fastDecoder) ws() {
	for d.i < len(d.line) {
		switch d.line[d.i] {
		case ' ', '\t', '\r', '\n':
			d.i++
		default:
			return
		}
	}
}
