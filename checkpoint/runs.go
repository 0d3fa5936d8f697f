package checkpoint

import (
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Run is one run's identity, progress and counters, as the pipeline records
// it with [Store.PutRun]. Times come back in UTC.
type Run struct {
	ID             string // key; non-empty
	Command        string
	Input          string
	InputDigest    string
	Target         string
	KeyFingerprint string

	StartedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time // zero while not finished

	TotalRows int            // -1 when unknown (stdin)
	Status    string         // "running", "stopped", "finished"
	Outcomes  map[string]int // outcome → rows; never nil when read back

	Requests, Retries, RateLimited, ExitCode int
	// Reads is the run's read requests (GET), over all its invocations.
	Reads int
}

// GetRun returns the run with id, and whether there is one.
func (s *Store) GetRun(id string) (Run, bool, error) {
	var r Run
	var ok bool
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketRuns))
		if b == nil {
			return nil
		}
		v := b.Get([]byte(id))
		if v == nil {
			return nil
		}
		var err error
		r, err = decodeRun(v)
		ok = err == nil
		return err
	})
	if err != nil {
		return Run{}, false, fmt.Errorf("checkpoint: read run %s: %w", id, err)
	}
	return r, ok, nil
}

// PutRun stores r under r.ID, replacing what was there, and makes it durable.
func (s *Store) PutRun(r Run) error {
	if r.ID == "" {
		return errors.New("checkpoint: put run: empty run id")
	}
	r.StartedAt, r.UpdatedAt, r.FinishedAt = utc(r.StartedAt), utc(r.UpdatedAt), utc(r.FinishedAt)
	v := encodeRun(&r)
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(bucketRuns))
		if err != nil {
			return err
		}
		return b.Put([]byte(r.ID), v)
	})
	if err != nil {
		return fmt.Errorf("checkpoint: put run %s: %w", r.ID, err)
	}
	return nil
}

// Runs returns every run, newest StartedAt first (ties by id).
func (s *Store) Runs() ([]Run, error) {
	var runs []Run
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		runs, err = allRuns(tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list runs: %w", err)
	}
	return runs, nil
}

func allRuns(tx *bolt.Tx) ([]Run, error) {
	b := tx.Bucket([]byte(bucketRuns))
	if b == nil {
		return nil, nil
	}
	var runs []Run
	err := b.ForEach(func(_, v []byte) error {
		r, err := decodeRun(v)
		if err != nil {
			return err
		}
		runs = append(runs, r)
		return nil
	})
	sort.Slice(runs, func(i, j int) bool {
		if !runs[i].StartedAt.Equal(runs[j].StartedAt) {
			return runs[i].StartedAt.After(runs[j].StartedAt)
		}
		return runs[i].ID < runs[j].ID
	})
	return runs, err
}

// quotaRetention is how many days of send instants PruneRuns keeps before
// today (the pacer needs the last day's); quotaDayRetention is how many
// days of quota use and read counts it keeps. Those are a few bytes a key
// and day, and report.html and status --html chart them across a
// migration's weeks, so they are kept over a year.
const (
	quotaRetention    = 7
	quotaDayRetention = 400
)

// resumableRuns is how many unfinished runs (running or stopped) keep their
// row records: the newest ones, which a nightly job resumes. An older
// unfinished run keeps its summary; if it is ever re-invoked, it goes on
// like a finished one (see the package doc, "What is kept").
const resumableRuns = 3

// StatusFinished is the Run.Status of a run that went through its input to
// the end. Such a run keeps no row records after PruneRuns.
const StatusFinished = "finished"

// deleteChunk is how many row records one transaction of DeleteRows
// deletes: each transaction's pages are dropped from the mapping after it,
// so it bounds what the deletion keeps resident (about 0.4 MB of row
// records; 32768 left up to 24 MB mapped at a million rows).
const deleteChunk = 8192

