package batch

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
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
	// Outcomes counts the rows this invocation decided; Carried the rows
	// of Done that an earlier invocation of a resumed run had finished.
	Outcomes map[string]int
	Carried  int
	// Requests, Retries and RateLimited are this invocation's, as is
	// Elapsed.
	Requests    int
	Reads       int // read requests (GET), apart from Requests
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
	carried := r.carriedRows()
	done += carried
	s := Snapshot{
		Command: r.cmd, Done: done, Total: -1, Outcomes: outcomes, Carried: carried,
		Requests:    int(r.requests.Load()),
		Reads:       r.readCount(),
		Retries:     int(r.retries.Load()),
		RateLimited: int(r.rateLimited.Load()),
		BudgetLeft:  -1,
		Rate:        r.cfg.Rate,
		Elapsed:     r.clock.Since(r.started),
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

// statusEvery is how often apply rewrites its status file at most.
const statusEvery = 5 * time.Second

// startProgress reports progress every ProgressEvery until finished is
// closed, then reports Done, and keeps apply's status file (Config.StatusFile)
// up to date. The returned channel closes after that.
func (r *runner) startProgress(finished <-chan struct{}) <-chan struct{} {
	out := make(chan struct{})
	statusFile := r.cfg.StatusFile
	if r.cmd != "apply" {
		statusFile = ""
	}
	if r.cfg.Progress == nil && statusFile == "" {
		close(out)
		return out
	}
	every := r.cfg.ProgressEvery
	if r.cfg.Progress == nil {
		every = statusEvery
	}
	go func() {
		defer close(out)
		ticker := r.clock.NewTicker(every)
		defer ticker.Stop()
		var lastStatus time.Time
		update := func(done bool) {
			s := r.snapshot()
			if r.cfg.Progress != nil {
				if done {
					r.cfg.Progress.Done(s)
				} else {
					r.cfg.Progress.Update(s)
				}
			}
			if now := r.clock.Now(); statusFile != "" && (done || now.Sub(lastStatus) >= statusEvery) {
				lastStatus = now
				if err := writeStatus(statusFile, r.status(s, done)); err != nil {
					r.log.Debug("could not write the status file", "err", err)
				}
			}
		}
		if statusFile != "" {
			lastStatus = r.clock.Now()
			if err := writeStatus(statusFile, r.status(r.snapshot(), false)); err != nil {
				r.log.Debug("could not write the status file", "err", err)
			}
		}
		for {
			select {
			case <-ticker.Chan():
				update(false)
			case <-finished:
				update(true)
				return
			}
		}
	}()
	return out
}

// Status is what apply writes to its status file while it runs, so that
// `juicebatch status` can show a run in progress although the state file
// itself is locked by the running process.
type Status struct {
	RunID       string         `json:"run_id"`
	Input       string         `json:"input"`
	PID         int            `json:"pid"`
	StartedAt   time.Time      `json:"started_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	Running     bool           `json:"running"`
	Done        int            `json:"done"`
	Total       int            `json:"total"`
	Outcomes    map[string]int `json:"outcomes"`
	Requests    int            `json:"requests"`
	Reads       int            `json:"reads"`
	Retries     int            `json:"retries"`
	RateLimited int            `json:"rate_limited"`
	BudgetLeft  int            `json:"budget_left"`
	ETA         string         `json:"eta,omitempty"`
	QuotaBound  bool           `json:"eta_quota_bound,omitempty"`
}

func (r *runner) status(s Snapshot, done bool) Status {
	st := Status{
		RunID: r.run.ID, Input: r.run.Input, PID: os.Getpid(), StartedAt: r.run.StartedAt.UTC(),
		UpdatedAt: r.clock.Now().UTC(), Running: !done, Done: s.Done, Total: s.Total, Outcomes: s.Outcomes,
		Requests: s.Requests, Reads: s.Reads, Retries: s.Retries, RateLimited: s.RateLimited, BudgetLeft: s.BudgetLeft,
	}
	if s.ETA > 0 {
		st.ETA, st.QuotaBound = ratelimit.FormatETA(s.ETA), s.QuotaBound
	}
	return st
}

// writeStatus replaces path atomically.
func writeStatus(path string, st Status) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".status-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ReadStatus reads a status file written by a running (or the last) apply.
func ReadStatus(path string) (Status, error) {
	var st Status
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("read status file %s: %w", path, err)
	}
	return st, nil
}

// StatusPath is the status file that goes with a state file.
func StatusPath(statePath string) string { return statePath + ".status.json" }
