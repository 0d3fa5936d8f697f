package checkpoint

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketRejected holds remembered rejections: scope → customer id → one
// Rejection. A bucket of its own, so older state files simply have none.
const bucketRejected = "rejected"

// Rejection is an update the server refused for good (400, 404 or 422),
// remembered so that the identical update is not sent again night after
// night.
type Rejection struct {
	// BodyDigest is SHA-256 of the exact body that was refused; another
	// body for the same customer is not covered by the rejection.
	BodyDigest [32]byte
	Status     int
	Error      string // the report's error cell at the time
	RunID      string
	At         time.Time // UTC
}

type rejectionJSON struct {
	Body   []byte    `json:"body"`
	Status int       `json:"status"`
	Error  string    `json:"error"`
	Run    string    `json:"run"`
	At     time.Time `json:"at"`
}

// PutRejection remembers that the server refused an update to customerID in
// scope. A later rejection of the same customer replaces it.
func (s *Store) PutRejection(scope, customerID string, r Rejection) error {
	v, err := json.Marshal(rejectionJSON{Body: r.BodyDigest[:], Status: r.Status, Error: r.Error, Run: r.RunID, At: utc(r.At)})
	if err != nil {
		return fmt.Errorf("checkpoint: encode rejection of %s: %w", customerID, err)
	}
	err = s.update(func(tx *bolt.Tx) error {
		all, err := tx.CreateBucketIfNotExists([]byte(bucketRejected))
		if err != nil {
			return err
		}
		b, err := all.CreateBucketIfNotExists([]byte(scope))
		if err != nil {
			return err
		}
		return b.Put([]byte(customerID), v)
	})
	if err != nil {
		return fmt.Errorf("checkpoint: remember rejection of %s in %s: %w", customerID, scope, err)
	}
	return nil
}

// ForgetRejection drops the remembered rejection of customerID in scope, if
// any: the customer has since taken an update.
func (s *Store) ForgetRejection(scope, customerID string) error {
	err := s.update(func(tx *bolt.Tx) error {
		b := rejectedBucket(tx, scope)
		if b == nil || b.Get([]byte(customerID)) == nil {
			return nil
		}
		return b.Delete([]byte(customerID))
	})
	if err != nil {
		return fmt.Errorf("checkpoint: forget rejection of %s in %s: %w", customerID, scope, err)
	}
	return nil
}

// RejectionOf returns the remembered rejection of customerID in scope, and
// whether there is one.
func (s *Store) RejectionOf(scope, customerID string) (Rejection, bool, error) {
	var out Rejection
	ok, err := s.record(func(tx *bolt.Tx) *bolt.Bucket { return rejectedBucket(tx, scope) }, customerID, func(v []byte) error {
		var j rejectionJSON
		if err := json.Unmarshal(v, &j); err != nil || len(j.Body) != 32 {
			return &corruptRecord{what: "rejection", reason: "bad encoding"}
		}
		copy(out.BodyDigest[:], j.Body)
		out.Status, out.Error, out.RunID, out.At = j.Status, j.Error, j.Run, j.At.UTC()
		return nil
	})
	if err != nil {
		return Rejection{}, false, fmt.Errorf("checkpoint: read rejection of %s in %s: %w", customerID, scope, err)
	}
	return out, ok, nil
}

func rejectedBucket(tx *bolt.Tx, scope string) *bolt.Bucket {
	b := tx.Bucket([]byte(bucketRejected))
	if b == nil || scope == "" {
		return nil
	}
	return b.Bucket([]byte(scope))
}
