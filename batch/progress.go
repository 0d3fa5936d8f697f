package batch

import (
	"maps"
	"time"

	"github.com/juicebatch/juicebatch/ratelimit"
)

// Progress receives a run's progress: a terminal shows a bar, a CronJob's
// log gets a line. Calls come from one goroutine.
type Progress interface {
	// Update is called every Config.ProgressEvery while the run goes.
	Update(Snapshot)
	// Done is called once, when the main pass and the requests are over
	// (before the report is written).
	Done(Snapshot)
}

// Snapshot is a run's state at one instant.
type Snapshot struct {
	Command string
	// Done counts rows with an outcome; Total is the number of rows, -1
	// when unknown (stdin).
	Done, Total int
	Outcomes    map[string]int
	Requests    int
	Retries     int
	RateLimited int
	// BudgetLeft is what is left of today's budget for this key (-1 when
	// unknown, as in plan without a key).
	BudgetLeft int
	Rate       ratelimit.Rate
	Elapsed    time.Duration
	// ETA is the time to finish the remaining rows at the pace and within
	// the daily budget; QuotaBound says the budget, not the pace, bounds
	// it. Zero when unknown.
	ETA        time.Duration
	QuotaBound bool
}

// snapshot reads the counters.
func (r *runner) snapshot() Snapshot {
	r.mu.Lock()
	outcomes := maps.Clone(r.outcomes)
	r.mu.Unlock()
	done := 0
	for _, n := range outcomes {
		done += n
	}
	s := Snapshot{
		Command: r.cmd, Done: done, Total: -1, Outcomes: outcomes,
		Requests:    int(r.requests.Load()),
		Retries:     int(r.retries.Load()),
		RateLimited: int(r.rateLimited.Load()),
		BudgetLeft:  -1,
		Rate:        r.cfg.Rate,
		Elapsed:     r.clock.Since(r.run.StartedAt),
	}
	if r.scan != nil {
		s.Total = r.scan.rows
	}
	if r.pacer != nil {
		s.Rate = r.pacer.Rate()
	}
	now := r.clock.Now()
	if r.fp != "" && r.cmd == "apply" {
		if used, err := r.store.QuotaUsed(r.fp, ratelimit.UTCDay(now)); err == nil {
			s.BudgetLeft = max(0, r.cfg.DailyBudget-used)
		}
	}
	if s.Total >= 0 && s.BudgetLeft >= 0 {
		// Each remaining row may need a request: an upper bound, which is
		// what a user planning a migration wants.
		remaining := s.Total - done
		s.ETA, s.QuotaBound = ratelimit.ETA(now, remaining, s.Rate, s.BudgetLeft, r.cfg.DailyBudget)
	}
	return s
}

// startProgress reports progress every ProgressEvery until finished is
// closed, then reports Done. The returned channel closes after that.
func (r *runner) startProgress(finished <-chan struct{}) <-chan struct{} {
	out := make(chan struct{})
	if r.cfg.Progress == nil {
		close(out)
		return out
	}
	go func() {
		defer close(out)
		ticker := r.clock.NewTicker(r.cfg.ProgressEvery)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.Chan():
				r.cfg.Progress.Update(r.snapshot())
			case <-finished:
				r.cfg.Progress.Done(r.snapshot())
				return
			}
		}
	}()
	return out
}
