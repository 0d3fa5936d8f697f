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
//
// Rows and applied records have two encodings: version 1, which older files
// hold and which is still read, and version 2, which is written. Version 2
// leaves out empty fields of a row and spells known outcomes as one byte; it
// keeps FieldDigestSize bytes of each field digest of an applied record
// instead of 32, and the raw-row digest.
const (
	rowEncodingV1     = 1
	rowEncoding       = 2
	runEncoding       = 1
	appliedEncodingV1 = 1
	appliedEncoding   = 2
	recentEncoding    = 1
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

// versionOf reads the version byte and checks it is one of known.
func (d *dec) versionOf(known ...byte) byte {
	v := d.byte()
	if d.err != nil {
		return 0
	}
	for _, k := range known {
		if v == k {
			return v
		}
	}
	d.fail(fmt.Sprintf("encoding version %d, this juicebatch reads %v (written by another juicebatch version?)", v, known))
	return 0
}

// fixed copies n bytes out.
func (d *dec) fixed(out []byte) {
	if len(d.b) < len(out) {
		d.fail("short digest")
		return
	}
	copy(out, d.b)
	d.b = d.b[len(out):]
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

// Row flags of encoding 2: which optional fields follow.
const (
	rowHasHTTP = 1 << iota
	rowHasAttempts
	rowHasKey
	rowHasError
	rowHasDigest
	rowHasOutcomeText // the outcome is spelled out, not a code
	rowHasWarnings    // the row's warnings follow the update time
)

// outcomeCodes are the outcomes a row of encoding 2 stores as one byte (its
// index + 1; 0 is no outcome). Append only: the codes are on disk.
var outcomeCodes = [...]string{"updated", "unchanged", "invalid", "rejected", "failed", "pending", "would_update"}

func outcomeCode(o string) byte {
	for i, c := range outcomeCodes {
		if c == o {
			return byte(i + 1)
		}
	}
	return 0
}

// appendRow appends a row in encoding 2:
//
//	2 | flags | line | customer id | status | outcome code
//	  | [outcome text] | [http status] | [attempts] | [key] | [error] | [digest] | updated at
//	  | [warnings]
//
// A bracketed field is present when its flag is set (it is not empty). An
// unchanged row takes about 30 bytes.
func appendRow(b []byte, r *Row) []byte {
	e := enc{b: b}
	e.byte(rowEncoding)
	code := outcomeCode(r.Outcome)
	var flags byte
	if r.HTTPStatus != 0 {
		flags |= rowHasHTTP
	}
	if r.Attempts != 0 {
		flags |= rowHasAttempts
	}
	if r.Key != "" {
		flags |= rowHasKey
	}
	if r.Error != "" {
		flags |= rowHasError
	}
	if r.Digest != ([32]byte{}) {
		flags |= rowHasDigest
	}
	if code == 0 && r.Outcome != "" {
		flags |= rowHasOutcomeText
	}
	if r.Warnings != "" {
		flags |= rowHasWarnings
	}
	e.byte(flags)
	e.varint(int64(r.Line))
	e.str(r.CustomerID)
	e.byte(byte(r.Status))
	e.byte(code)
	if flags&rowHasOutcomeText != 0 {
		e.str(r.Outcome)
	}
	if flags&rowHasHTTP != 0 {
		e.varint(int64(r.HTTPStatus))
	}
	if flags&rowHasAttempts != 0 {
		e.varint(int64(r.Attempts))
	}
	if flags&rowHasKey != 0 {
		e.str(r.Key)
	}
	if flags&rowHasError != 0 {
		e.str(r.Error)
	}
	if flags&rowHasDigest != 0 {
		e.digest(r.Digest)
	}
	e.time(r.UpdatedAt)
	if flags&rowHasWarnings != 0 {
		e.str(r.Warnings)
	}
	return e.b
}

// decodeRow fills r from a row's key and value, of either encoding.
func decodeRow(k, v []byte, r *Row) error {
	if len(k) != 8 {
		return &corruptRecord{what: "row", reason: "bad key"}
	}
	d := dec{b: v, what: "row"}
	num := int(binary.BigEndian.Uint64(k))
	if d.versionOf(rowEncodingV1, rowEncoding) == rowEncodingV1 {
		*r = Row{
			Num:        num,
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
		return d.end()
	}
	*r = Row{Num: num}
	flags := d.byte()
	if flags >= rowHasWarnings<<1 {
		d.fail("unknown row flags")
	}
	r.Line = d.int()
	r.CustomerID = d.str()
	r.Status = RowStatus(d.byte())
	switch code := d.byte(); {
	case code == 0:
	case int(code) <= len(outcomeCodes) && flags&rowHasOutcomeText == 0:
		r.Outcome = outcomeCodes[code-1]
	default:
		d.fail("bad outcome code")
	}
	if flags&rowHasOutcomeText != 0 {
		r.Outcome = d.str()
		if r.Outcome == "" || outcomeCode(r.Outcome) != 0 {
			d.fail("outcome text where a code belongs")
		}
	}
	if flags&rowHasHTTP != 0 {
		if r.HTTPStatus = d.int(); r.HTTPStatus == 0 {
			d.fail("empty flagged field")
		}
	}
	if flags&rowHasAttempts != 0 {
		if r.Attempts = d.int(); r.Attempts == 0 {
			d.fail("empty flagged field")
		}
	}
	if flags&rowHasKey != 0 {
		if r.Key = d.str(); r.Key == "" {
			d.fail("empty flagged field")
		}
	}
	if flags&rowHasError != 0 {
		if r.Error = d.str(); r.Error == "" {
			d.fail("empty flagged field")
		}
	}
	if flags&rowHasDigest != 0 {
		if r.Digest = d.digest(); r.Digest == ([32]byte{}) {
			d.fail("empty flagged field")
		}
	}
	r.UpdatedAt = d.time()
	if flags&rowHasWarnings != 0 {
		if r.Warnings = d.str(); r.Warnings == "" {
			d.fail("empty flagged field")
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
	e.varint(int64(r.Reads)) // absent from records written before reads were counted
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
	if d.err == nil && len(d.b) > 0 {
		r.Reads = d.int()
	}
	return r, d.end()
}

// knownFields are the field names an applied record of encoding 2 stores as
// one byte (index + 1; 0 means the name is spelled out): the API's
// top-level fields. Append only: the codes are on disk.
var knownFields = [...]string{"first_name", "last_name", "email", "phone_number", "billing_address"}

func fieldCode(name string) byte {
	for i, n := range knownFields {
		if n == name {
			return byte(i + 1)
		}
	}
	return 0
}

// encodeApplied writes an applied record in encoding 2:
//
//	2 | at | raw (RawDigestSize bytes) | n | n × (code | [name] | FieldDigestSize bytes)
//
// Digest is not stored: it is DigestFields of the stored fields. A record of
// five fields takes about 60 bytes.
func encodeApplied(a *Applied) []byte {
	names := sortedNames(a.Fields)
	e := enc{b: make([]byte, 0, 32+len(names)*(2+FieldDigestSize))}
	e.byte(appliedEncoding)
	e.time(a.At)
	e.b = append(e.b, a.Raw[:RawDigestSize]...)
	e.uvarint(uint64(len(names)))
	for _, name := range names {
		code := fieldCode(name)
		e.byte(code)
		if code == 0 {
			e.str(name)
		}
		d := a.Fields[name]
		e.b = append(e.b, d[:FieldDigestSize]...)
	}
	return e.b
}

// decodeApplied reads an applied record of either encoding. Field digests
// and Raw come back truncated (see [Applied]); Digest is recomputed from
// them.
func decodeApplied(v []byte) (Applied, error) {
	d := dec{b: v, what: "applied"}
	if d.versionOf(appliedEncodingV1, appliedEncoding) == appliedEncodingV1 {
		a := Applied{At: d.time()}
		d.digest() // the stored Digest: recomputed below from the truncated fields
		n := d.uvarint()
		if n > uint64(len(d.b))/33 { // each entry takes at least 33 bytes
			d.fail("too many fields")
			n = 0
		}
		a.Fields = make(map[string][32]byte, int(n))
		for i := uint64(0); i < n && d.err == nil; i++ {
			name := d.str()
			a.Fields[name] = truncate(d.digest(), FieldDigestSize)
		}
		a.Digest = DigestFields(a.Fields)
		return a, d.end()
	}
	a := Applied{At: d.time()}
	d.fixed(a.Raw[:RawDigestSize])
	n := d.uvarint()
	if n > uint64(len(d.b))/(1+FieldDigestSize) {
		d.fail("too many fields")
		n = 0
	}
	a.Fields = make(map[string][32]byte, int(n))
	for i := uint64(0); i < n && d.err == nil; i++ {
		var name string
		switch code := d.byte(); {
		case code == 0:
			if name = d.str(); fieldCode(name) != 0 || name == "" {
				d.fail("field name where a code belongs")
			}
		case int(code) <= len(knownFields):
			name = knownFields[code-1]
		default:
			d.fail("bad field code")
		}
		var sum [32]byte
		d.fixed(sum[:FieldDigestSize])
		if _, dup := a.Fields[name]; dup {
			d.fail("repeated field")
		}
		a.Fields[name] = sum
	}
	a.Digest = DigestFields(a.Fields)
	return a, d.end()
}

// decodeAppliedRaw reads only the raw-row digest of an applied record: what
// the raw-row shortcut needs, without building the field map.
func decodeAppliedRaw(v []byte) ([32]byte, error) {
	var raw [32]byte
	d := dec{b: v, what: "applied"}
	if d.versionOf(appliedEncodingV1, appliedEncoding) == appliedEncodingV1 {
		return raw, d.err // version 1 has none
	}
	d.time()
	d.fixed(raw[:RawDigestSize])
	return raw, d.err
}

// truncate keeps the first n bytes of d and zeroes the rest.
func truncate(d [32]byte, n int) [32]byte {
	clear(d[n:])
	return d
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
