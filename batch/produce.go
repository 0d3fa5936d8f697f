package batch

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"

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
	// firstDone, for an update of the backlog's first sub-pass, reports
	// that it has had its first attempt (backlog.go).
	firstDone func()
	// refreshed is true when the customer's live record was read and
	// differs from the update (see refresh.go): the state's memory no
	// longer decides, and livePrev (the live fields' digest) goes into the
	// key in place of the last applied digest. diffs are the differing
	// fields, for plan.
	refreshed bool
	livePrev  []byte
	diffs     []string
	// raw is the raw-row digest of the one row the update came from (zero
	// for a merged update), recorded with what is applied.
	raw [32]byte
	// rejectedEarlier is the remembered 404 of this very update, when it
	// is checked by a read (refresh.go): still not found, the row keeps
	// that memory's run and date.
	rejectedEarlier *checkpoint.Rejection
}

// produce is the main pass: it reads the input, carries over rows a resumed
// run already finished, normalizes and validates the rest, merges the rows
// of repeated ids, and hands each update to emit in file order (a merged
// update at the position of its last row). emit returns false when the run
// is stopping. produce returns nil when the input ends or ctx is cancelled,
// and an *InputError when the input cannot be read on.
//
// Three stages: one goroutine reads records (a CSV or JSON decoder is
// sequential) in chunks; GOMAXPROCS goroutines normalize chunks (phone
// parsing dominates the cost of a national-format file); this goroutine
// takes the chunks back in order and merges and emits, so everything after
// normalization sees the file in order.
func (r *runner) produce(ctx context.Context, emit func(*task) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rd, closer, err := r.src.reader(r.deferDecode())
	if err != nil {
		return err
	}
	defer closer.Close()
	r.logWarnings(rd)

	workers := max(1, runtime.GOMAXPROCS(0))
	// ordered holds chunks in file order; its capacity bounds the rows read
	// ahead (memory does not grow with the file). Larger chunks get fewer
	// places, so the rows read ahead stay about the same.
	size := r.chunkRows()
	places := max(1, 2*workers*chunkSize/size)
	ordered := make(chan *chunk, places)
	work := make(chan *chunk, places)
	var g errgroup.Group
	g.Go(func() error {
		defer close(ordered)
		defer close(work)
		return r.readChunks(ctx, rd, size, ordered, work)
	})
	for range workers {
		g.Go(func() error {
			for c := range work {
				r.normalizeChunk(c)
				close(c.done)
			}
			return nil
		})
	}
	err = r.assemble(ctx, ordered, emit)
	cancel()
	for range ordered { // let the reader finish if assemble stopped early
	}
	if rerr := g.Wait(); err == nil {
		err = rerr
	}
	return err
}

// deferDecode reports whether the main pass leaves decoding CSV records to
// the normalizing goroutines (input.Options.Deferred), so that the one
// goroutine that must read the file in order only splits it into records
// (and reads the id, by which a backlog sub-pass picks its rows): not on
// stdin, where each record's content digest is taken as it is read.
func (r *runner) deferDecode() bool { return r.src.stdin == nil }

// chunkSize is how many records travel together between the stages: large
// enough that channel operations cost nothing per row, small enough that a
// stop takes effect at once.
const chunkSize = 256

// shortcutChunkSize is the chunk size when rows are looked up by raw digest
// (runner.shortcut): a chunk's lookups are one sorted walk of the state's
// applied records (checkpoint.Store.RawDigests), and the more ids a walk
// holds, the closer together in the file its lookups fall. At 1M customers
// (about 32,000 leaf pages) 2,048 sorted ids are some 16 pages apart, so
// a lookup often finds its page already mapped by the one before.
const shortcutChunkSize = 2048

// chunkRows is how many records a chunk holds in this run: one on standard
// input (a slow pipe: no row waits for the rows after it), shortcutChunkSize
// when rows are looked up by raw digest, else chunkSize.
func (r *runner) chunkRows() int {
	switch {
	case r.src.stdin != nil:
		return 1
	case r.shortcut():
		return shortcutChunkSize
	}
	return chunkSize
}

// chunk is a run of consecutive records on their way through produce.
type chunk struct {
	items []item
	err   error // set on the last chunk when the input could not be read on
	done  chan struct{}
}

// item is one record and what the stages found out about it.
type item struct {
	rec    *input.Record
	digest [32]byte        // of the content, on stdin only
	prev   *checkpoint.Row // this row's record from an earlier invocation, if any
	carry  bool            // finished earlier: not normalized again
	// raw is the raw-row digest (see rawDigest); unchanged says it equals
	// the one of the update last applied to the row's customer, so the row
	// is unchanged and was not normalized.
	raw       [32]byte
	unchanged bool
	upd       normalize.Update
	rowErr    *input.RowError
}

