package batch

import (
	"maps"

	"github.com/juicebatch/juicebatch/report"
)

// Subtleness ahead: a run can take several invocations (a crash, a signal,
// the daily budget, a byte-identical file the next night), and every figure
// an invocation reports (summary.json, the summary log line, progress,
// metrics) is that invocation's own: what it sent, what it decided, its own
// start and duration. The run's figures so far go beside them as
// run_totals, and in the state's run record (what status lists).
//
// An invocation's outcomes are the rows it decided itself, plus the rows
// still pending when it ended; the rows an earlier invocation had finished
// ("carried") count only in the run's totals, as results.csv, which lists
// every row of the run, shows them. A finished run keeps no row records
// (checkpoint's doc), so a byte-identical second night decides every row
// again, cheaply from its raw digest: it reports 0 requests and its rows
// unchanged, and its run_totals add its requests to the earlier nights'.

// invocationOutcomes is this invocation's outcomes, from the report pass's
// counts of every row of the run: those less the carried rows.
func (r *runner) invocationOutcomes(counts map[string]int) map[string]int {
	out := maps.Clone(counts)
	r.mu.Lock()
	defer r.mu.Unlock()
	for o, n := range r.carried {
		if o == outPending {
			continue
		}
		out[o] = max(0, out[o]-n)
	}
	return out
}

// runTotals is the run's totals after this invocation: the run record's
// counters from earlier invocations plus this one's, and every row's
// outcome.
//
// The run record's counters are written when an invocation ends; one that
// was killed (SIGKILL, a lost node) never wrote its own. The rows' attempts
// survive it: each request's intent is durable before it leaves, so the
// requests and retries of the run are at least the rows' attempts (one
// request's count per update, however many rows it merged). Only
// rate_limited and reads, which no row records, can miss a killed
// invocation's.
func (r *runner) runTotals(counts map[string]int, att attempts) report.Totals {
	t := report.Totals{
		StartedAt:   r.run.StartedAt,
		Outcomes:    maps.Clone(counts),
		Requests:    int(r.requests.Load()),
		Retries:     int(r.retries.Load()),
		RateLimited: int(r.rateLimited.Load()),
		Reads:       r.readCount(),
	}
	if r.cmd == report.CommandApply {
		t.Requests += r.run.Requests
		t.Retries += r.run.Retries
		t.RateLimited += r.run.RateLimited
		t.Reads += r.run.Reads
		t.Requests = max(t.Requests, att.requests)
		t.Retries = max(t.Retries, att.retries)
	}
	return t
}

// attempts sums the report pass's attempts per update.
type attempts struct {
	requests, retries int
	// keys holds the keys of merged updates already counted: their rows
	// each carry the update's attempts. Only ids that occur more than once
	// are kept.
	keys map[string]bool
}

func (a *attempts) add(r *runner, res report.Result) {
	if res.Attempts <= 0 {
		return
	}
	if res.IdempotencyKey != "" && r.scan.occurrences(res.ID) > 1 {
		if a.keys[res.IdempotencyKey] {
			return
		}
		if a.keys == nil {
			a.keys = map[string]bool{}
		}
		a.keys[res.IdempotencyKey] = true
	}
	a.requests += res.Attempts
	a.retries += res.Attempts - 1
}

// carriedRows is how many rows an earlier invocation had finished.
func (r *runner) carriedRows() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.carried {
		n += c
	}
	return n
}
