package checkpoint

import (
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Sizes of the digests an applied record keeps. A field digest is kept to
// its first FieldDigestSize bytes: two different values of one customer's
// field share it with probability 2^-64, which over a million customers,
// five fields and a year of nights is below 2^-33. The raw-row digest is
// kept to RawDigestSize bytes (2^-128). Both keep a customer's record near
// 60 bytes.
const (
	FieldDigestSize = 8
	RawDigestSize   = 16
)

// Applied is what the server last accepted (with a 200) for one customer in
// one scope: a digest per field, never the values.
type Applied struct {
	// Fields maps a field name to the digest of the value last applied,
	// truncated: its first FieldDigestSize bytes, the rest zero. Compare
	// a full digest with [Applied.Matches].
	Fields map[string][32]byte
	// Raw is the digest of the raw input row(s) that produced the last
	// update applied (see [AppliedUpdate.Raw]), its first RawDigestSize
	// bytes, the rest zero; zero when not known.
	Raw [32]byte
	// Digest is DigestFields(Fields), of the truncated field digests:
	//
	//	sha256( for each name in ascending byte order:
	//	        uint32 big-endian len(name) || name || Fields[name] )
	//
	// It changes exactly when a field is added or a field's digest changes.
	Digest [32]byte
	// At is when the last update was applied (UTC).
	At time.Time
}

// Matches reports whether field name was last applied with the value whose
// full digest is sum (only the kept prefix is compared).
func (a Applied) Matches(name string, sum [32]byte) bool {
	got, ok := a.Fields[name]
	return ok && got == truncate(sum, FieldDigestSize)
}

// RawDigests fills out[i] with the raw-row digest of customerIDs[i] in scope
// ([Applied.Raw]; zero when the customer has no record or none is known),
// in one read transaction. out must be as long as customerIDs. It decodes
// nothing else, so it is the cheap first look of change detection.
//
// The ids are looked up in key order, not in the order given: ids in file
// order are random in key order (UUIDs), and a sorted batch walks the
// file's leaf pages forward, so neighbouring lookups share the pages (and
// the kernel's fault-around) of the one before. The mapped pages are
// dropped behind the walk (see touched) while the transaction is open:
// the walk never comes back to them.
func (s *Store) RawDigests(scope string, customerIDs []string, out [][32]byte) error {
	if len(out) != len(customerIDs) {
		return fmt.Errorf("checkpoint: read raw digests in %s: %d ids, %d slots", scope, len(customerIDs), len(out))
	}
	clear(out)
	order := make([]int32, len(customerIDs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(customerIDs[a], customerIDs[b]) })
	err := s.view(func(tx *bolt.Tx) error {
		b := appliedBucket(tx, scope)
		if b == nil {
			return nil
		}
		for _, i := range order {
			id := customerIDs[i]
			if id == "" {
				continue
			}
			if s.reads.Add(1) >= dropEvery {
				s.reads.Store(0)
				dropMapped(s.db.Info().Data, tx.Size())
			}
			v := b.Get([]byte(id))
			if v == nil {
				continue
			}
			var err error
			if out[i], err = decodeAppliedRaw(v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("checkpoint: read raw digests in %s: %w", scope, err)
	}
	return nil
}

// Applied returns the customer's Applied record in scope, and whether there
// is one. It costs one short read transaction; for many lookups at once use
// AppliedMany.
func (s *Store) Applied(scope, customerID string) (Applied, bool, error) {
	var a Applied
	ok, err := s.record(func(tx *bolt.Tx) *bolt.Bucket { return appliedBucket(tx, scope) }, customerID, func(v []byte) error {
		var err error
		a, err = decodeApplied(v)
		return err
	})
	s.touched(1)
	if err != nil {
		return Applied{}, false, fmt.Errorf("checkpoint: read applied record of %s in %s: %w", customerID, scope, err)
	}
	return a, ok, nil
}

// AppliedMany looks up many customers of one scope in a single read
// transaction. The map holds the customers that have a record.
func (s *Store) AppliedMany(scope string, customerIDs []string) (map[string]Applied, error) {
	out := make(map[string]Applied)
	err := s.view(func(tx *bolt.Tx) error {
		b := appliedBucket(tx, scope)
		if b == nil {
			return nil
		}
		for _, id := range customerIDs {
			if id == "" {
				continue
			}
			v := b.Get([]byte(id))
			if v == nil {
				continue
			}
			a, err := decodeApplied(v)
			if err != nil {
				return err
			}
			out[id] = a
		}
		return nil
	})
	s.touched(len(customerIDs))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read applied records in %s: %w", scope, err)
	}
	return out, nil
}

// Scopes returns the scopes that have Applied records, in byte order.
func (s *Store) Scopes() ([]string, error) {
	var scopes []string
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketApplied))
		if b == nil {
			return nil
		}
		return b.ForEachBucket(func(k []byte) error {
			scopes = append(scopes, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list scopes: %w", err)
	}
	return scopes, nil
}

// appliedBucket returns the bucket of scope's Applied records, or nil.
func appliedBucket(tx *bolt.Tx, scope string) *bolt.Bucket {
	b := tx.Bucket([]byte(bucketApplied))
	if b == nil || scope == "" {
		return nil
	}
	return b.Bucket([]byte(scope))
}

// appliedFill is how full Compact packs pages (bbolt's default is 0.5):
// it copies keys in order, and later nights rewrite applied records in
// place at the same size, so pages are rarely split again. Live writes keep
// bbolt's default: a first night inserts customers in file order, which is
// random in key order (UUIDs), and splitting a full page 90/10 under random
// inserts leaves pages 38% full on average (measured), against about 70%
// for even splits. The first compaction packs them.
const appliedFill = 0.9

// scopeBucket returns scope's applied bucket, creating it.
func scopeBucket(tx *bolt.Tx, scope string) (*bolt.Bucket, error) {
	all, err := tx.CreateBucketIfNotExists([]byte(bucketApplied))
	if err != nil {
		return nil, err
	}
	return all.CreateBucketIfNotExists([]byte(scope))
}

// mergeApplied overlays u.Fields (truncated) on the stored record, sets Raw
// to u.Raw and At to u.At.
func mergeApplied(tx *bolt.Tx, u *AppliedUpdate) error {
	b, err := scopeBucket(tx, u.Scope)
	if err != nil {
		return err
	}
	a := Applied{Fields: make(map[string][32]byte, len(u.Fields))}
	if v := b.Get([]byte(u.CustomerID)); v != nil {
		if a, err = decodeApplied(v); err != nil {
			return err
		}
	}
	for name, sum := range u.Fields {
		a.Fields[name] = truncate(sum, FieldDigestSize)
	}
	a.Raw = truncate(u.Raw, RawDigestSize)
	a.At = utc(u.At)
	return b.Put([]byte(u.CustomerID), encodeApplied(&a))
}

// setRaw records raw as the raw-row digest of a customer's existing record,
// for a row found unchanged the long way (normalized and compared): the
// next night the same row is recognised without that work. A customer
// without a record is left alone.
func setRaw(tx *bolt.Tx, u *RawUpdate) error {
	b := appliedBucket(tx, u.Scope)
	if b == nil {
		return nil
	}
	v := b.Get([]byte(u.CustomerID))
	if v == nil {
		return nil
	}
	a, err := decodeApplied(v)
	if err != nil {
		return err
	}
	raw := truncate(u.Raw, RawDigestSize)
	if a.Raw == raw {
		return nil
	}
	a.Raw = raw
	return b.Put([]byte(u.CustomerID), encodeApplied(&a))
}

// record hands the value of key in the bucket that bucketOf finds (nil:
// none) to decode, in one read transaction, and reports whether there was
// one. The value is valid only during decode, which must copy what it
// keeps.
func (s *Store) record(bucketOf func(*bolt.Tx) *bolt.Bucket, key string, decode func(v []byte) error) (bool, error) {
	var ok bool
	err := s.view(func(tx *bolt.Tx) error {
		b := bucketOf(tx)
		if b == nil || key == "" {
			return nil
		}
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		if err := decode(v); err != nil {
			return err
		}
		ok = true
		return nil
	})
	return ok, err
}