// readChunks is produce's first stage.
func (r *runner) readChunks(ctx context.Context, rd input.Reader, size int, ordered, work chan<- *chunk) error {
	var stored *checkpoint.RowReader
	if r.resume || r.pass == passBacklog {
		stored = r.store.RowReader(r.run.ID)
	}
	send := func(c *chunk) bool {
		select {
		case ordered <- c:
		case <-ctx.Done():
			return false
		}
		select {
		case work <- c:
			return true
		case <-ctx.Done():
			c.items = nil // never normalized: dropped, like the rows not read
			close(c.done)
			return false
		}
	}
	newChunk := func() *chunk { return &chunk{items: make([]item, 0, size), done: make(chan struct{})} }
	c := newChunk()
	for ctx.Err() == nil {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.err = &InputError{Err: err}
			break
		}
		r.logWarnings(rd)
		if r.skipRow(groupID(rec)) {
			continue // another pass's customer (backlog.go)
		}
		r.seen.Add(1)
		it := item{rec: rec}
		if r.src.stdin != nil {
			it.digest = recordDigest(rec)
		}
		if stored != nil {
			prev, have, err := stored.Seek(rec.Num)
			if err != nil {
				c.err = &StateError{Err: err}
				break
			}
			if have {
				r.hadRecord(rec.Num)
			}
			if r.pass == passBacklog && r.wasQuiet(rec.Num) {
				it.carry = true // found unchanged by the main pass, without a record
			}
			// On stdin the run's identity covers only the first bytes: a row
			// that differs from the one recorded at its position is new.
			if have && (r.src.stdin == nil || prev.Digest == it.digest) {
				it.prev = &prev
				it.carry = prev.Status == checkpoint.StatusDone && prev.Outcome != outFailed
			}
		}
		c.items = append(c.items, it)
		if len(c.items) == size {
			if !send(c) {
				return nil
			}
			c = newChunk()
		}
	}
	if len(c.items) > 0 || c.err != nil {
		send(c)
	}
	return nil
}

// assemble is produce's last stage: in file order, it records carried-over
// and invalid rows, merges repeated ids, and emits updates.
func (r *runner) assemble(ctx context.Context, ordered <-chan *chunk, emit func(*task) bool) error {
	groups := map[string]*task{}
	remaining := map[string]int{}
	var order []string // group ids in order of first row, for the end-of-file flush
	for c := range ordered {
		<-c.done
		for i := range c.items {
			it := &c.items[i]
			rec := it.rec
			gid := groupID(rec)
			occurs := r.scan.occurrences(gid)
			t := (*task)(nil)
			switch {
			case it.carry:
				if r.pass != passBacklog {
					r.carry(rec.Num, it.prev.Outcome)
				}
			case it.unchanged:
				if r.pass == passBacklog {
					break // the backlog pass records nothing
				}
				if err := r.finishRows(outUnchanged, 0, "", checkpoint.Row{
					Num: rec.Num, Line: rec.Line, CustomerID: gid, Digest: it.digest,
				}); err != nil {
					return err
				}
			case it.rowErr != nil:
				if r.pass == passBacklog {
					break // the backlog pass records nothing
				}
				if err := r.finishRows(outInvalid, 0, it.rowErr.Error(), checkpoint.Row{
					Num: rec.Num, Line: rec.Line, CustomerID: gid, Digest: it.digest,
				}); err != nil {
					return err
				}
			default:
				upd := it.upd
				row := checkpoint.Row{Num: rec.Num, Line: rec.Line, CustomerID: upd.ID, Digest: it.digest,
					Warnings: normalize.JoinWarnings(upd.Warnings)}
				t = &task{id: upd.ID, body: upd.Body, implied: upd.ImpliedClears, rows: []checkpoint.Row{row}}
				if occurs < 2 {
					t.raw = it.raw // a merged update has none: it comes from several rows
				}
				if it.prev != nil { // in flight or failed before: the same update, the same key
					t.key, t.attempts = it.prev.Key, it.prev.Attempts
					if it.prev.Status == checkpoint.StatusInFlight {
						t.since = it.prev.UpdatedAt
					}
				}
			}
			if occurs < 2 {
				if t != nil && !emit(t) {
					return nil
				}
				continue
			}
			// A repeated id: merge its valid rows in file order; send once,
			// at its last row.
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
		if c.err != nil {
			return c.err
		}
	}
	if ctx.Err() != nil {
		return nil // stopped: open groups stay unsent (pending)
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
		if r.pass == passAll || r.pass == passPriority { // said once, on the first read
			r.log.Warn(w, "input", r.src.name)
		}
	}
}
