package batch

import (
	"container/heap"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"

	"github.com/juicebatch/juicebatch/batch/api"
	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/ratelimit"
)

// queueCap bounds the updates read ahead of the workers, so memory does not
// grow with the file while the pace holds requests back.
const queueCap = 64

// verdict is what one answer means for its update.
type verdict int

const (
	vDone      verdict = iota // final: outcome recorded
	vRetry                    // transient: try again after a backoff, spending a retry
	vWait                     // 429: wait as told, not spending a retry
	vFatal                    // 401/403: the key is wrong; stop everything
	vAbandoned                // the run is stopping: leave the update as it is
)

// decision is decide's answer.
type decision struct {
	verdict verdict
	outcome string // for vDone
	err     string // the report's error cell
	wait    time.Duration
	hasWait bool  // the server said how long to wait (possibly 0)
	fatal   error // for vFatal: why the run cannot go on
}

// decide classifies one answer. It is a pure function of the answer and the
// tries spent: the retry policy in one place.
func decide(res api.Result, tries, maxRetries int) decision {
	canRetry := tries <= maxRetries
	switch {
	case res.Err != nil && errors.Is(res.Err, api.ErrBadID):
		return decision{verdict: vDone, outcome: outRejected, err: res.Err.Error()}
	case res.Err != nil && isTLSVerification(res.Err):
		// Every request would fail the same way: stop before spending more.
		return decision{verdict: vFatal, fatal: &EndpointError{Detail: "the server's TLS certificate is not trusted: " + res.Err.Error()}}
	case res.Err != nil:
		msg := "no answer: " + res.Err.Error()
		if canRetry {
			return decision{verdict: vRetry, err: msg}
		}
		return decision{verdict: vDone, outcome: outFailed, err: giveUp(tries, msg)}
	case res.Status >= 200 && res.Status < 300:
		if res.Problem != nil {
			// Retrying would only replay the same answer under the same key.
			return decision{verdict: vDone, outcome: outFailed, err: res.Problem.Message + "; the update may have been applied"}
		}
		return decision{verdict: vDone, outcome: outUpdated}
	case res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden:
		return decision{verdict: vFatal, fatal: &AuthError{Status: res.Status, Detail: res.Problem.String()}}
	case res.Status >= 300 && res.Status < 400:
		// A redirect answers every row alike (a wrong --base-url, a moved
		// API): stop after the first rather than spend a request a row.
		return decision{verdict: vFatal, fatal: &EndpointError{Detail: res.Problem.String() + "; check --base-url"}}
	case res.Status == http.StatusTooManyRequests:
		return decision{verdict: vWait, err: res.Problem.String(), wait: res.Wait, hasWait: res.HasWait}
	case res.Status >= 500 || res.Status == http.StatusRequestTimeout || inFlightConflict(res):
		msg := res.Problem.String()
		if canRetry {
			return decision{verdict: vRetry, err: msg, wait: res.Wait}
		}
		return decision{verdict: vDone, outcome: outFailed, err: giveUp(tries, msg)}
	default:
		return decision{verdict: vDone, outcome: outRejected, err: res.Problem.String()}
	}
}

// inFlightConflict reports a 409 that says the same Idempotency-Key is still
// being handled (our earlier attempt, which timed out on our side): the
// server is still working, so it is retried, unlike other 409s.
func inFlightConflict(res api.Result) bool {
	if res.Status != http.StatusConflict || res.Problem == nil {
		return false
	}
	switch res.Problem.Code {
	case "idempotency_conflict", "idempotency_key_in_use", "request_in_progress":
		return true
	}
	return false
}

// isTLSVerification reports a certificate the client does not trust: a
// configuration problem, never a passing one.
func isTLSVerification(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		ierr x509.CertificateInvalidError
	)
	return errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &ierr)
}

// isNotSent reports an error from before any byte of the request left this
// machine (the connection could not be opened): such a request is not
// charged to the day's budget.
func isNotSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

func giveUp(tries int, last string) string {
	return fmt.Sprintf("gave up after %d attempts; last: %s", tries, last)
}

// result is a worker's report on one task.
type result struct {
	t    *task
	kind verdict // vDone (finished one way or another), vRetry/vWait (t.due set), vAbandoned
	due  time.Time
	err  error // what makes the run impossible (with vAbandoned)
}

