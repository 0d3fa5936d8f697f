package batch

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/live"
	"github.com/juicebatch/juicebatch/report"
)

// Refresh modes (--refresh).
const (
	RefreshAuto = "auto"
	RefreshAll  = "all"
	RefreshNone = "none"
)

// readWorkers is how many rows wait on a read at once in apply: the read
// pace releases one request at a time anyway; a few workers keep the next
// read ready while one is answered.
const readWorkers = 4

// maxListingAge is how long a listing is trusted: one run, and never more
// than a day.
const maxListingAge = 24 * time.Hour

// refresher reads live records before rows are written, for --refresh and
// verify: it decides which rows need a read, reads them through a
// live.Reader (list pages or single GETs, as live.Choose says), and turns
// each answer into the row's fate — unchanged (the live record holds the
// update already), rejected (404), or on to the workers with the live
// digest for its key.
//
// In apply over a file, rows that need a read wait in a queue served by
// readWorkers goroutines while rows that need none go straight on: writes
// never wait for reads they do not need. plan, verify and stdin read
// inline, in file order (plan's row store and stdin's same-id order need
// that, and neither spends write quota while it waits).
type refresher struct {
	r      *runner
	mode   string
	reader *live.Reader
	choice live.Choice
	inline bool
	// out takes a row that needs a write on (to the workers, or plan's
	// count); false when the run is stopping.
	out func(*task) bool

	// The listing: records by id, filled page by page. listMu guards the
	// map and flags; pageMu is held while a page is fetched, so one page
	// is read at a time and a waiter finds what another's page brought.
	listMu   sync.RWMutex
	listed   map[string]live.Record
	after    string
	complete bool // every page read: an id not listed does not exist
	gaveUp   bool // listing stopped (page limit, error): single reads from here
	pages    int
	listedAt time.Time // when the first page was asked for
	pageMu   sync.Mutex

	// The queue of rows waiting on a read (apply over a file).
	qmu     sync.Mutex
	queue   []*task
	qclosed bool
	qready  chan struct{} // 1-buffered: something was queued or closed
	wg      sync.WaitGroup
	fwd     chan *task
	fwdDone chan struct{}

	singles, notFound, unchangedByRead, differs atomic.Int64
}

// newRefresher sets up reads for the run, or returns nil when the run reads
// nothing (--refresh none, --full, no key). execute sets out, where rows
// that need a write go on.
func (r *runner) newRefresher(mode string) (*refresher, error) {
	switch mode {
	case "", RefreshAuto:
		mode = RefreshAuto
	case RefreshAll, RefreshNone:
	default:
		return nil, configErr("--refresh %q: want auto, all or none", mode)
	}
	if r.cmd == report.CommandVerify {
		mode = RefreshAll
	}
	if r.cfg.Sandbox && r.cfg.Refresh == "" {
		// apply --sandbox's in-process sandbox learns the file's customers
		// from their first write; reading them first would find none.
		mode = RefreshNone
	}
	if mode == RefreshNone || (r.cfg.Full && r.cmd != report.CommandVerify) {
		return nil, nil
	}
	if r.client == nil {
		r.log.Info("no API key: live records are not read (--refresh needs a key); comparing with the state only")
		return nil, nil
	}
	f := &refresher{r: r, mode: mode, listed: map[string]live.Record{}, qready: make(chan struct{}, 1)}
	f.inline = r.cmd != report.CommandApply || r.src.stdin != nil
	var onRead func(time.Time)
	if r.cmd == report.CommandApply {
		// Reads are counted per key and day in the state, apart from the
		// update quota (status shows both). plan and verify leave the
		// state untouched.
		onRead = func(at time.Time) {
			if err := r.store.AddReads(r.fp, dayOf(at), 1); err != nil {
				r.log.Warn("could not count a read in the state", "err", err)
			}
		}
	}
	f.reader = live.NewReader(live.Config{
		Client: r.client, Rate: r.cfg.ReadRate, Clock: r.clock, MaxRetries: r.cfg.MaxRetries,
		RetryBase: r.cfg.RetryBase, Rand: r.cfg.Rand, Logger: r.log, OnRead: onRead,
	})
	wanted, known, err := f.estimate()
	if err != nil {
		return nil, &StateError{Err: err}
	}
	if f.inline && r.src.stdin != nil {
		f.choice = live.Choice{Method: live.Singles, Wanted: wanted, Known: known}
	} else {
		f.choice = live.Choose(wanted, known)
	}
	r.log.Info("reading live records before writing: "+f.choice.Reason(),
		"refresh", mode, "method", f.choice.Method.String(), "wanted", wanted, "account_size", known,
		"estimated_reads", f.choice.Estimate, "read_rate", f.reader.Rate().String())
	return f, nil
}