// DeleteRows deletes the row records of run runID (its summary stays).
//
// It deletes them a chunk at a time, dropping the mapped pages after each
// (see touched): deleting a bucket whole reads every one of its pages, and
// a million-row run's rows would all become resident at once. A crash
// midway leaves some rows, which the next PruneRuns deletes.
func (s *Store) DeleteRows(runID string) error {
	for {
		var done bool
		err := s.update(func(tx *bolt.Tx) error {
			rows := tx.Bucket([]byte(bucketRows))
			if rows == nil || rows.Bucket([]byte(runID)) == nil {
				done = true
				return nil
			}
			b := rows.Bucket([]byte(runID))
			c := b.Cursor()
			n := 0
			for k, v := c.First(); k != nil && n < deleteChunk; k, v = c.First() {
				if v == nil { // not a row: leave it to DeleteBucket
					break
				}
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			if n < deleteChunk {
				done = true
				return rows.DeleteBucket([]byte(runID))
			}
			return nil
		})
		s.dropNow()
		if err != nil {
			return fmt.Errorf("checkpoint: delete rows of run %s: %w", runID, err)
		}
		if done {
			return nil
		}
	}
}

// PruneRuns deletes all but the newest keep runs (by StartedAt) with their
// rows; the rows of every finished run (Status "finished"), of unfinished
// runs but the newest three, and of any run id that has no run record (so
// write the run with PutRun before its rows). It also drops quota days more
// than 7 days before today (UTC, by Options.Now) and the send instants of
// fingerprints that sent nothing since. Applied records are kept: they are
// the change detection. Then, if free pages make up a quarter of the file,
// it compacts it (see MaybeCompact); a failed compaction is returned but
// leaves the file as it was.
func (s *Store) PruneRuns(keep int) error {
	doomed, err := s.pruneRuns(keep)
	if err != nil {
		return err
	}
	for _, id := range doomed {
		if err := s.DeleteRows(id); err != nil {
			return fmt.Errorf("checkpoint: prune runs: %w", err)
		}
	}
	if s.db.IsReadOnly() {
		return nil
	}
	_, err = s.MaybeCompact()
	return err
}

// pruneRuns deletes the runs beyond keep, old quota days and send instants,
// and returns the runs whose rows are to go (PruneRuns deletes them, a
// chunk at a time).
func (s *Store) pruneRuns(keep int) (doomed []string, err error) {
	if keep < 0 {
		return nil, fmt.Errorf("checkpoint: prune runs: keep %d is negative", keep)
	}
	now := s.now().UTC()
	cutoffDay := now.AddDate(0, 0, -quotaDayRetention).Format(dayLayout)
	cutoff := now.AddDate(0, 0, -quotaRetention).UnixNano()
	err = s.update(func(tx *bolt.Tx) error {
		runs, err := allRuns(tx)
		if err != nil {
			return err
		}
		kept := make(map[string]bool, keep) // runs whose rows are kept
		unfinished := 0
		for i, r := range runs {
			if i < keep {
				if r.Status != StatusFinished && unfinished < resumableRuns {
					kept[r.ID] = true
					unfinished++
				}
				continue
			}
			if err := tx.Bucket([]byte(bucketRuns)).Delete([]byte(r.ID)); err != nil {
				return err
			}
		}
		if rows := tx.Bucket([]byte(bucketRows)); rows != nil {
			if err := rows.ForEachBucket(func(name []byte) error {
				if !kept[string(name)] {
					doomed = append(doomed, string(name))
				}
				return nil
			}); err != nil {
				return err
			}
		}
		// Quota days and read counts per day share a layout and a cutoff.
		for _, name := range []string{bucketQuota, bucketReads} {
			q := tx.Bucket([]byte(name))
			if q == nil {
				continue
			}
			var fps [][]byte
			if err := q.ForEachBucket(func(k []byte) error {
				fps = append(fps, k)
				return nil
			}); err != nil {
				return err
			}
			for _, fp := range fps {
				fb := q.Bucket(fp)
				if err := deleteKeys(fb, func(day, _ []byte) bool { return string(day) < cutoffDay }); err != nil {
					return err
				}
				if k, _ := fb.Cursor().First(); k == nil {
					if err := q.DeleteBucket(fp); err != nil {
						return err
					}
				}
			}
		}
		if rb := tx.Bucket([]byte(bucketRecent)); rb != nil {
			return deleteKeys(rb, func(_, v []byte) bool {
				ts, err := decodeRecent(v)
				return err == nil && (len(ts) == 0 || ts[len(ts)-1] < cutoff)
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint: prune runs: %w", err)
	}
	return doomed, nil
}

// deleteKeys deletes the plain keys of b whose key and value match.
func deleteKeys(b *bolt.Bucket, match func(k, v []byte) bool) error {
	var doomed [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		if v != nil && match(k, v) {
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
	return nil
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}
