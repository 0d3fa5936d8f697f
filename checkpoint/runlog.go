package checkpoint

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// flushRows is how many buffered rows make Put write them out.
const flushRows = 4096

// recentCap is how many send instants are kept per fingerprint.
const recentCap = 256

// dayLayout is the format of Attempt.Day and quota keys.
const dayLayout = "2006-01-02"

// Attempt is one request about to leave: the rows it carries and what it is
// charged to.
type Attempt struct {
	// Rows are the rows the request carries (a merged group). Each must
	// have Status StatusInFlight, its Key and its Attempts set.
	Rows []Row
	// Fingerprint identifies the API key (never the key itself).
	Fingerprint string
	// Day is the UTC day "2006-01-02" the request is charged to.
	Day string
	// Budget is the number of requests allowed for Fingerprint and Day; a
	// negative Budget means no limit (the request is still counted).
	Budget int
	// At is when the request is about to leave (required); it is kept
	// among the fingerprint's recent sends.
	At time.Time
}

// AppliedUpdate is what the server accepted for one customer: the digest of
// each field the update set. Scope separates targets (for example one per
// API base URL and key fingerprint).
type AppliedUpdate struct {
	Scope      string
	CustomerID string
	Fields     map[string][32]byte
	At         time.Time
	// Raw is the digest of the raw input row(s) the update was made from,
	// covering everything that shapes the body (see [Applied.Raw]). It
	// replaces the stored one; zero (unknown: for example an update made
	// from live values, not from an input row) clears it, so that no row
	// is taken for unchanged on the strength of an older row.
	Raw [32]byte
}

// RawUpdate records, for a customer whose row was found unchanged by
// comparing its normalized update, the digest of that raw row (see
// [RunLog.PutUnchanged]).
type RawUpdate struct {
	Scope      string
	CustomerID string
	Raw        [32]byte
}

// RunLog writes one run's rows. It is safe for concurrent use by the
// producer and many workers; calls are applied in the order they take its
// lock, so a row's later state is never overwritten by an earlier one that
// was still buffered. Get it from [Store.RunLog]; the zero value is not
// usable.
type RunLog struct {
	s     *Store
	runID string

	mu   sync.Mutex
	buf  []Row       // Put rows not yet written
	raws []RawUpdate // PutUnchanged raw digests not yet written
}

// RunLog returns the writer for run runID. Calls with the same id return
// the same RunLog, so all writers of a run share one buffer. Close flushes
// every RunLog's buffer.
func (s *Store) RunLog(runID string) *RunLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.logs[runID]; ok {
		return l
	}
	l := &RunLog{s: s, runID: runID}
	s.logs[runID] = l
	return l
}

// Put buffers r, a row decided without a request (invalid, unchanged,
// carried over). It is not durable until the buffer is written: every
// few thousand rows (this Put then returns the write's error), or by the
// next Flush, Intent or Outcome.
func (l *RunLog) Put(r Row) error {
	if l.runID == "" || r.Num < 1 {
		return l.checkRows("put row", []Row{r})
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, r)
	if len(l.buf)+len(l.raws) < flushRows {
		return nil
	}
	if err := l.commitLocked(nil); err != nil {
		return fmt.Errorf("checkpoint: write rows of run %s: %w", l.runID, err)
	}
	return nil
}

// PutUnchanged buffers r like Put and, with it, u: the raw-row digest of
// a row found unchanged the long way, so that the same row is recognised
// from its raw digest next time. Like Put it is not durable until the
// buffer is written; losing it costs only that work again.
func (l *RunLog) PutUnchanged(r Row, u RawUpdate) error {
	if l.runID == "" || r.Num < 1 {
		return l.checkRows("put row", []Row{r})
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, r)
	return l.addRawLocked(u)
}

