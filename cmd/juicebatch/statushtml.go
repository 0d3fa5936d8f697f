package main

import (
	"slices"
	"time"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/report"
)

// statusPage is status --html's page: every run in the state, and for
// every API key a chart of every UTC day the state holds, from the first
// run that used the key (or its oldest day, whichever is earlier) to today.
func statusPage(state string, runs []checkpoint.Run, quotas, reads []checkpoint.Quota, budget int, now time.Time) report.Page {
	p := report.Page{Title: "juicebatch state " + state, Generated: now}
	first := map[string]time.Time{} // fingerprint → where its chart starts
	var fps []string
	see := func(fp string, t time.Time) {
		if fp == "" {
			return
		}
		if f, ok := first[fp]; !ok || t.Before(f) {
			if !ok {
				fps = append(fps, fp)
			}
			first[fp] = t
		}
	}
	for _, r := range runs {
		p.Runs = append(p.Runs, runInfo(r, budget))
		see(r.KeyFingerprint, r.StartedAt)
	}
	for _, q := range quotas {
		if d, err := time.Parse(time.DateOnly, q.Day); err == nil {
			see(q.Fingerprint, d)
		}
	}
	slices.Sort(fps)
	for _, fp := range fps {
		p.Charts = append(p.Charts, batch.QuotaChart(fp, quotas, reads, first[fp], now, budget))
	}
	return p
}

// runInfo is a recorded run as the page shows it; budget gives the ETA of
// its pending rows.
func runInfo(r checkpoint.Run, budget int) report.RunInfo {
	ri := report.RunInfo{
		ID: r.ID, Command: r.Command, Status: r.Status, StartedAt: r.StartedAt, UpdatedAt: r.UpdatedAt,
		FinishedAt: r.FinishedAt, ExitCode: r.ExitCode, ExitMeaning: batch.ExitMeaning(r.ExitCode),
		Requests: r.Requests, Retries: r.Retries, RateLimited: r.RateLimited, DailyBudget: budget,
		Outcomes: outcomeCounts(r.Outcomes),
	}
	if r.Input != "" {
		ri.Inputs = []string{r.Input}
	}
	return ri
}

// outcomeCounts orders counts as apply's report does, then any other
// outcome by name.
func outcomeCounts(m map[string]int) []report.Count {
	keys := report.ApplyOutcomes()
	var extra []string
	for k := range m {
		if !slices.Contains(keys, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	var out []report.Count
	for _, k := range append(keys, extra...) {
		out = append(out, report.Count{Outcome: k, Rows: m[k]})
	}
	return out
}

// runningPage is status --html's page while an apply holds the state: the
// run as its status file shows it.
func runningPage(state string, st batch.Status, budget int, now time.Time) report.Page {
	ri := report.RunInfo{
		ID: st.RunID, Command: "apply", Status: "running", StartedAt: st.StartedAt, UpdatedAt: st.UpdatedAt,
		Requests: st.Requests, Retries: st.Retries, RateLimited: st.RateLimited, DailyBudget: budget,
		Outcomes: outcomeCounts(st.Outcomes),
	}
	if st.Input != "" {
		ri.Inputs = []string{st.Input}
	}
	if st.Total >= 0 && st.Total > st.Done {
		for i := range ri.Outcomes {
			if ri.Outcomes[i].Outcome == "pending" {
				ri.Outcomes[i].Rows += st.Total - st.Done
			}
		}
	}
	return report.Page{Title: "juicebatch state " + state + " (an apply is running)", Generated: now, Runs: []report.RunInfo{ri}}
}
