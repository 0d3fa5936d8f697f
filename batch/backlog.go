package batch

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/ratelimit"
	"github.com/juicebatch/juicebatch/report"
)

// The backlog: when a night's changes exceed the day's budget, the changes
// left unsent wait for the next run, and the state remembers per customer
// since when (checkpoint/pending.go). The next run sends the longest-waiting
// changes first and the rest in file order, so no change waits forever
// behind the rows at the top of the file. See the package doc, "Backlog".

// backlog is one invocation's view of the backlog.
type backlog struct {
	// priority maps the customers whose changes go first to since when
	// they wait: the oldest marks, as many as today's budget can send.
	priority map[string]checkpoint.PendingMark
	// stamp names this invocation in the marks it writes.
	stamp int64
	// marked is set when the state held pending changes for the scope at
	// the start: only then does noteChange look a customer up.
	marked bool
	// leftAtStart is what was left of today's budget when the run began.
	leftAtStart int

	// Counted by noteChange (under runner.mu): changes this invocation
	// found, new ones and ones already pending from an earlier run, and
	// the oldest of those.
	changesNew, changesOld int
	oldestSeen             time.Time
	// open holds the customers whose change was counted but not (yet)
	// applied or rejected, so that the backlog pass does not count them
	// again.
	open map[string]bool

	// complete is set when the invocation looked at every row of its
	// input, so that marks it did not renew can be swept.
	complete bool
	summary  *report.Backlog
}

// pass selects the rows a main (sub-)pass handles, by id.
type pass int

const (
	passAll      pass = iota
	passPriority      // only the customers of backlog.priority
	passRest          // every other customer
	passBacklog       // after a budget stop: count and mark what is left
)

// skipRow reports whether the current pass leaves out a row with this id.
func (r *runner) skipRow(gid string) bool {
	switch r.pass {
	case passPriority:
		_, ok := r.bl.priority[gid]
		return !ok
	case passRest:
		_, ok := r.bl.priority[gid]
		return ok
	}
	return false
}

// loadBacklog reads, for apply, which waiting changes go first: the oldest
// marks, as many as today's budget has left. Standard input is read once,
// so there they go in file order.
func (r *runner) loadBacklog() error {
	r.bl = backlog{stamp: r.started.UnixNano(), open: map[string]bool{}}
	used, err := r.store.QuotaUsed(r.fp, ratelimit.UTCDay(r.started))
	if err != nil {
		return &StateError{Err: err}
	}
	if r.bl.marked, err = r.store.HasPending(r.scope); err != nil {
		return &StateError{Err: err}
	}
	r.bl.leftAtStart = max(0, r.cfg.DailyBudget-used)
	if r.src.stdin != nil || r.cfg.Full {
		return nil
	}
	marks, err := r.store.OldestPending(r.scope, r.bl.leftAtStart)
	if err != nil {
		return &StateError{Err: err}
	}
	if len(marks) == 0 {
		return nil
	}
	r.bl.priority = make(map[string]checkpoint.PendingMark, len(marks))
	for _, m := range marks {
		r.bl.priority[m.CustomerID] = m
	}
	r.log.Info("sending changes still pending from earlier runs first, oldest first",
		"pending_first", len(marks), "oldest_since", marks[0].Since.Format(time.RFC3339))
	return nil
}

// loadPlanBacklog prepares plan's count of the changes already waiting.
func (r *runner) loadPlanBacklog() error {
	if r.state == nil || r.scope == "" {
		return nil
	}
	var err error
	if r.bl.marked, err = r.state.HasPending(r.scope); err != nil {
		return &StateError{Err: err}
	}
	return nil
}