// PutRaw buffers u alone, for a row found unchanged the long way that
// leaves no record of its own (the caller reports it from memory): like
// PutUnchanged without the row.
func (l *RunLog) PutRaw(u RawUpdate) error {
	if l.runID == "" {
		return l.checkRows("put raw digest", nil)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addRawLocked(u)
}

// addRawLocked buffers u (when it names a customer and a digest) and
// writes the buffer once it holds flushRows entries. l.mu must be held.
func (l *RunLog) addRawLocked(u RawUpdate) error {
	if u.Scope != "" && u.CustomerID != "" && u.Raw != ([32]byte{}) {
		l.raws = append(l.raws, u)
	}
	if len(l.buf)+len(l.raws) < flushRows {
		return nil
	}
	if err := l.commitLocked(nil); err != nil {
		return fmt.Errorf("checkpoint: write rows of run %s: %w", l.runID, err)
	}
	return nil
}

// Flush writes the buffered rows durably.
func (l *RunLog) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) == 0 && len(l.raws) == 0 {
		return nil
	}
	if err := l.commitLocked(nil); err != nil {
		return fmt.Errorf("checkpoint: write rows of run %s: %w", l.runID, err)
	}
	return nil
}

// Intent records, durably and before it returns, that a request is about to
// leave ("intent before effect"). In one transaction it writes the buffered
// rows, charges one request to a.Fingerprint and a.Day, writes a.Rows (in
// flight, with their keys) and adds a.At to the fingerprint's recent sends
// (the last 256 are kept).
//
// When the request would exceed a.Budget, Intent returns an error matching
// ErrBudgetSpent and writes nothing (buffered rows stay buffered).
func (l *RunLog) Intent(a Attempt) error {
	if err := l.checkAttempt(a); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var spent error
	err := l.commitLocked(func(tx *bolt.Tx, rows *bolt.Bucket) error {
		q, err := tx.CreateBucketIfNotExists([]byte(bucketQuota))
		if err != nil {
			return err
		}
		fq, err := q.CreateBucketIfNotExists([]byte(a.Fingerprint))
		if err != nil {
			return err
		}
		used, err := decodeCount(fq.Get([]byte(a.Day)))
		if err != nil {
			return err
		}
		if a.Budget >= 0 && used+1 > a.Budget {
			spent = fmt.Errorf("checkpoint: record intent for run %s: %d of %d requests for %s on %s already used: %w",
				l.runID, used, a.Budget, a.Fingerprint, a.Day, ErrBudgetSpent)
			return spent // rolls back: nothing written
		}
		if err := fq.Put([]byte(a.Day), encodeCount(used+1)); err != nil {
			return err
		}
		if err := putRows(rows, a.Rows); err != nil {
			return err
		}
		return addRecent(tx, a.Fingerprint, a.At)
	})
	if err != nil {
		if spent != nil && errors.Is(err, ErrBudgetSpent) {
			return spent
		}
		return fmt.Errorf("checkpoint: record intent for run %s: %w", l.runID, err)
	}
	return nil
}

// Refund gives back one request charged by Intent to fingerprint and day,
// for a request that never left this machine (the connection could not even
// be opened): the budget counts requests sent. It never goes below zero.
func (l *RunLog) Refund(fingerprint, day string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.commitLocked(func(tx *bolt.Tx, _ *bolt.Bucket) error {
		q := tx.Bucket([]byte(bucketQuota))
		if q == nil {
			return nil
		}
		fq := q.Bucket([]byte(fingerprint))
		if fq == nil {
			return nil
		}
		used, err := decodeCount(fq.Get([]byte(day)))
		if err != nil || used == 0 {
			return err
		}
		return fq.Put([]byte(day), encodeCount(used-1))
	})
	if err != nil {
		return fmt.Errorf("checkpoint: refund a request of run %s: %w", l.runID, err)
	}
	return nil
}

