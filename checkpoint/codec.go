package checkpoint

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"time"
)

// Encoding versions: the first byte of every record. A record with another
// version is refused as ErrNotState ("written by another juicebatch").
const (
	rowEncoding     = 1
	runEncoding     = 1
	appliedEncoding = 1
	recentEncoding  = 1
)

// enc appends a record to b. Every field is a varint, a length-prefixed byte
// string, a fixed 32-byte digest or a time (see putTime).
type enc struct{ b []byte }

func (e *enc) byte(v byte)       { e.b = append(e.b, v) }
func (e *enc) uvarint(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) varint(v int64)    { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) digest(d [32]byte) { e.b = append(e.b, d[:]...) }

func (e *enc) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// time writes 0 for the zero time, else 1, the Unix seconds (varint) and the
// nanoseconds (uvarint). It keeps nanoseconds and any year, unlike UnixNano.
func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.byte(0)
		return
	}
	e.byte(1)
	e.varint(t.Unix())
	e.uvarint(uint64(t.Nanosecond()))
}

// dec reads what enc wrote. It never panics: the first problem is kept in err
// and every later read returns a zero value.
type dec struct {
	b    []byte
	what string
	err  error
}

func (d *dec) fail(reason string) {
	if d.err == nil {
		d.err = &corruptRecord{what: d.what, reason: reason}
	}
	d.b = nil
}

func (d *dec) byte() byte {
	if len(d.b) < 1 {
		d.fail("short record")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) int() int { return int(d.varint()) }

// str copies the bytes out: values from bbolt are only valid inside their
// transaction.
func (d *dec) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("string runs past the end")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *dec) digest() (out [32]byte) {
	if len(d.b) < len(out) {
		d.fail("short digest")
		return out
	}
	copy(out[:], d.b)
	d.b = d.b[len(out):]
	return out
}

func (d *dec) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		sec := d.varint()
		nsec := d.uvarint()
		if nsec >= uint64(time.Second) {
			d.fail("bad nanoseconds")
			return time.Time{}
		}
		return time.Unix(sec, int64(nsec)).UTC()
	default:
		d.fail("bad time marker")
		return time.Time{}
	}
}

func (d *dec) version(want byte) {
	if v := d.byte(); d.err == nil && v != want {
		d.fail(fmt.Sprintf("encoding version %d, this juicebatch reads %d (written by another juicebatch version?)", v, want))
	}
}

// end reports the first error, or trailing garbage.
func (d *dec) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	return d.err
}

// rowKey is a row number as 8 big-endian bytes, so that cursors walk a run's
// rows in order.
func rowKey(num int) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(num))
}

func appendRow(b []byte, r *Row) []byte {
	e := enc{b: b}
	e.byte(rowEncoding)
	e.varint(int64(r.Line))
	e.str(r.CustomerID)
	e.byte(byte(r.Status))
	e.str(r.Outcome)
	e.varint(int64(r.HTTPStatus))
	e.varint(int64(r.Attempts))
	e.str(r.Key)
	e.str(r.Error)
	e.digest(r.Digest)
	e.time(r.UpdatedAt)
	// Warnings come last and only when there are any, so that rows
	// written before juicebatch had warnings read the same.
	if r.Warnings != "" {
		e.str(r.Warnings)
	}
	return e.b
}

// decodeRow fills r from a row's key and value.
func decodeRow(k, v []byte, r *Row) error {
	if len(k) != 8 {
		return &corruptRecord{what: "row", reason: "bad key"}
	}
	d := dec{b: v, what: "row"}
	d.version(rowEncoding)
	*r = Row{
		Num:        int(binary.BigEndian.Uint64(k)),
		Line:       d.int(),
		CustomerID: d.str(),
		Status:     RowStatus(d.byte()),
		Outcome:    d.str(),
		HTTPStatus: d.int(),
		Attempts:   d.int(),
		Key:        d.str(),
		Error:      d.str(),
		Digest:     d.digest(),
		UpdatedAt:  d.time(),
	}
	if d.err == nil && len(d.b) > 0 {
		if r.Warnings = d.str(); d.err == nil && r.Warnings == "" {
			d.fail("empty warnings") // never written: trailing garbage
		}
	}
	return d.end()
}