func dayOf(t time.Time) string { return t.UTC().Format("2006-01-02") }

// estimate returns how many customers the run will read (from the first
// pass's count of distinct ids, less those the state has applied records
// of under auto) and the account's size the state remembers (-1: none).
func (f *refresher) estimate() (wanted, known int, err error) {
	r := f.r
	known = -1
	if r.scan == nil {
		return 0, known, nil
	}
	wanted = r.scan.rows
	for _, n := range r.scan.dups {
		wanted -= n - 1
	}
	if r.state == nil || r.scope == "" {
		return wanted, known, nil
	}
	if f.mode == RefreshAuto {
		n, err := r.state.AppliedCount(r.scope)
		if err != nil {
			return 0, 0, err
		}
		wanted = max(0, wanted-n)
	}
	if count, _, ok, err := r.state.Listing(r.scope); err != nil {
		return 0, 0, err
	} else if ok {
		known = count
	}
	return wanted, known, nil
}

// start runs the read workers and the forwarder (apply over a file).
func (f *refresher) start(ctx context.Context) {
	if f.inline {
		return
	}
	f.fwd = make(chan *task, queueCap)
	f.fwdDone = make(chan struct{})
	for range readWorkers {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for {
				t, ok := f.pop(ctx)
				if !ok {
					return
				}
				if !f.resolve(ctx, t) {
					return
				}
			}
		}()
	}
	go func() {
		defer close(f.fwdDone)
		for t := range f.fwd {
			if ctx.Err() != nil || !f.out(t) {
				continue // stopping: the row stays pending
			}
		}
	}()
}

// finish waits until every queued row is decided and handed on, after the
// producer is done. It logs what the reads came to.
func (f *refresher) finish() {
	if !f.inline {
		f.qmu.Lock()
		f.qclosed = true
		f.qmu.Unlock()
		f.kick()
		f.wg.Wait()
		close(f.fwd)
		<-f.fwdDone
	}
	f.r.log.Info("live records read", "reads", f.reader.Reads(), "pages", f.pages, "single_reads", f.singles.Load(),
		"unchanged_by_read", f.unchangedByRead.Load(), "differ", f.differs.Load(), "not_found", f.notFound.Load())
}

func (f *refresher) kick() {
	select {
	case f.qready <- struct{}{}:
	default:
	}
}