// abandon stops the run for err, which makes it impossible (the key is
// rejected, the state cannot be written): no new request leaves and
// requests on the wire are cut off.
func (r *runner) abandon(t *task, err error) result {
	r.fatal(err)
	return result{t: t, kind: vAbandoned, err: err}
}

// dispatch runs the workers and the scheduler until the producer is done and
// every update is finished, or the run stops. It returns when no worker is
// running.
func (r *runner) dispatch(feedCtx, sendCtx context.Context, in <-chan *task) {
	ready := make(chan *task)
	results := make(chan result)
	// The worker pool: a row's failure is a result, not an error; only
	// what makes the run impossible ends a worker with an error, and the
	// first such error is the run's.
	var pool errgroup.Group
	for range r.cfg.Concurrency {
		pool.Go(func() error {
			for t := range ready {
				res := r.work(feedCtx, sendCtx, t)
				results <- res
				if res.err != nil {
					return res.err
				}
			}
			return nil
		})
	}
	defer func() {
		close(ready)
		pool.Wait() // the error is already the run's (see abandon)
	}()

	var (
		pending  []*task
		retries  retryHeap
		busy     = map[string][]*task{} // id → later updates of that id, waiting their turn
		inflight int
		inOpen   = true
		stopping bool
	)
	queued := func() int {
		n := len(pending) + retries.Len()
		for _, w := range busy {
			n += len(w)
		}
		return n
	}
	// admit queues t unless an earlier update of its id is still on its way
	// (stdin, unmerged): rows of one id are applied in file order.
	admit := func(t *task) {
		if waiting, ok := busy[t.id]; ok {
			busy[t.id] = append(waiting, t)
			return
		}
		busy[t.id] = nil
		pending = append(pending, t)
	}
	release := func(id string) {
		waiting := busy[id]
		if len(waiting) == 0 {
			delete(busy, id)
			return
		}
		busy[id] = waiting[1:]
		// It is earlier in the file than anything the producer sent since.
		pending = append([]*task{waiting[0]}, pending...)
	}

	for {
		if stopping && inflight == 0 {
			return
		}
		if !stopping && !inOpen && inflight == 0 && queued() == 0 {
			return
		}
		var (
			readyCh chan *task
			next    *task
			inCh    <-chan *task
			timerC  <-chan time.Time
			timer   clockwork.Timer
		)
		if !stopping {
			if len(pending) > 0 {
				readyCh, next = ready, pending[0]
			}
			if inOpen && queued() < queueCap {
				inCh = in
			}
			if retries.Len() > 0 {
				timer = r.clock.NewTimer(r.clock.Until(retries[0].due))
				timerC = timer.Chan()
			}
		}
		var feedDone <-chan struct{}
		if !stopping {
			feedDone = feedCtx.Done()
		}
		select {
		case readyCh <- next:
			pending = pending[1:]
			inflight++
		case t, ok := <-inCh:
			if !ok {
				inOpen = false
				break
			}
			admit(t)
		case <-timerC:
			now := r.clock.Now()
			var due []*task
			for retries.Len() > 0 && !retries[0].due.After(now) {
				due = append(due, heap.Pop(&retries).(*retryItem).t)
			}
			pending = append(due, pending...)
		case res := <-results:
			inflight--
			switch res.kind {
			case vRetry, vWait:
				heap.Push(&retries, &retryItem{t: res.t, due: res.due})
			case vAbandoned:
				// Left as it is: in flight or unsent rows are pending.
			default:
				release(res.t.id)
			}
		case <-feedDone:
			stopping = true
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// work takes one update as far as it can go now: change detection, then
// requests until it is finished, needs to wait, or the run stops.
func (r *runner) work(feedCtx, sendCtx context.Context, t *task) result {
	if t.firstDone != nil {
		defer t.firstDone()
	}
	if !t.prepared {
		unchanged, err := r.prepare(t)
		if err != nil {
			return r.abandon(t, &StateError{Err: err})
		}
		if unchanged {
			return result{t: t, kind: vDone}
		}
	}
	for {
		res, again := r.try(feedCtx, sendCtx, t)
		if !again {
			return res
		}
	}
}

// try makes one attempt at t. again is true when it should be made once more
// at once (the budget came back with a new day).
func (r *runner) try(feedCtx, sendCtx context.Context, t *task) (_ result, again bool) {
	// Until the server has accepted the key once, one request at a time:
	// a wrong key costs exactly one request, whatever the concurrency.
	accepted, ok := r.keyGate(feedCtx)
	if !ok {
		return result{t: t, kind: vAbandoned}, false
	}
	defer accepted(false)
	at, err := r.pacer.Wait(feedCtx)
	if err != nil {
		return result{t: t, kind: vAbandoned}, false
	}
	day := ratelimit.UTCDay(at)
	rows := make([]checkpoint.Row, len(t.rows))
	for i, row := range t.rows {
		row.Status = checkpoint.StatusInFlight
		row.Key = t.key
		row.Attempts = t.attempts + 1
		row.UpdatedAt = at
		rows[i] = row
	}
	err = r.rl.Intent(checkpoint.Attempt{Rows: rows, Fingerprint: r.fp, Day: day, Budget: r.cfg.DailyBudget, At: at})
	if errors.Is(err, checkpoint.ErrBudgetSpent) {
		if !r.cfg.Wait {
			r.stop(stopBudget)
			return result{t: t, kind: vAbandoned}, false
		}
		accepted(false) // do not hold other workers' probe while sleeping
		return result{t: t, kind: vAbandoned}, r.waitForNextDay(feedCtx, at)
	}
	if err != nil {
		return r.abandon(t, &StateError{Err: fmt.Errorf("record intent for row %d: %w", t.rows[0].Num, err)}), false
	}
	t.attempts++
	t.tries++
	r.requests.Add(1)
	if t.attempts > 1 {
		r.retries.Add(1)
	}
	if t.staleSince(at) {
		r.staleKeys.Add(1)
		r.log.Warn("re-sending an update in flight for longer than the server keeps keys (24 h); if it was applied then, it may be applied again",
			"row", t.rows[0].Num, "id", t.id, "since", t.since.Format(time.RFC3339))
	}
	t.since = time.Time{}
	res := r.client.Patch(sendCtx, t.id, t.json, t.key)
	r.pacer.Answered(at, r.clock.Now())
	r.heard(at, res)
	if res.Err != nil && isNotSent(res.Err) {
		if err := r.rl.Refund(r.fp, day); err != nil {
			return r.abandon(t, &StateError{Err: err}), false
		}
		r.requests.Add(-1)
		if t.attempts > 1 {
			r.retries.Add(-1)
		}
	}
	if res.Err != nil && sendCtx.Err() != nil {
		// Cut off by the grace period or a fatal error: whether it
		// applied is unknown; the row stays in flight under its key.
		return result{t: t, kind: vAbandoned}, false
	}
	if res.Replayed {
		r.log.Debug("server replayed an earlier answer", "row", t.rows[0].Num, "id", t.id)
	}
	d := decide(res, t.tries, r.cfg.MaxRetries)
	if res.Err == nil && d.verdict != vFatal {
		accepted(true)
	}
	switch d.verdict {
	case vFatal:
		return r.abandon(t, d.fatal), false
	case vWait:
		r.rateLimited.Add(1)
		t.tries-- // waiting out a 429 does not use up a retry
		t.waits++
		wait := d.wait
		if !d.hasWait {
			// No hint: wait at least one interval of the pace, growing.
			wait = max(r.cfg.Rate.Interval(), ratelimit.Backoff(t.waits, r.cfg.RetryBase, backoffMax, r.cfg.Rand))
		}
		now := r.clock.Now()
		r.pacer.Pause(now.Add(wait))
		if wait > maxRateLimitWait {
			r.log.Warn("the server asks to wait longer than a rate-limit pause; its daily quota for this key looks spent",
				"retry_after", wait.Round(time.Second).String())
			if !r.cfg.Wait {
				r.stop(stopServerQuota)
				return result{t: t, kind: vAbandoned}, false
			}
		}
		r.log.Info("rate limited by the server; waiting", "row", t.rows[0].Num, "wait", wait.Round(time.Millisecond).String())
		return result{t: t, kind: vWait, due: now.Add(wait)}, false
	case vRetry:
		t.lastErr = d.err
		wait := max(ratelimit.Backoff(t.tries, r.cfg.RetryBase, backoffMax, r.cfg.Rand), d.wait)
		r.log.Info("will retry", "row", t.rows[0].Num, "attempt", t.tries, "in", wait.Round(time.Millisecond).String(), "reason", d.err)
		return result{t: t, kind: vRetry, due: r.clock.Now().Add(wait)}, false
	}
	var applied *checkpoint.AppliedUpdate
	if d.outcome == outUpdated {
		applied = &checkpoint.AppliedUpdate{Scope: r.scope, CustomerID: t.id, Fields: fieldDigests(t), At: r.clock.Now(), Raw: t.raw}
	}
	if err := r.recordOutcome(d.outcome, res.Status, d.err, applied, withAttempts(t)); err != nil {
		return r.abandon(t, &StateError{Err: err}), false
	}
	if err := r.settled(t, d.outcome); err != nil {
		return r.abandon(t, &StateError{Err: err}), false
	}
	if err := r.rememberOutcome(t, d.outcome, res.Status, d.err); err != nil {
		return r.abandon(t, &StateError{Err: err}), false
	}
	return result{t: t, kind: vDone}, false
}

// keyGate lets one request at a time through until the server has answered
// one without rejecting the key. The returned func reports the attempt's end
// (true: the key was accepted); calling it again does nothing.
func (r *runner) keyGate(ctx context.Context) (func(accepted bool), bool) {
	select {
	case <-r.keyOK:
		return func(bool) {}, true
	default:
	}
	select {
	case <-r.keyOK:
		return func(bool) {}, true
	case r.probe <- struct{}{}:
	case <-ctx.Done():
		return nil, false
	}
	var once sync.Once
	return func(accepted bool) {
		once.Do(func() {
			if accepted {
				r.keyOKOnce.Do(func() { close(r.keyOK) })
			}
			<-r.probe
		})
	}, true
}

// prepare does change detection and fixes the key. It reports true when the
// update equals what was last applied (and records the rows unchanged).
func (r *runner) prepare(t *task) (bool, error) {
	applied, ok, err := r.appliedState(t.id)
	if err != nil {
		return false, err
	}
	if ok && !r.cfg.Full && !t.refreshed && sameAsApplied(t, applied) {
		return true, r.finishUnchanged(t, applied)
	}
	if err := r.noteChange(t); err != nil {
		return false, err
	}
	b, err := t.body.MarshalJSON()
	if err != nil {
		return false, fmt.Errorf("encode body of row %d: %w", t.rows[0].Num, err)
	}
	t.json = b
	if t.key == "" {
		var prev []byte
		if t.refreshed {
			prev = t.livePrev
		} else if ok {
			prev = applied.Digest[:]
		}
		t.key = IdempotencyKey(r.salt, r.scope, t.id, b, prev)
	}
	t.prepared = true
	return false, nil
}

// sameAsApplied reports whether every field the update sends has the value
// last applied to the customer with a 200: sending it would change nothing.
func sameAsApplied(t *task, applied checkpoint.Applied) bool {
	for _, fd := range t.body.Digests() {
		if !applied.Matches(fd.Name, fd.Sum) {
			return false
		}
	}
	return true
}

func fieldDigests(t *task) map[string][32]byte {
	ds := t.body.Digests()
	m := make(map[string][32]byte, len(ds))
	for _, d := range ds {
		m[d.Name] = d.Sum
	}
	return m
}

func withAttempts(t *task) []checkpoint.Row {
	rows := make([]checkpoint.Row, len(t.rows))
	for i, row := range t.rows {
		row.Key = t.key
		row.Attempts = t.attempts
		rows[i] = row
	}
	return rows
}

// waitForNextDay sleeps until the next UTC day (--wait). It reports false if
// the run stopped meanwhile.
func (r *runner) waitForNextDay(ctx context.Context, now time.Time) bool {
	next := ratelimit.NextUTCDay(now)
	r.waitOnce.Do(func() {
		r.log.Info("daily budget spent; waiting for the next UTC day (--wait)", "until", next.Format(time.RFC3339))
	})
	timer := r.clock.NewTimer(next.Sub(now))
	defer timer.Stop()
	select {
	case <-timer.Chan():
		return true
	case <-ctx.Done():
		return false
	}
}

// retryHeap orders updates waiting to retry by when they may go.
type retryItem struct {
	t   *task
	due time.Time
}

type retryHeap []*retryItem

func (h retryHeap) Len() int           { return len(h) }
func (h retryHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h retryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *retryHeap) Push(x any)        { *h = append(*h, x.(*retryItem)) }
func (h *retryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