func encodeRun(r *Run) []byte {
	e := enc{b: make([]byte, 0, 256)}
	e.byte(runEncoding)
	e.str(r.ID)
	e.str(r.Command)
	e.str(r.Input)
	e.str(r.InputDigest)
	e.str(r.Target)
	e.str(r.KeyFingerprint)
	e.time(r.StartedAt)
	e.time(r.UpdatedAt)
	e.time(r.FinishedAt)
	e.varint(int64(r.TotalRows))
	e.str(r.Status)
	names := make([]string, 0, len(r.Outcomes))
	for name := range r.Outcomes {
		names = append(names, name)
	}
	sort.Strings(names)
	e.uvarint(uint64(len(names)))
	for _, name := range names {
		e.str(name)
		e.varint(int64(r.Outcomes[name]))
	}
	e.varint(int64(r.Requests))
	e.varint(int64(r.Retries))
	e.varint(int64(r.RateLimited))
	e.varint(int64(r.ExitCode))
	return e.b
}

func decodeRun(v []byte) (Run, error) {
	d := dec{b: v, what: "run"}
	d.version(runEncoding)
	r := Run{
		ID:             d.str(),
		Command:        d.str(),
		Input:          d.str(),
		InputDigest:    d.str(),
		Target:         d.str(),
		KeyFingerprint: d.str(),
		StartedAt:      d.time(),
		UpdatedAt:      d.time(),
		FinishedAt:     d.time(),
		TotalRows:      d.int(),
		Status:         d.str(),
	}
	n := d.uvarint()
	if n > uint64(len(d.b))/2 { // each entry takes at least two bytes
		d.fail("too many outcomes")
		n = 0
	}
	r.Outcomes = make(map[string]int, int(n))
	for i := uint64(0); i < n && d.err == nil; i++ {
		name := d.str()
		r.Outcomes[name] = d.int()
	}
	r.Requests = d.int()
	r.Retries = d.int()
	r.RateLimited = d.int()
	r.ExitCode = d.int()
	return r, d.end()
}

func encodeApplied(a *Applied) []byte {
	names := sortedNames(a.Fields)
	e := enc{b: make([]byte, 0, 48+len(names)*48)}
	e.byte(appliedEncoding)
	e.time(a.At)
	e.digest(a.Digest)
	e.uvarint(uint64(len(names)))
	for _, name := range names {
		e.str(name)
		e.digest(a.Fields[name])
	}
	return e.b
}

func decodeApplied(v []byte) (Applied, error) {
	d := dec{b: v, what: "applied"}
	d.version(appliedEncoding)
	a := Applied{At: d.time(), Digest: d.digest()}
	n := d.uvarint()
	if n > uint64(len(d.b))/33 { // each entry takes at least 33 bytes
		d.fail("too many fields")
		n = 0
	}
	a.Fields = make(map[string][32]byte, int(n))
	for i := uint64(0); i < n && d.err == nil; i++ {
		name := d.str()
		a.Fields[name] = d.digest()
	}
	return a, d.end()
}

func sortedNames(fields map[string][32]byte) []string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// DigestFields returns the digest of a set of per-field digests, the value
// kept in [Applied.Digest]:
//
//	sha256( for each name in ascending byte order:
//	        uint32 big-endian len(name) || name || the field's 32-byte digest )
//
// An empty or nil map gives sha256 of no bytes. Two maps have the same digest
// exactly when they hold the same names with the same digests.
func DigestFields(fields map[string][32]byte) [32]byte {
	h := sha256.New()
	var buf [4]byte
	for _, name := range sortedNames(fields) {
		binary.BigEndian.PutUint32(buf[:], uint32(len(name)))
		h.Write(buf[:])
		h.Write([]byte(name))
		d := fields[name]
		h.Write(d[:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// encodeCount and decodeCount store a quota counter as 8 big-endian bytes.
func encodeCount(n int) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(n))
}

func decodeCount(v []byte) (int, error) {
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, &corruptRecord{what: "quota", reason: "bad length"}
	}
	return int(binary.BigEndian.Uint64(v)), nil
}

// encodeRecent stores send instants as the version byte followed by one
// 8-byte big-endian UnixNano per instant, oldest first.
func encodeRecent(ts []int64) []byte {
	b := make([]byte, 1, 1+8*len(ts))
	b[0] = recentEncoding
	for _, t := range ts {
		b = binary.BigEndian.AppendUint64(b, uint64(t))
	}
	return b
}

func decodeRecent(v []byte) ([]int64, error) {
	if v == nil {
		return nil, nil
	}
	if len(v) < 1 || v[0] != recentEncoding || (len(v)-1)%8 != 0 {
		return nil, &corruptRecord{what: "recent sends", reason: "bad encoding"}
	}
	v = v[1:]
	ts := make([]int64, len(v)/8)
	for i := range ts {
		ts[i] = int64(binary.BigEndian.Uint64(v[i*8:]))
	}
	return ts, nil
}
