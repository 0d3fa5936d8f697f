// Package metrics publishes the counters of one juicebatch run to Prometheus.
//
// A juicebatch run lives minutes, far less than a scrape interval, so nothing
// scrapes it: at the end of the run it either pushes its metrics to a
// Pushgateway ([Push]) or writes them to a file for the node exporter's
// textfile collector ([WriteTextfile]). Both describe the same [Run] with the
// same metric names:
//
//	juicebatch_rows{outcome="updated"}          rows of the run by outcome (gauge; every outcome, 0 when unused)
//	juicebatch_requests_total                   requests sent, retries included (counter)
//	juicebatch_retries_total                    requests that were retries (counter)
//	juicebatch_rate_limited_total               429 answers seen (counter)
//	juicebatch_budget_used                      requests spent of today's budget for the key (gauge)
//	juicebatch_budget_left                      requests left of today's budget for the key (gauge)
//	juicebatch_last_run_duration_seconds        how long the run took (gauge)
//	juicebatch_last_run_exit_code               the process's exit code (gauge)
//	juicebatch_last_run_timestamp_seconds       when the run finished, Unix time (gauge)
//	juicebatch_backlog_pending                  changes waiting for budget after the run (gauge)
//	juicebatch_backlog_oldest_age_seconds       how long the oldest of them has waited (gauge; 0 when none)
//
// The counters count one invocation (of a run that may take several: a
// resumed run's earlier invocations are not in them): a push replaces the
// previous invocation's values (HTTP PUT on the group), so alert on the
// last values, not on rate().
//
// # Grouping
//
// [Push] sends to /metrics/job/<Job>/instance/<Instance>. Pick an Instance
// that is stable across runs (the CronJob's name, the merchant, the key's
// fingerprint), never the pod's name: every distinct grouping key stays in
// the Pushgateway until deleted. The textfile has no grouping key, so
// [WriteTextfile] adds the labels juicebatch_job and (when set)
// juicebatch_instance instead; job and instance belong to the node exporter
// that serves the file. Two runs that write textfiles on one host must use
// different Instances or the node exporter rejects the duplicate series.
//
// # Concurrency and state
//
// Every call builds its own prometheus.Registry; the package has no global
// state and touches no default registry, so calls are safe concurrently.
//
// # Errors
//
// Errors are wrapped with what was being done ("metrics: push to URL: ...",
// "metrics: write textfile PATH: ..."). A URL's password never appears in
// them. [ErrInvalidRun] (with errors.Is) marks a Run that cannot be
// published (negative counts, no finish time).
package metrics

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultJob is the job name used when Run.Job is empty.
const DefaultJob = "juicebatch"

// ErrInvalidRun marks a Run that cannot be turned into metrics.
var ErrInvalidRun = errors.New("invalid run")

// outcomes are apply's outcomes (report.ApplyOutcomes), always exported so
// that a query for juicebatch_rows{outcome="failed"} finds a 0, not nothing.
// A test keeps this list equal to the report's.
var outcomes = [...]string{"updated", "unchanged", "invalid", "rejected", "failed", "pending"}

// Run is what one run of juicebatch apply publishes. The zero value is not
// publishable: Finished must be set.
type Run struct {
	// Job and Instance are the Pushgateway grouping key. Job defaults to
	// DefaultJob; an empty Instance is left out of the textfile's labels
	// and sent as an empty instance to the Pushgateway.
	Job, Instance string
	// Outcomes counts rows by outcome (report.Summary.Outcomes). Outcomes
	// missing from the map are published as 0; keys beyond apply's
	// outcomes are published too.
	Outcomes map[string]int
	// Requests, Retries and RateLimited are the run's request counters
	// (summary.json's requests, retries, rate_limited).
	Requests, Retries, RateLimited int
	// BudgetUsed and BudgetLeft are today's budget for the key after the
	// run (summary.json's budget.used and budget.left).
	BudgetUsed, BudgetLeft int
	// ExitCode is the exit code the process returns.
	ExitCode int
	// Duration is how long the run took.
	Duration time.Duration
	// Finished is when the run ended.
	Finished time.Time
	// BacklogPending is how many changes wait for budget after the run
	// (summary.json's backlog.pending), and BacklogOldestAge how long the
	// oldest of them has waited: the signal to alert on when a nightly
	// job's churn is more than its budget.
	BacklogPending   int
	BacklogOldestAge time.Duration
}

