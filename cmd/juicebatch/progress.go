package main

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"

	"github.com/schollz/progressbar/v3"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/ratelimit"
)

// barProgress draws a progress bar on a terminal.
type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func newBarProgress(w io.Writer) *barProgress { return &barProgress{w: w} }

func (p *barProgress) Update(s batch.Snapshot) {
	if p.bar == nil {
		p.bar = progressbar.NewOptions(s.Total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionThrottle(0),
		)
	}
	p.bar.Describe(describe(s))
	p.bar.Set(s.Done)
}

func (p *barProgress) Done(s batch.Snapshot) {
	if p.bar != nil {
		p.Update(s)
		p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

// describe is the bar's text: requests, budget, and an ETA that accounts
// for the daily quota ("ETA 2d 3h (daily quota)").
func describe(s batch.Snapshot) string {
	d := fmt.Sprintf("%d req", s.Requests)
	if s.Reads > 0 {
		d += fmt.Sprintf(", %d reads", s.Reads) // reads are limited apart from updates
	}
	if s.BudgetLeft >= 0 {
		d += fmt.Sprintf(", %d left today", s.BudgetLeft)
	}
	if s.ETA > 0 {
		d += ", ETA " + ratelimit.FormatETA(s.ETA)
		if s.QuotaBound {
			d += " (daily quota)"
		}
	}
	return d
}

// logProgress writes one progress line per interval: for a CronJob's log.
type logProgress struct{ log *slog.Logger }

func (p logProgress) Update(s batch.Snapshot) { p.log.Info("progress", progressAttrs(s)...) }
func (p logProgress) Done(s batch.Snapshot)   { p.log.Info("progress", progressAttrs(s)...) }

func progressAttrs(s batch.Snapshot) []any {
	attrs := []any{"done", s.Done, "total", s.Total, "requests", s.Requests}
	if s.Reads > 0 {
		attrs = append(attrs, "reads", s.Reads)
	}
	attrs = append(attrs, "retries", s.Retries,
		"rate_limited", s.RateLimited, "rate", s.Rate.String(), "budget_left", s.BudgetLeft)
	if s.ETA > 0 {
		attrs = append(attrs, "eta", ratelimit.FormatETA(s.ETA), "eta_quota_bound", s.QuotaBound)
	}
	for _, o := range sortedKeys(s.Outcomes) {
		attrs = append(attrs, o, s.Outcomes[o])
	}
	if s.Carried > 0 {
		// Rows an earlier invocation finished: in done, not in the outcomes.
		attrs = append(attrs, "carried", s.Carried)
	}
	return attrs
}

func sortedKeys(m map[string]int) []string {
	return slices.Sorted(maps.Keys(m))
}
