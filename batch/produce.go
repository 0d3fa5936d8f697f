package batch

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"time"

	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/batch/normalize"
	"github.com/juicebatch/juicebatch/checkpoint"
)

// Row outcomes, as the report names them.
const (
	outUpdated     = "updated"
	outUnchanged   = "unchanged"
	outInvalid     = "invalid"
	outRejected    = "rejected"
	outFailed      = "failed"
	outPending     = "pending"
	outWouldUpdate = "would_update"
)

// task is one update on its way to the API: the rows it came from (several
// when a repeated id was merged), the body, and, once prepared, the key.
type task struct {
	id      string
	body    normalize.Body
	implied []string // address keys cleared only because the row set the address
	rows    []checkpoint.Row
	json    []byte
	// key is the Idempotency-Key; it comes from the state when the update
	// was in flight (or failed) in an earlier invocation of this run.
	key string
	// attempts counts requests over the whole run (the report's column);
	// tries counts those of this invocation that count against
	// MaxRetries; waits counts 429s waited out.
	attempts, tries, waits int
	prepared               bool
	// since is when an earlier invocation put the update in flight (zero
	// when it was not).
	since time.Time
	// lastErr is the last retryable failure, for the report if retries run out.
	lastErr string
}

// produce is the main pass: it reads the input, carries over rows a resumed
// run already finished, normalizes and validates the rest, merges the rows
// of repeated ids, and hands each update to emit in file order (a merged
// update at the position of its last row). emit returns false when the run
// is stopping. produce returns nil when the input ends or ctx is cancelled,
// and an *InputError when the input cannot be read on.
func (r *runner) produce(ctx context.Context, emit func(*task) bool) error {
	rd, closer, err := r.src.reader()
	if err != nil {
		return err
	}
	defer closer.Close()
	r.logWarnings(rd)

	var stored *checkpoint.RowReader
	if r.resume {
		stored = r.store.RowReader(r.run.ID)
	}
	groups := map[string]*task{}
	remaining := map[string]int{}
	var order []string // group ids in order of first row, for the end-of-file flush

	for ctx.Err() == nil {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return &InputError{Err: err}
		}
		r.logWarnings(rd)
		r.seen.Add(1)

		gid := groupID(rec)
		occurs := r.scan.occurrences(gid)
		var digest [32]byte
		if r.src.stdin != nil {
			digest = recordDigest(rec)
		}
		var prev checkpoint.Row
		var have bool
		if stored != nil {
			if prev, have, err = stored.Seek(rec.Num); err != nil {
				return err
			}
			// On stdin the run's identity covers only the first bytes: a row
			// that differs from the one recorded at its position is new.
			if have && r.src.stdin != nil && prev.Digest != digest {
				have = false
			}
		}

		t := (*task)(nil)
		switch {
		case have && prev.Status == checkpoint.StatusDone && prev.Outcome != outFailed:
			r.carry(prev.Outcome)
		default:
			upd, rowErr := r.norm.Update(rec)
			if rowErr != nil {
				if err := r.finishRows(outInvalid, 0, rowErr.Error(), checkpoint.Row{
					Num: rec.Num, Line: rec.Line, CustomerID: gid, Digest: digest,
				}); err != nil {
					return err
				}
				break
			}
			row := checkpoint.Row{Num: rec.Num, Line: rec.Line, CustomerID: upd.ID, Digest: digest}
			t = &task{id: upd.ID, body: upd.Body, implied: upd.ImpliedClears, rows: []checkpoint.Row{row}}
			if have { // in flight or failed before: the same update, the same key
				t.key, t.attempts = prev.Key, prev.Attempts
				if prev.Status == checkpoint.StatusInFlight {
					t.since = prev.UpdatedAt
				}
			}
		}

		if occurs < 2 {
			if t != nil && !emit(t) {
				return nil
			}
			continue
		}
		// A repeated id: merge its valid rows in file order; send once, at
		// its last row.
		g := groups[gid]
		if g == nil {
			g = &task{id: gid}
			groups[gid] = g
			remaining[gid] = occurs
			order = append(order, gid)
		}
		if t != nil {
			mergeInto(g, t)
		}
		remaining[gid]--
		if remaining[gid] == 0 {
			delete(groups, gid)
			delete(remaining, gid)
			if len(g.rows) > 0 && !emit(g) {
				return nil
			}
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	// Groups still open (only when the first pass's counts and this pass
	// disagree, e.g. the file changed under us) are sent now rather than
	// lost.
	for _, gid := range order {
		if g := groups[gid]; g != nil && len(g.rows) > 0 {
			if !emit(g) {
				return nil
			}
		}
	}
	return nil
}

// mergeInto folds t (a later row of the same id) into g.
func mergeInto(g, t *task) {
	g.id = t.id
	g.body = normalize.Merge(g.body, t.body)
	if t.body.Address != nil {
		g.implied = t.implied
	}
	g.rows = append(g.rows, t.rows...)
	if t.key != "" {
		g.key = t.key
	}
	if !t.since.IsZero() {
		g.since = t.since
	}
	g.attempts = max(g.attempts, t.attempts)
}

// staleSince reports whether t was put in flight by an earlier invocation
// longer ago than the server keeps keys.
func (t *task) staleSince(now time.Time) bool {
	return !t.since.IsZero() && now.Sub(t.since) > staleKeyAge
}

// recordDigest identifies a record's content, so that a resumed stdin run
// can tell whether the row at a position is the one it recorded.
func recordDigest(rec *input.Record) [32]byte {
	h := sha256.New()
	for _, v := range rec.Values {
		h.Write([]byte{byte(v.State)})
		writeParts(h, []byte(v.Text))
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

func (r *runner) logWarnings(rd input.Reader) {
	for _, w := range rd.Warnings() {
		r.log.Warn(w, "input", r.src.name)
	}
}