func (f *refresher) pop(ctx context.Context) (*task, bool) {
	for {
		f.qmu.Lock()
		if len(f.queue) > 0 {
			t := f.queue[0]
			f.queue[0] = nil
			f.queue = f.queue[1:]
			more := len(f.queue) > 0
			f.qmu.Unlock()
			if more {
				f.kick()
			}
			return t, true
		}
		closed := f.qclosed
		f.qmu.Unlock()
		if closed {
			f.kick() // wake the other workers to see it
			return nil, false
		}
		select {
		case <-f.qready:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// route is the producer's hook: it settles a row by a remembered rejection,
// sends it on when it needs no read, or reads (queued, or inline).
func (f *refresher) route(ctx context.Context, t *task) bool {
	need, settled, retry, err := f.r.checkRejected(t, f)
	if err != nil {
		f.r.fatal(&StateError{Err: err})
		return false
	}
	if settled {
		return true
	}
	if !need && !retry {
		need, err = f.needsRead(t)
		if err != nil {
			f.r.fatal(&StateError{Err: err})
			return false
		}
	}
	if !need {
		return f.out(t)
	}
	if f.inline {
		return f.resolve(ctx, t)
	}
	f.qmu.Lock()
	f.queue = append(f.queue, t)
	f.qmu.Unlock()
	f.kick()
	return ctx.Err() == nil
}

// needsRead is the --refresh rule for one row.
func (f *refresher) needsRead(t *task) (bool, error) {
	switch {
	case f.r.cmd == report.CommandVerify:
		return true, nil
	case t.key != "":
		// In flight (or failed) in an earlier invocation: it is re-sent
		// with its key, which is what makes a resume exact.
		return false, nil
	case f.mode == RefreshAll:
		return true, nil
	}
	_, ok, err := f.r.appliedState(t.id)
	return !ok, err
}

// lookup reads one customer's live record: from the listing when the run
// lists, else (or once the listing gave up) with a single GET.
func (f *refresher) lookup(ctx context.Context, id string) (live.Record, bool, error) {
	if f.choice.Method == live.Pages {
		for {
			f.listMu.RLock()
			rec, ok := f.listed[id]
			complete, gaveUp, started, pages := f.complete, f.gaveUp, f.listedAt, f.pages
			f.listMu.RUnlock()
			if !gaveUp && !started.IsZero() && f.r.clock.Since(started) > maxListingAge {
				// A long run (--wait over days) does not trust a listing
				// older than a day: what is left is read one by one.
				f.listMu.Lock()
				f.gaveUp, f.complete, f.listed = true, false, map[string]live.Record{}
				f.listMu.Unlock()
				f.r.log.Info("the listing is more than a day old; the rest is read one by one")
				continue
			}
			switch {
			case ok:
				return rec, true, nil
			case complete:
				// The listing is trusted for this run: a customer it did
				// not show does not exist.
				return live.Record{}, false, nil
			case gaveUp:
			default:
				if err := f.nextPage(ctx, pages); err != nil {
					return live.Record{}, false, err
				}
				continue
			}
			break
		}
	}
	f.singles.Add(1)
	return f.reader.Get(ctx, id)
}

// nextPage reads the next page of the listing unless another caller did
// meanwhile: seen is how many pages the caller had looked through, and when
// the listing has more by the time the page lock is held, the caller looks
// again first (its customer may be on the page another worker read while
// this one waited).
func (f *refresher) nextPage(ctx context.Context, seen int) error {
	f.pageMu.Lock()
	defer f.pageMu.Unlock()
	f.listMu.RLock()
	done, after, pages := f.complete || f.gaveUp, f.after, f.pages
	f.listMu.RUnlock()
	if done || pages != seen {
		return nil
	}
	if f.choice.PageLimit > 0 && pages >= f.choice.PageLimit {
		f.listMu.Lock()
		f.gaveUp = true
		f.listMu.Unlock()
		f.r.log.Info("the listing reached its limit before the end of the account; the rest is read one by one", "pages", pages)
		return nil
	}
	if pages == 0 {
		f.listMu.Lock()
		f.listedAt = f.r.clock.Now()
		f.listMu.Unlock()
	}
	p, err := f.reader.ListPage(ctx, after)
	if err != nil {
		var re *live.ReadError
		if errors.As(err, &re) {
			f.r.log.Warn("listing failed; the rest is read one by one", "err", err)
			f.listMu.Lock()
			f.gaveUp = true
			f.listMu.Unlock()
			return nil
		}
		return err
	}
	f.listMu.Lock()
	f.pages++
	for _, rec := range p.Records {
		f.listed[rec.ID] = rec
	}
	f.after = p.After
	f.complete = !p.More
	count := len(f.listed)
	f.listMu.Unlock()
	if f.complete {
		f.r.log.Info("listed the whole account", "customers", count, "pages", f.pages)
		if f.r.cmd == report.CommandApply {
			if err := f.r.store.PutListing(f.r.scope, count, f.r.clock.Now()); err != nil {
				f.r.log.Warn("could not remember the account's size in the state", "err", err)
			}
		}
	}
	return nil
}

// resolve reads t's customer and settles the row. It returns false when the
// run is stopping.
func (f *refresher) resolve(ctx context.Context, t *task) bool {
	r := f.r
	rec, found, err := f.lookup(ctx, t.id)
	if err != nil {
		var ae *live.AuthError
		var le *live.LimitError
		var re *live.ReadError
		switch {
		case ctx.Err() != nil:
			return false
		case errors.As(err, &ae):
			r.fatal(&AuthError{Status: ae.Status, Detail: ae.Detail})
			return false
		case errors.As(err, &le):
			r.log.Warn("reads stopped: "+le.Error()+"; rows waiting on a read stay pending", "row", t.rows[0].Num)
			r.stop(stopServerQuota)
			return false
		case errors.As(err, &re) && r.cmd != report.CommandVerify:
			// Decided by the state alone, as without --refresh.
			r.log.Warn("could not read the live record; the row is decided by the state alone", "row", t.rows[0].Num, "id", t.id, "err", err)
			return f.out(t)
		case errors.As(err, &re):
			r.log.Warn("could not read the live record", "row", t.rows[0].Num, "id", t.id, "err", err)
			return f.settle(t, outFailed, re.Status, err.Error(), nil)
		}
		r.fatal(err)
		return false
	}
	if !found {
		f.notFound.Add(1)
		msg := "404 not_found: Customer not found (read before writing); no update sent"
		switch r.cmd {
		case report.CommandVerify:
			return f.settle(t, outMissing, http.StatusNotFound, "Customer not found", nil)
		case report.CommandPlan:
			return f.settle(t, outWouldUpdate, 0, "", nil)
		}
		if rej := t.rejectedEarlier; rej != nil {
			// The memory stays as it is: the first rejection's run and
			// date are what the user needs to find the row's history.
			msg = fmt.Sprintf("404 not_found: Customer not found; rejected earlier (run %s, %s) and still not found by a read; no update sent (--retry-rejected sends it)", rej.RunID, dayOf(rej.At))
			return f.settle(t, outRejected, http.StatusNotFound, msg, nil)
		}
		if !f.settle(t, outRejected, http.StatusNotFound, msg, nil) {
			return false
		}
		if err := r.remember(t, http.StatusNotFound, msg); err != nil {
			r.fatal(&StateError{Err: err})
			return false
		}
		return true
	}
	diffs := live.Diff(t.body, rec)
	if len(diffs) == 0 {
		f.unchangedByRead.Add(1)
		outcome := outUnchanged
		if r.cmd == report.CommandVerify {
			outcome = outMatch
		}
		var applied *checkpoint.AppliedUpdate
		if r.cmd == report.CommandApply {
			// What the server holds is what a write would have left: the
			// state takes the live values as last applied.
			applied = &checkpoint.AppliedUpdate{Scope: r.scope, CustomerID: t.id, Fields: rec.Digests(), At: r.clock.Now()}
		}
		return f.settle(t, outcome, 0, "", applied)
	}
	f.differs.Add(1)
	if r.cmd == report.CommandVerify {
		r.noteDifference(t, diffs)
		return f.settle(t, outDiffers, 0, live.Join(diffs), nil)
	}
	d := checkpoint.DigestFields(rec.Digests())
	t.refreshed, t.livePrev = true, d[:]
	t.diffs = make([]string, len(diffs))
	for i, df := range diffs {
		t.diffs[i] = df.String()
	}
	if f.inline {
		return f.out(t)
	}
	select {
	case f.fwd <- t:
		return true
	case <-ctx.Done():
		return false
	}
}

// settle records t's rows with an outcome decided by a read.
func (f *refresher) settle(t *task, outcome string, status int, errText string, applied *checkpoint.AppliedUpdate) bool {
	r := f.r
	if t.firstDone != nil {
		defer t.firstDone() // decided without a write: the backlog pass need not wait for it
	}
	var err error
	if r.plan != nil || applied == nil {
		if r.plan != nil && outcome == outWouldUpdate {
			// plan: a customer the server does not know; apply will
			// report it rejected without spending a write.
			r.mu.Lock()
			r.outcomes[outcome] += len(t.rows)
			r.mu.Unlock()
			for _, row := range t.rows {
				if err = r.plan.put(row.Num, outcome, nil, "", row.Warnings); err != nil {
					break
				}
			}
		} else {
			err = r.finishRows(outcome, status, errText, t.rows...)
		}
	} else {
		err = r.recordOutcome(outcome, status, errText, applied, t.rows)
	}
	if err != nil {
		r.fatal(&StateError{Err: err})
		return false
	}
	return true
}

// route is the producer's hook into reads: with a refresher, its route;
// without, only remembered rejections are settled before out.
func (r *runner) route(ctx context.Context, t *task, out func(*task) bool) bool {
	if r.rf != nil {
		return r.rf.route(ctx, t)
	}
	_, settled, _, err := r.checkRejected(t, nil)
	if err != nil {
		r.fatal(&StateError{Err: err})
		return false
	}
	return settled || out(t)
}

// bodyDigest identifies an update's exact body, for remembered rejections.
func bodyDigest(t *task) ([32]byte, error) {
	b := t.json
	if b == nil {
		var err error
		if b, err = t.body.MarshalJSON(); err != nil {
			return [32]byte{}, fmt.Errorf("encode body of row %d: %w", t.rows[0].Num, err)
		}
	}
	return sha256.Sum256(b), nil
}

// checkRejected settles a row whose identical update the server rejected
// in an earlier run (400, 404, 422): rejected again without a request,
// unless --retry-rejected (retry: sent as it stands, without a read), or it
// was a 404 and reads are on (need: the customer may exist now, and the
// read decides). f is nil without reads.
func (r *runner) checkRejected(t *task, f *refresher) (need, settled, retry bool, err error) {
	if r.cmd != report.CommandApply || r.state == nil || r.scope == "" {
		return false, false, false, nil
	}
	rej, ok, err := r.state.RejectionOf(r.scope, t.id)
	if err != nil || !ok {
		return false, false, false, err
	}
	d, err := bodyDigest(t)
	if err != nil || d != rej.BodyDigest {
		return false, false, false, err
	}
	if r.cfg.RetryRejected {
		return false, false, true, nil
	}
	if rej.Status == http.StatusNotFound && f != nil {
		t.rejectedEarlier = &rej
		return true, false, false, nil
	}
	msg := fmt.Sprintf("%s; rejected earlier (run %s, %s); not re-sent (--retry-rejected sends it)", rej.Error, rej.RunID, dayOf(rej.At))
	if err := r.finishRows(outRejected, rej.Status, msg, t.rows...); err != nil {
		return false, false, false, err
	}
	if t.firstDone != nil {
		t.firstDone() // settled without a write (see produceOrdered)
	}
	return false, true, false, nil
}

// remember stores a final rejection of t's body.
func (r *runner) remember(t *task, status int, errText string) error {
	d, err := bodyDigest(t)
	if err != nil {
		return err
	}
	return r.store.PutRejection(r.scope, t.id, checkpoint.Rejection{
		BodyDigest: d, Status: status, Error: errText, RunID: r.run.ID, At: r.clock.Now(),
	})
}

// rememberOutcome is send's hook after an answer: a 400, 404 or 422 is
// remembered; a success forgets an earlier rejection of the customer.
func (r *runner) rememberOutcome(t *task, outcome string, status int, errText string) error {
	switch {
	case outcome == outRejected && (status == http.StatusBadRequest || status == http.StatusNotFound || status == http.StatusUnprocessableEntity):
		return r.remember(t, status, errText)
	case outcome == outUpdated:
		if _, ok, err := r.store.RejectionOf(r.scope, t.id); err != nil || !ok {
			return err
		}
		return r.store.ForgetRejection(r.scope, t.id)
	}
	return nil
}

// readCount is the reads this invocation sent.
func (r *runner) readCount() int {
	if r.rf == nil {
		return 0
	}
	return r.rf.reader.Reads()
}