// produceOrdered is apply's main pass with the backlog first: a first
// sub-pass reads the file for the priority customers only and emits their
// updates oldest first; a second reads it for everyone else, in file order.
// Each customer's rows are in exactly one sub-pass, so rows still merge per
// id and each row is recorded once.
func (r *runner) produceOrdered(ctx context.Context, emit func(*task) bool) error {
	if len(r.bl.priority) == 0 {
		return r.produce(ctx, emit)
	}
	// At most today's budget of updates: they fit in memory.
	var first []*task
	r.pass = passPriority
	if err := r.produce(ctx, func(t *task) bool { first = append(first, t); return true }); err != nil {
		return err
	}
	slices.SortStableFunc(first, func(a, b *task) int {
		return r.bl.priority[a.id].Since.Compare(r.bl.priority[b.id].Since)
	})
	// Subtleness ahead: the workers take updates in order, but with several
	// of them a later update can reach the pace, and the last of today's
	// budget, before an earlier one. So the second sub-pass starts only
	// when every first update has had its first attempt.
	attempted := make(chan struct{}, len(first))
	for _, t := range first {
		t.firstDone = sync.OnceFunc(func() { attempted <- struct{}{} })
	}
	for _, t := range first {
		if !emit(t) {
			return nil
		}
	}
	for range first {
		select {
		case <-attempted:
		case <-ctx.Done():
			return nil
		}
	}
	r.pass = passRest
	return r.produce(ctx, emit)
}

// noteChange counts an update that change detection found to differ from
// what was last applied: new tonight, or pending from an earlier run.
func (r *runner) noteChange(t *task) error {
	if r.state == nil || r.scope == "" || !r.bl.marked {
		r.mu.Lock()
		r.bl.changesNew++
		r.openLocked(t.id)
		r.mu.Unlock()
		return nil
	}
	since, pending, err := r.state.PendingSince(r.scope, t.id)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if pending && since.Before(r.started) {
		r.bl.changesOld++
		if r.bl.oldestSeen.IsZero() || since.Before(r.bl.oldestSeen) {
			r.bl.oldestSeen = since
		}
	} else {
		r.bl.changesNew++
	}
	r.openLocked(t.id)
	return nil
}

// openLocked remembers a counted change until it has its outcome; the
// backlog pass, which sees each customer once, needs no such memory (and
// must not grow it with the backlog). r.mu must be held.
func (r *runner) openLocked(id string) {
	if r.bl.open != nil && r.pass != passBacklog {
		r.bl.open[id] = true
	}
}

// settled is called once a counted update has its outcome. A failed one
// stays pending for the next run; an applied or rejected one waits no more.
func (r *runner) settled(t *task, outcome string) error {
	if outcome == outFailed {
		_, err := r.store.MarkPending(r.scope, []checkpoint.PendingMark{markOf(t)}, r.started, r.bl.stamp)
		return err
	}
	r.mu.Lock()
	delete(r.bl.open, t.id)
	r.mu.Unlock()
	return nil
}

// markOf is t's pending mark: its customer, at the row it is sent at.
func markOf(t *task) checkpoint.PendingMark {
	return checkpoint.PendingMark{CustomerID: t.id, Order: t.rows[len(t.rows)-1].Num}
}

// markBatch is how many marks one transaction of the backlog pass writes.
const markBatch = 1000

// countBacklog is the backlog pass, after the daily budget stopped apply:
// it reads the input again for the rows this run has not finished, and
// marks every update that differs from what was last applied as pending,
// so that the next run knows since when it waits, and the counts say how
// far behind the job is. It sends nothing and records no row.
func (r *runner) countBacklog(ctx context.Context) error {
	if err := r.rl.Flush(); err != nil {
		return &StateError{Err: fmt.Errorf("flush state: %w", err)}
	}
	r.pass = passBacklog
	defer func() { r.pass = passAll }()
	var ids []checkpoint.PendingMark
	var werr error
	mark := func() bool {
		if len(ids) == 0 {
			return true
		}
		if _, err := r.store.MarkPending(r.scope, ids, r.started, r.bl.stamp); err != nil {
			werr = &StateError{Err: err}
			return false
		}
		ids = ids[:0]
		return true
	}
	err := r.produce(ctx, func(t *task) bool {
		applied, ok, err := r.appliedState(t.id)
		if err != nil {
			werr = &StateError{Err: err}
			return false
		}
		if ok && sameAsApplied(t, applied) {
			return true
		}
		r.mu.Lock()
		counted := r.bl.open[t.id]
		r.mu.Unlock()
		if !counted {
			if err := r.noteChange(t); err != nil {
				werr = &StateError{Err: err}
				return false
			}
		}
		ids = append(ids, markOf(t))
		return len(ids) < markBatch || mark()
	})
	if err == nil {
		err = werr
	}
	if err == nil && !mark() {
		err = werr
	}
	if err != nil {
		return err
	}
	r.bl.complete = ctx.Err() == nil
	return nil
}

