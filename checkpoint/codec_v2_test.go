package checkpoint

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// v1Applied is encoding 1 of an applied record, written out independently
// of the package's encoder (which no longer writes it).
func v1Applied(at int64, digest [32]byte, names []string, sums [][32]byte) []byte {
	b := []byte{1, 1}
	b = binary.AppendVarint(b, at)
	b = binary.AppendUvarint(b, 0)
	b = append(b, digest[:]...)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for i, n := range names {
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(b, n...)
		b = append(b, sums[i][:]...)
	}
	return b
}

// v1Row is encoding 1 of a row, written out independently.
func v1Row(r Row) []byte {
	str := func(b []byte, s string) []byte { return append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	b := []byte{1}
	b = binary.AppendVarint(b, int64(r.Line))
	b = str(b, r.CustomerID)
	b = append(b, byte(r.Status))
	b = str(b, r.Outcome)
	b = binary.AppendVarint(b, int64(r.HTTPStatus))
	b = binary.AppendVarint(b, int64(r.Attempts))
	b = str(b, r.Key)
	b = str(b, r.Error)
	b = append(b, r.Digest[:]...)
	b = append(b, 1)
	b = binary.AppendVarint(b, r.UpdatedAt.Unix())
	b = binary.AppendUvarint(b, uint64(r.UpdatedAt.Nanosecond()))
	return b
}

// TestReadsEncoding1: files written before encoding 2 still read; field
// digests come back truncated, Digest recomputed from them, Raw unknown.
func TestReadsEncoding1(t *testing.T) {
	full := [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	got, err := decodeApplied(v1Applied(day0.Unix(), [32]byte{0xEE}, []string{"email", "x"}, [][32]byte{full, full}))
	if err != nil {
		t.Fatalf("decodeApplied(encoding 1) = %v", err)
	}
	short := [32]byte{1, 2, 3, 4, 5, 6, 7, 8}
	wantFields := map[string][32]byte{"email": short, "x": short}
	want := Applied{Fields: wantFields, Digest: DigestFields(wantFields), At: day0.Truncate(1e9)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decodeApplied(encoding 1) mismatch (-want +got):\n%s", diff)
	}
	if !got.Matches("email", full) || got.Matches("email", [32]byte{1}) || got.Matches("phone_number", full) {
		t.Errorf("Matches on a decoded record answers wrongly")
	}
	if raw, err := decodeAppliedRaw(v1Applied(0, [32]byte{}, nil, nil)); raw != ([32]byte{}) || err != nil {
		t.Errorf("decodeAppliedRaw(encoding 1) = %x, %v; want zero, nil", raw, err)
	}

	r := Row{Num: 7, Line: 8, CustomerID: "cus_7", Status: StatusDone, Outcome: "updated", HTTPStatus: 200, Attempts: 2,
		Key: "k", Error: "e", Digest: [32]byte{3}, UpdatedAt: day0}
	var back Row
	if err := decodeRow(rowKey(7), v1Row(r), &back); err != nil || back != r {
		t.Errorf("decodeRow(encoding 1) = %+v, %v; want %+v", back, err, r)
	}
}

// TestRecordSizes: the records a nightly run writes most stay small.
func TestRecordSizes(t *testing.T) {
	a := Applied{At: day0, Raw: [32]byte{1}, Fields: map[string][32]byte{}}
	for _, n := range []string{"first_name", "last_name", "email", "phone_number", "billing_address"} {
		a.Fields[n] = [32]byte{9, 9, 9}
	}
	if n := len(encodeApplied(&a)); n > 80 {
		t.Errorf("an applied record of five fields takes %d bytes; want at most 80", n)
	}
	unchanged := Row{Num: 1, Line: 123456, CustomerID: "cus_0000123", Status: StatusDone, Outcome: "unchanged", UpdatedAt: day0}
	if n := len(appendRow(nil, &unchanged)); n > 32 {
		t.Errorf("an unchanged row takes %d bytes; want at most 32", n)
	}
	custom := Row{Num: 1, Status: StatusDone, Outcome: "something_else", UpdatedAt: day0}
	var back Row
	if err := decodeRow(rowKey(1), appendRow(nil, &custom), &back); err != nil || back != custom {
		t.Errorf("round trip of an unknown outcome = %+v, %v; want %+v", back, err, custom)
	}
}

// TestRawDigests: the raw digest is set by Outcome, replaced (or cleared)
// by the next, and set by PutUnchanged (or PutRaw, which writes no row)
// only on an existing record.
func TestRawDigests(t *testing.T) {
	s, _ := openTest(t, Options{})
	l := s.RunLog("r")
	raw := [32]byte{1, 2, 3}
	if err := l.Outcome(nil, &AppliedUpdate{Scope: "s", CustomerID: "a", Fields: map[string][32]byte{"email": {1}}, Raw: raw, At: day0}); err != nil {
		t.Fatal(err)
	}
	if err := l.Outcome(nil, &AppliedUpdate{Scope: "s", CustomerID: "b", Fields: map[string][32]byte{"email": {1}}, At: day0}); err != nil {
		t.Fatal(err)
	}
	read := func() [][32]byte {
		t.Helper()
		out := make([][32]byte, 4)
		if err := s.RawDigests("s", []string{"a", "b", "none", ""}, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got, want := read(), [][32]byte{truncate(raw, RawDigestSize), {}, {}, {}}; !cmp.Equal(got, want) {
		t.Errorf("RawDigests = %x; want %x", got, want)
	}
	other := [32]byte{4, 5, 6}
	for _, u := range []RawUpdate{{Scope: "s", CustomerID: "b", Raw: other}, {Scope: "s", CustomerID: "none", Raw: other}} {
		if err := l.PutUnchanged(row(1), u); err != nil {
			t.Fatal(err)
		}
	}
	mustFlush(t, l)
	if got, want := read(), [][32]byte{truncate(raw, RawDigestSize), other, {}, {}}; !cmp.Equal(got, want) {
		t.Errorf("RawDigests after PutUnchanged = %x; want %x", got, want)
	}
	// PutRaw sets the digest alone: no row record.
	third := [32]byte{7, 8, 9}
	if err := l.PutRaw(RawUpdate{Scope: "s", CustomerID: "b", Raw: third}); err != nil {
		t.Fatal(err)
	}
	mustFlush(t, l)
	if got, want := read(), [][32]byte{truncate(raw, RawDigestSize), third, {}, {}}; !cmp.Equal(got, want) {
		t.Errorf("RawDigests after PutRaw = %x; want %x", got, want)
	}
	var nums []int
	if err := s.Rows("r", func(r Row) error { nums = append(nums, r.Num); return nil }); err != nil || !slices.Equal(nums, []int{1}) {
		t.Errorf("rows after PutRaw = %v, %v; want only PutUnchanged's row 1", nums, err)
	}
	if err := l.Outcome(nil, &AppliedUpdate{Scope: "s", CustomerID: "a", Fields: map[string][32]byte{"phone_number": {1}}, At: day0}); err != nil {
		t.Fatal(err)
	}
	if got := read(); got[0] != ([32]byte{}) {
		t.Errorf("RawDigests after an update without one = %x; want it cleared", got[0])
	}
	if err := s.RawDigests("s", []string{"a"}, nil); err == nil {
		t.Errorf("RawDigests with a short out = nil; want an error")
	}
}

// TestRawDigestsOrder: the lookups are made in key order, across drops of
// the mapped pages, and each answer lands at its id's place in the call.
func TestRawDigestsOrder(t *testing.T) {
	s, _ := openTest(t, Options{})
	l := s.RunLog("r")
	const n = 3*dropEvery + 7
	ids := make([]string, 0, n+2)
	want := make([][32]byte, 0, n+2)
	for i := range n {
		id := fmt.Sprintf("c%05d", i)
		raw := [32]byte{byte(i), byte(i >> 8), 1}
		if err := l.Outcome(nil, &AppliedUpdate{Scope: "s", CustomerID: id, Fields: map[string][32]byte{"email": {1}}, Raw: raw, At: day0}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		want = append(want, truncate(raw, RawDigestSize))
	}
	ids = append(ids, "zz-none", "")
	want = append(want, [32]byte{}, [32]byte{})
	slices.Reverse(ids) // not in key order
	slices.Reverse(want)
	ids[3], ids[n-5] = ids[n-5], ids[3]
	want[3], want[n-5] = want[n-5], want[3]
	got := make([][32]byte, len(ids))
	if err := s.RawDigests("s", ids, got); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(got, want) {
		t.Errorf("RawDigests out of key order: got %x; want %x", got[:4], want[:4])
	}
}
