package checkpoint

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Quota is the number of requests sent with one API-key fingerprint on one
// UTC day, across runs and restarts.
type Quota struct {
	Fingerprint string
	Day         string // "2006-01-02"
	Used        int
}

// QuotaUsed returns the requests charged to fingerprint on day (0 if none).
func (s *Store) QuotaUsed(fingerprint, day string) (int, error) {
	var used int
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketQuota))
		if b == nil || fingerprint == "" {
			return nil
		}
		if b = b.Bucket([]byte(fingerprint)); b == nil || day == "" {
			return nil
		}
		var err error
		used, err = decodeCount(b.Get([]byte(day)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("checkpoint: read quota of %s on %s: %w", fingerprint, day, err)
	}
	return used, nil
}

// Quotas returns every recorded quota, by fingerprint and then day.
func (s *Store) Quotas() ([]Quota, error) {
	var out []Quota
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketQuota))
		if b == nil {
			return nil
		}
		return b.ForEachBucket(func(fp []byte) error {
			return b.Bucket(fp).ForEach(func(day, v []byte) error {
				used, err := decodeCount(v)
				if err != nil {
					return err
				}
				out = append(out, Quota{Fingerprint: string(fp), Day: string(day), Used: used})
				return nil
			})
		})
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list quotas: %w", err)
	}
	return out, nil
}

// RecentSends returns the last (up to 256) instants at which requests were
// recorded for fingerprint, oldest first, in UTC. A pacer can seed a sliding
// window with them after a restart.
func (s *Store) RecentSends(fingerprint string) ([]time.Time, error) {
	var ts []int64
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketRecent))
		if b == nil || fingerprint == "" {
			return nil
		}
		var err error
		ts, err = decodeRecent(b.Get([]byte(fingerprint)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read recent sends of %s: %w", fingerprint, err)
	}
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[i] = time.Unix(0, t).UTC()
	}
	return out, nil
}