// settleBacklog ends the invocation's part in the backlog: after a complete
// look at the input it sweeps the marks it did not renew and records the
// night's churn; then it sums up the backlog for the report and warns when
// the night's changes were more than the day's budget.
func (r *runner) settleBacklog(ctx context.Context, reason stopReason) error {
	if r.cmd != report.CommandApply || r.scope == "" {
		return nil
	}
	switch reason {
	case stopNone:
		r.bl.complete = true
	case stopBudget, stopServerQuota:
		if r.src.stdin == nil && !r.cfg.Full {
			if err := r.countBacklog(ctx); err != nil {
				return err
			}
		}
	}
	now := r.clock.Now()
	if r.bl.complete && !r.cfg.Full {
		if _, err := r.store.SweepPending(r.scope, r.bl.stamp); err != nil {
			return &StateError{Err: err}
		}
		if err := r.store.SetChurn(r.scope, r.bl.changesNew, now); err != nil {
			return &StateError{Err: err}
		}
	}
	st, err := r.store.PendingStats(r.scope)
	if err != nil {
		return &StateError{Err: err}
	}
	r.mu.Lock()
	changesNew, changesOld := r.bl.changesNew, r.bl.changesOld
	r.mu.Unlock()
	// The night's work in days of budget: the changes it found, new and
	// waiting (at least what still waits, should it not have looked at
	// every row).
	days := backlogDays(max(changesNew+changesOld, st.Count), r.cfg.DailyBudget)
	if st.Count > 0 {
		r.bl.summary = &report.Backlog{Pending: st.Count, OldestSince: st.Oldest.UTC(),
			OldestAgeSeconds: int64(now.Sub(st.Oldest) / time.Second), Days: days}
	}
	if r.bl.complete && !r.cfg.Full && changesNew+changesOld > r.bl.leftAtStart {
		r.log.Warn(fmt.Sprintf("%s changes tonight (%s new, %s still pending from earlier runs), budget %s left today: %s wait for the next run, oldest first; backlog %.1f days",
			thousands(changesNew+changesOld), thousands(changesNew), thousands(changesOld), thousands(r.bl.leftAtStart),
			thousands(st.Count), days),
			"changes", changesNew+changesOld, "new", changesNew, "from_earlier", changesOld,
			"budget_left", r.bl.leftAtStart, "pending", st.Count, "backlog_days", days)
	}
	return nil
}

// planBacklog is plan's view: the changes of this file already waiting
// from earlier runs, and the days of budget all its changes take.
func (r *runner) planBacklog() *report.Backlog {
	r.mu.Lock()
	changesNew, changesOld, oldest := r.bl.changesNew, r.bl.changesOld, r.bl.oldestSeen
	r.mu.Unlock()
	days := backlogDays(changesNew+changesOld, r.cfg.DailyBudget)
	if changesOld == 0 && days <= 1 {
		return nil
	}
	b := &report.Backlog{Pending: changesOld, Days: days}
	if !oldest.IsZero() {
		b.OldestSince = oldest.UTC()
		b.OldestAgeSeconds = int64(r.clock.Now().Sub(oldest) / time.Second)
	}
	return b
}

// backlogDays is how many days of the daily budget n changes take, to one
// decimal.
func backlogDays(n, perDay int) float64 {
	if n <= 0 || perDay <= 0 {
		return 0
	}
	return math.Round(float64(n)/float64(perDay)*10) / 10
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
