package checkpoint

import (
	"testing"
	"time"
)

// FuzzDecode: the decoders never panic on any bytes, and a decoded row
// survives a re-encoding (the bytes may differ: varints need not be minimal).
func FuzzDecode(f *testing.F) {
	f.Add(appendRow(nil, &Row{Num: 1, CustomerID: "c", Status: StatusDone, UpdatedAt: day0}))
	f.Add(encodeRun(&Run{ID: "r", Outcomes: map[string]int{"updated": 1}, StartedAt: day0}))
	f.Add(encodeApplied(&Applied{Fields: map[string][32]byte{"email": {1}}, At: day0}))
	f.Add(encodeRecent([]int64{1, 2}))
	f.Add([]byte{})
	f.Add([]byte{1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Row
		if err := decodeRow(rowKey(1), b, &r); err == nil {
			var again Row
			if err := decodeRow(rowKey(1), appendRow(nil, &r), &again); err != nil || again != r {
				t.Errorf("decodeRow(%x) = %+v; re-encoded and decoded = %+v, %v", b, r, again, err)
			}
		}
		_, _ = decodeRun(b)
		_, _ = decodeApplied(b)
		_, _ = decodeRecent(b)
		_, _ = decodeCount(b)
	})
}

func TestDecodeRejects(t *testing.T) {
	good := appendRow(nil, &Row{Num: 1, CustomerID: "c", UpdatedAt: day0})
	tests := []struct {
		name string
		v    []byte
	}{
		{name: "empty", v: nil},
		{name: "unknown version", v: append([]byte{9}, good[1:]...)},
		{name: "cut short", v: good[:len(good)-3]},
		{name: "trailing bytes", v: append(append([]byte(nil), good...), 0)},
		{name: "string past the end", v: []byte{1, 0, 0x7F, 'a'}},
		{name: "bad nanoseconds", v: append(append([]byte(nil), good[:len(good)-6]...), 1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Row
			if err := decodeRow(rowKey(1), tt.v, &r); err == nil {
				t.Errorf("decodeRow(%x) = nil error; want corrupt", tt.v)
			}
		})
	}
	if err := decodeRow([]byte{1}, good, new(Row)); err == nil {
		t.Errorf("decodeRow with a 1-byte key = nil error; want corrupt")
	}
}

func TestTimeEncoding(t *testing.T) {
	tests := []time.Time{
		{},
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), // not the zero time: nanoseconds set
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		day0,
		time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC), // past UnixNano's range
	}
	for _, want := range tests {
		e := enc{}
		e.time(want)
		d := dec{b: e.b, what: "test"}
		got := d.time()
		if err := d.end(); err != nil || !got.Equal(want) || got.IsZero() != want.IsZero() {
			t.Errorf("time round trip of %v = %v, %v; want %v", want, got, err, want)
		}
	}
}
