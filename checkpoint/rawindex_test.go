package checkpoint

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestRawIndex: the index holds the raw digests of the scope's records
// (not of another scope's, not of records without one), across drops of the
// mapped pages, and gives up past its limit.
func TestRawIndex(t *testing.T) {
	s, _ := openTest(t, Options{})
	const n = 2*rawIndexDropEvery + 5
	raw := func(i int) [32]byte { return [32]byte{byte(i), byte(i >> 8), byte(i >> 16), 7, 9: 1} }
	put := func(tx *bolt.Tx, scope string, i int, r [32]byte) error {
		u := &AppliedUpdate{Scope: scope, CustomerID: fmt.Sprintf("c%06d", i), Fields: map[string][32]byte{"email": {1}}, Raw: r, At: day0}
		return mergeApplied(tx, u)
	}
	// One transaction: what a run's many commits would leave.
	err := s.update(func(tx *bolt.Tx) error {
		for i := range n {
			r := raw(i)
			if i == 3 {
				r = [32]byte{} // a record from before raw digests
			}
			if err := put(tx, "s", i, r); err != nil {
				return err
			}
		}
		return put(tx, "other", n+1, raw(n+1))
	})
	if err != nil {
		t.Fatal(err)
	}

	var reserved []int64
	x, err := s.RawIndex(context.Background(), "s", 10, n, func(b int64) { reserved = append(reserved, b) })
	if err != nil || x == nil {
		t.Fatalf("RawIndex(limit %d) = %v, %v; want an index", n, x, err)
	}
	// The keys' room, hint + hint/16 = 10 keys, is announced once.
	if len(reserved) != 1 || reserved[0] != 8*10 {
		t.Errorf("reserve told %v; want [80]", reserved)
	}
	if x.Len() != n-1 {
		t.Errorf("Len = %d; want %d (one record has no raw digest)", x.Len(), n-1)
	}
	for _, tc := range []struct {
		name string
		raw  [32]byte
		want bool
	}{
		{"first", raw(0), true},
		{"past a drop", raw(rawIndexDropEvery + 1), true},
		{"last", raw(n - 1), true},
		{"the record without one", raw(3), false},
		{"another scope's", raw(n + 1), false},
		{"a changed row", [32]byte{1, 2, 3}, false},
		{"zero", [32]byte{}, false},
	} {
		if got := x.Has(tc.raw); got != tc.want {
			t.Errorf("Has(%s) = %v; want %v", tc.name, got, tc.want)
		}
	}
	if x, err := s.RawIndex(context.Background(), "s", 10, n-1, nil); err != nil || x != nil {
		t.Errorf("RawIndex(limit %d) of %d records = %v, %v; want nil, nil (look rows up instead)", n-1, n, x, err)
	}
	if x, err := s.RawIndex(context.Background(), "none", 10, n, func(int64) { t.Error("reserve called for a scope without records") }); err != nil || x == nil || x.Len() != 0 {
		t.Errorf("RawIndex of an unknown scope = %v, %v; want an empty index", x, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.RawIndex(ctx, "s", 10, n, nil); err == nil {
		t.Errorf("RawIndex with a cancelled context = nil error; want the context's")
	}
}

// TestRawIndexDirectory: the directory finds every key and no other, for
// sizes around its slot boundaries and keys at both ends of the range.
func TestRawIndexDirectory(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 15, 16, 17, 33, 1000, 4097} {
		set := map[uint64]bool{0: true, ^uint64(0): true}
		for len(set) < n+2 {
			set[rng.Uint64()] = true
		}
		keys := make([]uint64, 0, len(set))
		for k := range set {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		x := newRawIndex(keys)
		raw := func(k uint64) (r [32]byte) {
			binary.BigEndian.PutUint64(r[:8], k)
			return r
		}
		for _, k := range keys {
			if !x.Has(raw(k)) {
				t.Fatalf("n=%d: Has(%#x) = false; want true", n, k)
			}
		}
		for range 1000 {
			if k := rng.Uint64(); x.Has(raw(k)) != set[k] {
				t.Fatalf("n=%d: Has(%#x) = %v; want %v", n, k, !set[k], set[k])
			}
		}
	}
}
