package checkpoint

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Buckets of the read side, apart from the update quota: reads are limited
// apart from updates, so they are counted apart too.
const (
	// bucketReads: fingerprint → UTC day → read requests sent (8 bytes).
	bucketReads = "reads"
	// bucketListings: scope → the size of the account the last complete
	// listing found, and when (16 bytes: count, UnixNano).
	bucketListings = "listings"
)

// AddReads counts n read requests sent with fingerprint on day.
func (s *Store) AddReads(fingerprint, day string, n int) error {
	err := s.update(func(tx *bolt.Tx) error {
		all, err := tx.CreateBucketIfNotExists([]byte(bucketReads))
		if err != nil {
			return err
		}
		b, err := all.CreateBucketIfNotExists([]byte(fingerprint))
		if err != nil {
			return err
		}
		used, err := decodeCount(b.Get([]byte(day)))
		if err != nil {
			return err
		}
		return b.Put([]byte(day), encodeCount(used+n))
	})
	if err != nil {
		return fmt.Errorf("checkpoint: count reads of %s on %s: %w", fingerprint, day, err)
	}
	return nil
}

// Reads returns every recorded read count, by fingerprint and then day
// (the Quota's Used is the number of reads).
func (s *Store) Reads() ([]Quota, error) {
	var out []Quota
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketReads))
		if b == nil {
			return nil
		}
		return b.ForEachBucket(func(fp []byte) error {
			return b.Bucket(fp).ForEach(func(day, v []byte) error {
				n, err := decodeCount(v)
				if err != nil {
					return err
				}
				out = append(out, Quota{Fingerprint: string(fp), Day: string(day), Used: n})
				return nil
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list reads: %w", err)
	}
	return out, nil
}

// PutListing remembers that a complete listing of scope's account found
// count customers at at.
func (s *Store) PutListing(scope string, count int, at time.Time) error {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 16), uint64(count))
	v = binary.BigEndian.AppendUint64(v, uint64(at.UnixNano()))
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucketListings))
		if err != nil {
			return err
		}
		return b.Put([]byte(scope), v)
	})
	if err != nil {
		return fmt.Errorf("checkpoint: remember listing of %s: %w", scope, err)
	}
	return nil
}

// Listing returns the account size the last complete listing of scope
// found and when; ok is false when there was none.
func (s *Store) Listing(scope string) (count int, at time.Time, ok bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketListings))
		if b == nil {
			return nil
		}
		v := b.Get([]byte(scope))
		if v == nil {
			return nil
		}
		if len(v) != 16 {
			return &corruptRecord{what: "listing", reason: "bad length"}
		}
		count = int(binary.BigEndian.Uint64(v[:8]))
		at = time.Unix(0, int64(binary.BigEndian.Uint64(v[8:]))).UTC()
		ok = true
		return nil
	})
	if err != nil {
		return 0, time.Time{}, false, fmt.Errorf("checkpoint: read listing of %s: %w", scope, err)
	}
	return count, at, ok, nil
}

// AppliedCount is how many customers of scope have an Applied record.
func (s *Store) AppliedCount(scope string) (int, error) {
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		if b := appliedBucket(tx, scope); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("checkpoint: count applied records of %s: %w", scope, err)
	}
	return n, nil
}