// validate reports why r cannot be published.
func (r Run) validate() error {
	switch {
	case r.Finished.IsZero():
		return fmt.Errorf("%w: no finish time", ErrInvalidRun)
	case r.Requests < 0 || r.Retries < 0 || r.RateLimited < 0:
		return fmt.Errorf("%w: negative request counts (requests %d, retries %d, rate limited %d)",
			ErrInvalidRun, r.Requests, r.Retries, r.RateLimited)
	case r.BacklogPending < 0 || r.BacklogOldestAge < 0:
		return fmt.Errorf("%w: negative backlog (%d pending, oldest %s)", ErrInvalidRun, r.BacklogPending, r.BacklogOldestAge)
	case r.Duration < 0:
		return fmt.Errorf("%w: negative duration %s", ErrInvalidRun, r.Duration)
	}
	for _, o := range slices.Sorted(maps.Keys(r.Outcomes)) {
		if r.Outcomes[o] < 0 {
			return fmt.Errorf("%w: negative count %d for outcome %q", ErrInvalidRun, r.Outcomes[o], o)
		}
	}
	return nil
}

// job returns r.Job or DefaultJob.
func (r Run) job() string {
	if r.Job == "" {
		return DefaultJob
	}
	return r.Job
}

// registry returns a new registry holding r's metrics, each with the given
// constant labels.
func registry(r Run, constLabels prometheus.Labels) (*prometheus.Registry, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	rows := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name:        "juicebatch_rows",
		Help:        "Rows of the last run by outcome.",
		ConstLabels: constLabels,
	}, []string{"outcome"})
	for _, o := range outcomes {
		rows.WithLabelValues(o).Set(float64(r.Outcomes[o]))
	}
	for o, n := range r.Outcomes {
		rows.WithLabelValues(o).Set(float64(n))
	}
	counter := func(name, help string, v int) prometheus.Collector {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: constLabels})
		c.Add(float64(v)) // v >= 0: validate checked
		return c
	}
	gauge := func(name, help string, v float64) prometheus.Collector {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: constLabels})
		g.Set(v)
		return g
	}
	collectors := []prometheus.Collector{
		rows,
		counter("juicebatch_requests_total", "Requests the last run sent, retries included.", r.Requests),
		counter("juicebatch_retries_total", "Requests of the last run that were retries.", r.Retries),
		counter("juicebatch_rate_limited_total", "429 answers the last run got.", r.RateLimited),
		gauge("juicebatch_budget_used", "Requests spent of today's (UTC) daily budget for the API key, after the last run.", float64(r.BudgetUsed)),
		gauge("juicebatch_budget_left", "Requests left of today's (UTC) daily budget for the API key, after the last run.", float64(r.BudgetLeft)),
		gauge("juicebatch_last_run_duration_seconds", "How long the last run took.", r.Duration.Seconds()),
		gauge("juicebatch_last_run_exit_code", "Exit code of the last run: 0 ok, 1 fatal, 2 usage, 3 some rows invalid, rejected or failed, 4 stopped early.", float64(r.ExitCode)),
		gauge("juicebatch_last_run_timestamp_seconds", "When the last run finished, in seconds since the Unix epoch.", float64(r.Finished.UnixNano())/1e9),
		gauge("juicebatch_backlog_pending", "Changes waiting for the daily budget after the last run.", float64(r.BacklogPending)),
		gauge("juicebatch_backlog_oldest_age_seconds", "How long the oldest change waiting for the daily budget has waited, after the last run; 0 when none waits.", r.BacklogOldestAge.Seconds()),
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return reg, nil
}
