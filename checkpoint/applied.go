package checkpoint

import (
	"fmt"
	"maps"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Applied is what the server last accepted (with a 200) for one customer in
// one scope: a digest per field, never the values.
type Applied struct {
	// Fields maps a field name to the digest of the value last applied.
	Fields map[string][32]byte
	// Digest is DigestFields(Fields):
	//
	//	sha256( for each name in ascending byte order:
	//	        uint32 big-endian len(name) || name || Fields[name] )
	//
	// It changes exactly when a field is added or a field's digest changes.
	Digest [32]byte
	// At is when the last update was applied (UTC).
	At time.Time
}

// Applied returns the customer's Applied record in scope, and whether there
// is one. It costs one short read transaction; for many lookups at once use
// AppliedMany.
func (s *Store) Applied(scope, customerID string) (Applied, bool, error) {
	var a Applied
	var ok bool
	err := s.view(func(tx *bolt.Tx) error {
		b := appliedBucket(tx, scope)
		if b == nil || customerID == "" {
			return nil
		}
		v := b.Get([]byte(customerID))
		if v == nil {
			return nil
		}
		var err error
		a, err = decodeApplied(v)
		ok = err == nil
		return err
	})
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

// mergeApplied overlays u.Fields on the stored record and recomputes Digest.
func mergeApplied(tx *bolt.Tx, u *AppliedUpdate) error {
	all, err := tx.CreateBucketIfNotExists([]byte(bucketApplied))
	if err != nil {
		return err
	}
	b, err := all.CreateBucketIfNotExists([]byte(u.Scope))
	if err != nil {
		return err
	}
	a := Applied{Fields: make(map[string][32]byte, len(u.Fields))}
	if v := b.Get([]byte(u.CustomerID)); v != nil {
		if a, err = decodeApplied(v); err != nil {
			return err
		}
	}
	maps.Copy(a.Fields, u.Fields)
	a.Digest = DigestFields(a.Fields)
	a.At = utc(u.At)
	return b.Put([]byte(u.CustomerID), encodeApplied(&a))
}
