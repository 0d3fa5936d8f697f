package checkpoint

import (
	"container/heap"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The backlog: per scope and customer id, since when a change has been
// pending, that is decided by a run but not yet applied (the daily budget
// ran out first). The pipeline sends the oldest first, so that no change
// waits forever behind the rows at the top of a nightly file.
//
// Layout: top-level bucket "pending" with one nested bucket per scope, key =
// customer id, value = [pendingEncoding, Since (time), stamp (varint),
// order (varint)]; and
// "pending_churn": scope → [pendingEncoding, count (varint), at (time)], the
// new changes the last complete run of the scope found.
//
// The stamp names the invocation that last found the change pending. An
// invocation that has looked at every row of its input sweeps the marks it
// did not stamp ([Store.SweepPending]): their customers were applied, found
// unchanged, rejected, invalid, or are no longer in the export.
const (
	bucketPending = "pending"
	bucketChurn   = "pending_churn"

	pendingEncoding = 1
)

// PendingMark is one customer's waiting change.
type PendingMark struct {
	CustomerID string
	// Since is when a run first left the change pending (UTC).
	Since time.Time
	// Order is where the change was in the input of the run that first
	// left it pending (its row number): changes with the same Since go in
	// that order.
	Order int
}

// PendingStats sums up one scope's backlog.
type PendingStats struct {
	Scope string
	// Count is how many customers have a change waiting; Oldest is the
	// earliest Since among them (zero when Count is 0).
	Count  int
	Oldest time.Time
	// Churn is how many new changes the last complete run of the scope
	// found, at ChurnAt (zero when no run recorded it).
	Churn   int
	ChurnAt time.Time
}

func encodePending(since time.Time, stamp int64, order int) []byte {
	e := enc{b: make([]byte, 0, 28)}
	e.byte(pendingEncoding)
	e.time(utc(since))
	e.varint(stamp)
	e.varint(int64(order))
	return e.b
}

func decodePending(v []byte) (since time.Time, stamp int64, order int, err error) {
	d := dec{b: v, what: "pending change"}
	d.version(pendingEncoding)
	since = d.time()
	stamp = d.varint()
	order = d.int()
	return since, stamp, order, d.end()
}

func pendingBucket(tx *bolt.Tx, scope string) *bolt.Bucket {
	b := tx.Bucket([]byte(bucketPending))
	if b == nil || scope == "" {
		return nil
	}
	return b.Bucket([]byte(scope))
}

// MarkPending records that the customers of marks (CustomerID and Order;
// Since is ignored) have a change pending in scope, found by the
// invocation stamp at at. A customer already pending keeps its Since and
// Order. before[i] says whether marks[i] was pending before, marked by
// another invocation. Empty ids are skipped.
func (s *Store) MarkPending(scope string, marks []PendingMark, at time.Time, stamp int64) (before []bool, err error) {
	if scope == "" {
		return nil, fmt.Errorf("checkpoint: mark changes pending: empty scope")
	}
	err = s.update(func(tx *bolt.Tx) error {
		before = make([]bool, len(marks))
		all, err := tx.CreateBucketIfNotExists([]byte(bucketPending))
		if err != nil {
			return err
		}
		b, err := all.CreateBucketIfNotExists([]byte(scope))
		if err != nil {
			return err
		}
		for i, m := range marks {
			id := m.CustomerID
			if id == "" {
				continue
			}
			since, order := at, m.Order
			if v := b.Get([]byte(id)); v != nil {
				old, oldStamp, oldOrder, err := decodePending(v)
				if err != nil {
					return err
				}
				if oldStamp == stamp {
					continue
				}
				since, order = old, oldOrder
				before[i] = true
			}
			if err := b.Put([]byte(id), encodePending(since, stamp, order)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: mark %d changes pending in %s: %w", len(marks), scope, err)
	}
	return before, nil
}

// clearPending drops a customer's pending mark: its change was applied.
func clearPending(tx *bolt.Tx, scope, customerID string) error {
	b := pendingBucket(tx, scope)
	if b == nil {
		return nil
	}
	return b.Delete([]byte(customerID))
}

// PendingSince returns since when the customer has had a change pending in
// scope, and whether it has.
func (s *Store) PendingSince(scope, customerID string) (time.Time, bool, error) {
	var since time.Time
	ok, err := s.record(func(tx *bolt.Tx) *bolt.Bucket { return pendingBucket(tx, scope) }, customerID, func(v []byte) error {
		var err error
		since, _, _, err = decodePending(v)
		return err
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("checkpoint: read pending change of %s in %s: %w", customerID, scope, err)
	}
	return since, ok, nil
}

// HasPending reports whether scope has any pending change: one cursor
// step, so that a run with no backlog looks up nothing per row.
func (s *Store) HasPending(scope string) (bool, error) {
	var ok bool
	err := s.view(func(tx *bolt.Tx) error {
		if b := pendingBucket(tx, scope); b != nil {
			k, _ := b.Cursor().First()
			ok = k != nil
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("checkpoint: read pending changes in %s: %w", scope, err)
	}
	return ok, nil
}

// OldestPending returns the n longest-waiting changes of scope, oldest
// first (ties by Order, then customer id). It keeps n marks in memory, whatever the
// backlog's size.
func (s *Store) OldestPending(scope string, n int) ([]PendingMark, error) {
	if n <= 0 {
		return nil, nil
	}
	h := &newestFirst{}
	err := s.view(func(tx *bolt.Tx) error {
		b := pendingBucket(tx, scope)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			since, _, order, err := decodePending(v)
			if err != nil {
				return err
			}
			m := PendingMark{CustomerID: string(k), Since: since, Order: order}
			if h.Len() < n {
				heap.Push(h, m)
			} else if older(m, (*h)[0]) {
				(*h)[0] = m
				heap.Fix(h, 0)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read pending changes in %s: %w", scope, err)
	}
	out := make([]PendingMark, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(PendingMark)
	}
	return out, nil
}

func older(a, b PendingMark) bool {
	if !a.Since.Equal(b.Since) {
		return a.Since.Before(b.Since)
	}
	if a.Order != b.Order {
		return a.Order < b.Order
	}
	return a.CustomerID < b.CustomerID
}

// newestFirst is a max-heap by age: its root is the newest mark kept, the
// first to go when an older one turns up.
type newestFirst []PendingMark

func (h newestFirst) Len() int           { return len(h) }
func (h newestFirst) Less(i, j int) bool { return older(h[j], h[i]) }
func (h newestFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *newestFirst) Push(x any)        { *h = append(*h, x.(PendingMark)) }
func (h *newestFirst) Pop() any {
	old := *h
	m := old[len(old)-1]
	*h = old[:len(old)-1]
	return m
}

// SweepPending deletes scope's marks that the invocation stamp did not
// stamp, for an invocation that looked at every row of its input: those
// customers' changes are no longer waiting. It returns how many it deleted.
func (s *Store) SweepPending(scope string, stamp int64) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		b := pendingBucket(tx, scope)
		if b == nil {
			return nil
		}
		var doomed [][]byte
		if err := b.ForEach(func(k, v []byte) error {
			_, st, _, err := decodePending(v)
			if err != nil {
				return err
			}
			if st != stamp {
				doomed = append(doomed, append([]byte(nil), k...))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(doomed)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("checkpoint: sweep pending changes in %s: %w", scope, err)
	}
	return n, nil
}

// SetChurn records how many new changes a complete run of scope found.
func (s *Store) SetChurn(scope string, n int, at time.Time) error {
	e := enc{}
	e.byte(pendingEncoding)
	e.varint(int64(n))
	e.time(utc(at))
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucketChurn))
		if err != nil {
			return err
		}
		return b.Put([]byte(scope), e.b)
	})
	if err != nil {
		return fmt.Errorf("checkpoint: record churn of %s: %w", scope, err)
	}
	return nil
}

// PendingStats returns scope's backlog.
func (s *Store) PendingStats(scope string) (PendingStats, error) {
	st := PendingStats{Scope: scope}
	err := s.view(func(tx *bolt.Tx) error {
		return pendingStats(tx, &st)
	})
	if err != nil {
		return PendingStats{}, fmt.Errorf("checkpoint: read backlog of %s: %w", scope, err)
	}
	return st, nil
}

// Backlogs returns the backlog of every scope that has pending changes or
// a recorded churn, in byte order of scope.
func (s *Store) Backlogs() ([]PendingStats, error) {
	var out []PendingStats
	err := s.view(func(tx *bolt.Tx) error {
		seen := map[string]bool{}
		var scopes []string
		if b := tx.Bucket([]byte(bucketPending)); b != nil {
			if err := b.ForEachBucket(func(k []byte) error {
				scopes, seen[string(k)] = append(scopes, string(k)), true
				return nil
			}); err != nil {
				return err
			}
		}
		if b := tx.Bucket([]byte(bucketChurn)); b != nil {
			if err := b.ForEach(func(k, _ []byte) error {
				if !seen[string(k)] {
					scopes = append(scopes, string(k))
				}
				return nil
			}); err != nil {
				return err
			}
		}
		slices.Sort(scopes)
		for _, sc := range scopes {
			st := PendingStats{Scope: sc}
			if err := pendingStats(tx, &st); err != nil {
				return err
			}
			out = append(out, st)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read backlogs: %w", err)
	}
	return out, nil
}

func pendingStats(tx *bolt.Tx, st *PendingStats) error {
	if b := pendingBucket(tx, st.Scope); b != nil {
		if err := b.ForEach(func(_, v []byte) error {
			since, _, _, err := decodePending(v)
			if err != nil {
				return err
			}
			st.Count++
			if st.Oldest.IsZero() || since.Before(st.Oldest) {
				st.Oldest = since
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if b := tx.Bucket([]byte(bucketChurn)); b != nil && st.Scope != "" {
		if v := b.Get([]byte(st.Scope)); v != nil {
			d := dec{b: v, what: "churn"}
			d.version(pendingEncoding)
			st.Churn = d.int()
			st.ChurnAt = d.time()
			if err := d.end(); err != nil {
				return err
			}
		}
	}
	return nil
}
