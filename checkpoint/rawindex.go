package checkpoint

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// RawIndex holds the raw-row digests of one scope's applied records in
// memory, 8 bytes a customer, for the raw-row shortcut of a run that looks
// at most of the customers (a nightly export of all of them).
//
// Why not look each row up: a row's customer, in file order, is at a
// random place in key order, so a million lookups are a million random
// reads of the mapped file; with the mapped pages dropped often enough to
// keep resident memory small, nearly each one is a page fault again (about
// 5 s of system time at a million customers, see BENCHMARKS.md "Nightly").
// One walk of the bucket in key order reads each page once, forward.
//
// What a hit means: a raw digest is computed over the row's fields, the id
// among them, so a digest names one customer's one row under one mapping
// and rules version. The index keeps the first 8 of the 16 bytes the state
// keeps: a row that is not the one last applied is taken for it only if
// its digest's first 8 bytes equal one of the n kept ones, with
// probability n·2^-64 (below 2^-44 a row at a million customers). It is
// built at the start of a run, so it reflects the applied records then; a
// caller uses it only for rows whose customer no earlier row of the run
// has changed.
type RawIndex struct {
	keys []uint64 // sorted
	// dir[i] is the index in keys of the first key whose top shift bits
	// are i or more: keys are digests, spread evenly, so the top bits
	// find a key's neighbourhood of about rawIndexPerSlot keys at once.
	// A binary search of the whole slice (20 steps at a million, each a
	// cache miss) was 9% of a plan's CPU.
	dir   []uint32
	shift uint
}

// rawIndexPerSlot is about how many keys share one slot of the directory:
// the directory costs 4/rawIndexPerSlot bytes a customer.
const rawIndexPerSlot = 16

// newRawIndex builds the index of sorted keys.
func newRawIndex(keys []uint64) *RawIndex {
	bits := uint(0)
	for len(keys)>>bits > rawIndexPerSlot {
		bits++
	}
	x := &RawIndex{keys: keys, dir: make([]uint32, 1<<bits+1), shift: 64 - bits}
	j := 0
	for i := range x.dir {
		for j < len(keys) && x.slot(keys[j]) < uint64(i) {
			j++
		}
		x.dir[i] = uint32(j)
	}
	return x
}

// slot is the directory slot of key k (with one slot, shift is 64 and
// every key's slot is 0).
func (x *RawIndex) slot(k uint64) uint64 { return k >> x.shift }

// Len is how many customers the index holds.
func (x *RawIndex) Len() int { return len(x.keys) }

// Bytes is the memory the index holds.
func (x *RawIndex) Bytes() int64 { return int64(cap(x.keys))*8 + int64(cap(x.dir))*4 }

// Has reports whether raw (a full raw-row digest) is the raw digest of one
// of the scope's applied records.
func (x *RawIndex) Has(raw [32]byte) bool {
	k := rawKey(raw)
	s := x.slot(k)
	_, ok := slices.BinarySearch(x.keys[x.dir[s]:x.dir[s+1]], k)
	return ok
}

func rawKey(raw [32]byte) uint64 { return binary.BigEndian.Uint64(raw[:8]) }

// rawIndexDropEvery is how many records the walk reads between two drops
// of the mapped pages, which the walk never reads again. Key order is file
// order only in a freshly compacted file: after nights of updates the leaf
// pages lie scattered, and each page read maps its neighbours with it
// (fault-around, 64 KiB). At 16,384 records (some 600 leaf pages) a
// million-customer state had 28 MB mapped between two drops, the night's
// peak; at 2,048, about 5 MB, for some 500 drops (a few ms) a walk.
const rawIndexDropEvery = 2048

// RawIndex walks scope's applied records in key order and returns their
// raw-row digests as an index, its memory sized for about hint records
// (the rows of the run: an append-grown slice would peak at up to twice
// the 8 bytes a customer). It gives up, returning nil and no error, when
// the scope holds more than limit records: looking up each of a small
// file's rows then costs less than reading every customer.
// Records without a raw digest (from before raw digests were kept) are
// left out; a row of theirs takes the long way.
//
// reserve, when not nil, is told the bytes the index's keys will take,
// once, before they are allocated (only when the scope holds records): a
// caller that holds its heap to a soft limit can make room first, rather
// than have the collector run without end while the walk fills them.
func (s *Store) RawIndex(ctx context.Context, scope string, hint, limit int, reserve func(bytes int64)) (*RawIndex, error) {
	var x *RawIndex
	err := s.view(func(tx *bolt.Tx) error {
		b := appliedBucket(tx, scope)
		if b == nil {
			x = newRawIndex(nil)
			return nil
		}
		size := min(limit, hint+hint/16)
		if reserve != nil {
			reserve(int64(size) * 8)
		}
		keys := make([]uint64, 0, size)
		c := b.Cursor()
		n := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				continue // a nested bucket; there are none
			}
			if n++; n > limit {
				x = nil
				return nil
			}
			if n%rawIndexDropEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				dropMapped(s.db.Info().Data, tx.Size())
			}
			raw, err := decodeAppliedRaw(v)
			if err != nil {
				return fmt.Errorf("customer %q: %w", k, err)
			}
			if raw != ([32]byte{}) {
				keys = append(keys, rawKey(raw))
			}
		}
		dropMapped(s.db.Info().Data, tx.Size())
		slices.Sort(keys)
		x = newRawIndex(slices.Clip(keys))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: index raw digests in %s: %w", scope, err)
	}
	return x, nil
}