// Outcome durably writes rows in their final state, together with the
// buffered rows. When applied is not nil, its Fields are merged into the
// customer's Applied record for applied.Scope (fields it names are replaced,
// others kept), Digest is recomputed and At set, and the customer's pending
// mark (see [Store.MarkPending]) is dropped, all in the same transaction.
func (l *RunLog) Outcome(rows []Row, applied *AppliedUpdate) error {
	if err := l.checkRows("record outcome", rows); err != nil {
		return err
	}
	if applied != nil && (applied.Scope == "" || applied.CustomerID == "") {
		return fmt.Errorf("checkpoint: record outcome for run %s: applied update needs a scope and a customer id", l.runID)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.commitLocked(func(tx *bolt.Tx, b *bolt.Bucket) error {
		if err := putRows(b, rows); err != nil {
			return err
		}
		if applied == nil {
			return nil
		}
		if err := clearPending(tx, applied.Scope, applied.CustomerID); err != nil {
			return err
		}
		return mergeApplied(tx, applied)
	})
	if err != nil {
		return fmt.Errorf("checkpoint: record outcome for run %s: %w", l.runID, err)
	}
	return nil
}

// commitLocked writes the buffered rows and whatever extra writes, in one
// transaction; the buffer is emptied only if it commits. l.mu must be held.
func (l *RunLog) commitLocked(extra func(tx *bolt.Tx, rows *bolt.Bucket) error) error {
	err := l.s.update(func(tx *bolt.Tx) error {
		all, err := tx.CreateBucketIfNotExists([]byte(bucketRows))
		if err != nil {
			return err
		}
		b, err := all.CreateBucketIfNotExists([]byte(l.runID))
		if err != nil {
			return err
		}
		if err := putRows(b, l.buf); err != nil {
			return err
		}
		for i := range l.raws {
			if err := setRaw(tx, &l.raws[i]); err != nil {
				return err
			}
		}
		if extra != nil {
			return extra(tx, b)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A commit reads the pages it changes: a path of branch pages and a
	// leaf for each applied record and for the quota and send instants
	// (rows are written in order, many to a page).
	l.s.touched(len(l.raws) + len(l.buf)/32 + 8)
	clear(l.buf) // drop string references
	l.buf = l.buf[:0]
	clear(l.raws)
	l.raws = l.raws[:0]
	return nil
}

func (l *RunLog) checkRows(op string, rows []Row) error {
	if l.runID == "" {
		return fmt.Errorf("checkpoint: %s: empty run id", op)
	}
	for _, r := range rows {
		if r.Num < 1 {
			return fmt.Errorf("checkpoint: %s for run %s: row number %d; rows are numbered from 1", op, l.runID, r.Num)
		}
	}
	return nil
}

func (l *RunLog) checkAttempt(a Attempt) error {
	if err := l.checkRows("record intent", a.Rows); err != nil {
		return err
	}
	var problem string
	switch {
	case len(a.Rows) == 0:
		problem = "no rows"
	case a.Fingerprint == "":
		problem = "no key fingerprint"
	case a.At.IsZero():
		problem = "no send time"
	default:
		if d, err := time.Parse(dayLayout, a.Day); err != nil || d.Format(dayLayout) != a.Day {
			problem = fmt.Sprintf("day %q is not YYYY-MM-DD", a.Day)
		}
		for _, r := range a.Rows {
			if r.Status != StatusInFlight || r.Key == "" {
				problem = fmt.Sprintf("row %d is not in flight with a key", r.Num)
				break
			}
		}
	}
	if problem != "" {
		return fmt.Errorf("checkpoint: record intent for run %s: %s", l.runID, problem)
	}
	return nil
}

// addRecent inserts at into the fingerprint's sorted send instants and keeps
// the newest recentCap.
func addRecent(tx *bolt.Tx, fingerprint string, at time.Time) error {
	b, err := tx.CreateBucketIfNotExists([]byte(bucketRecent))
	if err != nil {
		return err
	}
	ts, err := decodeRecent(b.Get([]byte(fingerprint)))
	if err != nil {
		return err
	}
	t := at.UnixNano()
	i := sort.Search(len(ts), func(i int) bool { return ts[i] > t })
	ts = append(ts, 0)
	copy(ts[i+1:], ts[i:])
	ts[i] = t
	if len(ts) > recentCap {
		ts = ts[len(ts)-recentCap:]
	}
	return b.Put([]byte(fingerprint), encodeRecent(ts))
}
