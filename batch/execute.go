package batch

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/ratelimit"
	"github.com/juicebatch/juicebatch/report"
)

// maxSamples is how many bodies plan shows.
const maxSamples = 3

// execute runs the main pass (and, for apply, the workers), then writes the
// report. ctx is the run's life: when it is cancelled (SIGINT/SIGTERM) no new
// row is taken, requests on the wire get cfg.Grace to finish, and the report
// is written with the rest pending.
func (r *runner) execute(ctx context.Context) (*Result, error) {
	feedCtx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	sendCtx, abortSends := context.WithCancel(context.WithoutCancel(ctx))
	defer abortSends()
	r.stopFeed, r.abortSends = stopFeed, abortSends

	finished := make(chan struct{})
	go r.watchSignal(ctx, finished)
	progressDone := r.startProgress(finished)

	r.indexRaw()
	var prodErr error
	if r.cmd != report.CommandApply {
		out := r.planTask
		if r.cmd == report.CommandVerify {
			out = func(*task) bool { return true }
		}
		if r.rf != nil {
			r.rf.out = out
		}
		prodErr = r.produce(feedCtx, func(t *task) bool { return r.route(feedCtx, t, out) })
		if r.rf != nil {
			r.rf.finish()
		}
	} else {
		in := make(chan *task)
		send := func(t *task) bool {
			select {
			case in <- t:
				return true
			case <-feedCtx.Done():
				return false
			}
		}
		if r.rf != nil {
			r.rf.out = send
			r.rf.start(feedCtx)
		}
		prodDone := make(chan struct{})
		go func() {
			defer close(prodDone)
			defer close(in)
			err := r.produceOrdered(feedCtx, func(t *task) bool { return r.route(feedCtx, t, send) })
			if r.rf != nil {
				r.rf.finish() // rows waiting on reads are decided before in closes
			}
			if err != nil {
				prodErr = err
				r.halt(err)
			}
		}()
		r.dispatch(feedCtx, sendCtx, in)
		<-prodDone
	}
	if prodErr != nil && r.cmd != report.CommandApply {
		r.halt(prodErr)
	}
	close(finished)
	<-progressDone
	r.log.Debug("rows found unchanged from their raw digest, without normalizing", "rows", r.rawHits.Load())
	if ctx.Err() != nil {
		r.stop(stopSignal)
	}
	if r.rl != nil {
		if err := r.rl.Flush(); err != nil {
			r.fatal(&StateError{Err: fmt.Errorf("flush state: %w", err)})
		}
	}

	reason, fatalErr := r.stopped()
	if fatalErr == nil {
		if err := r.settleBacklog(ctx, reason); err != nil {
			r.fatal(err)
			reason, fatalErr = r.stopped()
		}
	}
	if reason != stopSignal && reason != stopFatal {
		if err := r.src.drainStdin(); err != nil {
			r.log.Warn("could not read the rest of stdin for the report", "err", err)
		}
	}
	res, err := r.finish(reason, fatalErr)
	if err != nil {
		return nil, err
	}
	if fatalErr != nil {
		return res, fatalErr
	}
	return res, nil
}

// watchSignal turns the first cancellation of ctx into a graceful stop:
// feeding stops at once, requests on the wire get cfg.Grace.
func (r *runner) watchSignal(ctx context.Context, finished <-chan struct{}) {
	select {
	case <-finished:
		return
	case <-ctx.Done():
	}
	r.stop(stopSignal)
	r.log.Info("stopping: no new rows; waiting for requests in flight", "grace", r.cfg.Grace.String())
	timer := r.clock.NewTimer(r.cfg.Grace)
	defer timer.Stop()
	select {
	case <-finished:
	case <-timer.Chan():
		r.log.Warn("grace period over; abandoning requests in flight (they keep their keys and are re-sent on resume)")
		r.abortSends()
	}
}

// planTask is plan's stand-in for the workers: change detection only.
func (r *runner) planTask(t *task) bool {
	unchanged, err := r.planPrepare(t)
	if err != nil {
		r.fatal(&StateError{Err: err})
		return false
	}
	if unchanged {
		return true
	}
	r.mu.Lock()
	r.planReqs++
	if len(r.samples) < maxSamples {
		b, _ := t.body.MarshalJSON()
		applied, known, err := r.appliedState(t.id)
		if err != nil {
			r.mu.Unlock()
			r.fatal(&StateError{Err: err})
			return false
		}
		var warns []string
		for _, row := range t.rows {
			if row.Warnings != "" {
				warns = append(warns, fmt.Sprintf("row %d: %s", row.Num, row.Warnings))
			}
		}
		r.samples = append(r.samples, Sample{Row: t.rows[len(t.rows)-1].Num, ID: t.id, Body: string(b), ImpliedClears: t.implied,
			Fields: sampleFields(t.body, applied, known), Warnings: warns, Diffs: t.diffs})
	}
	r.mu.Unlock()
	r.mu.Lock()
	r.outcomes[outWouldUpdate] += len(t.rows)
	r.mu.Unlock()
	for _, row := range t.rows {
		if err := r.plan.put(row.Num, outWouldUpdate, t.implied, "", row.Warnings); err != nil {
			r.fatal(&StateError{Err: err})
			return false
		}
	}
	return true
}

func (r *runner) planPrepare(t *task) (bool, error) {
	applied, ok, err := r.appliedState(t.id)
	if err != nil {
		return false, err
	}
	if ok && !r.cfg.Full && sameAsApplied(t, applied) {
		return true, r.finishRows(outUnchanged, 0, "", t.rows...)
	}
	return false, r.noteChange(t)
}

// impliedNote tells, in plan's report, which address fields the update
// clears only because the address is replaced whole.
func impliedNote(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	return fmt.Sprintf("billing_address is replaced whole: %s sent as \"\" (cleared)", strings.Join(keys, ", "))
}

// finish is the report pass: it reads the input again beside the row
// records, writes results.csv and the failed file in input order, and the
// summary; then it records the run's end in the state.
func (r *runner) finish(reason stopReason, fatalErr error) (*Result, error) {
	// Each row's outcome is known; the report pass only needs its id and
	// its raw form, which a skim gives without decoding every field again.
	sk, err := r.src.skimmer()
	if err != nil {
		return nil, &InputError{Err: err}
	}
	defer sk.Close()
	format := report.CSV
	if r.src.format == input.NDJSON {
		format = report.NDJSON
	}
	w, err := report.Create(r.cfg.ReportDir, format, sk.Header())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	defer w.Abort()

	outcomes := report.ApplyOutcomes()
	switch r.cmd {
	case report.CommandPlan:
		outcomes = report.PlanOutcomes()
	case report.CommandVerify:
		outcomes = report.VerifyOutcomes()
	}
	counts := make(map[string]int, len(outcomes))
	for _, o := range outcomes {
		counts[o] = 0
	}
	// Reading and writing overlap: one goroutine skims the input and looks
	// each row up, this one writes the report.
	lines := make(chan []reportLine, 4)
	var readErr error
	go func() {
		defer close(lines)
		readErr = r.reportLines(sk, lines)
	}()
	total := 0
	var att attempts
	var writeErr error
	var problems report.RowList // report.html lists the first of them
	var tally reasonTally
	for batch := range lines {
		for _, l := range batch {
			if writeErr != nil {
				continue // drain, so the reader can finish
			}
			total++
			counts[l.res.Outcome]++
			if l.raw != nil {
				problems.Add(l.res)
			}
			att.add(r, l.res)
			if !r.wasCarried(l.res.Row) {
				tally.add(l.res) // summary.json's reasons: this invocation's rows
			}
			writeErr = r.writeLine(w, format, l)
		}
	}
	if readErr != nil {
		return nil, readErr
	}
	if writeErr != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, writeErr)
	}

	now := r.clock.Now().UTC()
	day := ratelimit.UTCDay(now)
	used := 0
	if r.fp != "" && r.cmd == report.CommandApply {
		if used, err = r.store.QuotaUsed(r.fp, day); err != nil {
			return nil, &StateError{Err: err}
		}
	} else if r.fp != "" && r.state != nil {
		if used, err = r.state.QuotaUsed(r.fp, day); err != nil {
			return nil, &StateError{Err: err}
		}
	}
	// Every figure is this invocation's (see totals.go); the run's
	// totals go beside them when it resumed an earlier invocation's run.
	totals := r.runTotals(counts, att)
	sum := report.Summary{
		RunID: r.run.ID, Command: r.cmd, Input: r.src.name,
		StartedAt: r.started, FinishedAt: now, Outcomes: r.invocationOutcomes(counts),
		Requests:    int(r.requests.Load()),
		Retries:     int(r.retries.Load()),
		RateLimited: int(r.rateLimited.Load()),
		Reads:       r.readCount(),
		Budget:      report.Budget{Day: day, Used: used, Left: max(0, r.cfg.DailyBudget-used)},
	}
	if r.resume {
		sum.RunTotals = &totals
	}
	tally.fill(&sum)
	result := &Result{ReportDir: r.cfg.ReportDir, Resumed: r.resume, StaleKeys: int(r.staleKeys.Load()), KeyFingerprint: r.fp}
	if reason != stopNone {
		result.Stopped = reason.String()
	}
	sum.Backlog = r.bl.summary
	if r.rf != nil {
		result.UnchangedByRead = int(r.rf.unchangedByRead.Load())
	}
	if r.cmd == report.CommandVerify {
		sum.Requests, sum.Retries, sum.RateLimited = 0, 0, 0
	}
	if r.cmd == report.CommandPlan {
		sum.Backlog = r.planBacklog()
		sum.Requests, sum.Retries, sum.RateLimited = 0, 0, 0
		sum.Plan = &report.Plan{Requests: r.planReqs, DailyBudget: r.cfg.DailyBudget,
			Days: daysNeeded(r.planReqs, r.cfg.DailyBudget-used, r.cfg.DailyBudget)}
		result.Samples = r.samples
	}
	sum.ExitCode = exitCode(r.cmd, counts, reason, fatalErr)
	page, err := r.htmlPage(sum, reason != stopNone, problems, now)
	if err != nil {
		return nil, err
	}
	w.SetPage(page)
	if err := w.Commit(sum); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	result.Summary = sum

	if r.cmd == report.CommandApply {
		r.run.UpdatedAt = now
		r.run.TotalRows = total
		r.run.Outcomes = counts
		r.run.Requests, r.run.Retries, r.run.RateLimited = totals.Requests, totals.Retries, totals.RateLimited
		r.run.Reads = totals.Reads
		r.run.ExitCode = sum.ExitCode
		r.run.Status = "finished"
		if reason != stopNone {
			r.run.Status = "stopped"
		} else {
			r.run.FinishedAt = now
		}
		if err := r.store.PutRun(r.run); err != nil {
			return nil, &StateError{Err: err}
		}
		if err := r.store.PruneRuns(keepRuns); err != nil {
			r.log.Warn("could not prune old runs from the state", "err", err)
		}
	}
	return result, nil
}

// reportLine is one row on its way to the report: its results.csv line and,
// for a row that goes to the failed file, its raw form.
type reportLine struct {
	res report.Result
	raw *input.RawRecord
}

// reportLines skims the input and resolves each row's line, in batches.
func (r *runner) reportLines(sk *input.FilesSkimmer, out chan<- []reportLine) error {
	var stored *checkpoint.RowReader
	if r.plan == nil {
		stored = r.store.RowReader(r.run.ID)
	}
	batch := make([]reportLine, 0, chunkSize)
	for {
		rec, err := sk.Next()
		if err != nil {
			// The end, or where the main pass stopped on the same broken
			// input: nothing after it was read.
			break
		}
		var l reportLine
		if r.plan != nil {
			l.res, err = r.planResult(rec)
		} else {
			l.res, err = r.applyResult(rec, stored)
		}
		if err != nil {
			return err
		}
		switch l.res.Outcome {
		case outInvalid, outRejected, outFailed:
			l.raw = sk.Raw()
		}
		if batch = append(batch, l); len(batch) == cap(batch) {
			out <- batch
			batch = make([]reportLine, 0, chunkSize)
		}
	}
	if len(batch) > 0 {
		out <- batch
	}
	return nil
}

// writeLine writes one row to results.csv and, when it failed, its
// original to the failed file.
func (r *runner) writeLine(w *report.Writer, format report.Format, l reportLine) error {
	if err := w.Result(l.res); err != nil {
		return err
	}
	if l.raw == nil {
		return nil
	}
	if format == report.NDJSON {
		return w.FailedNDJSON(l.raw.Text, l.res.Error)
	}
	fields := l.raw.Fields
	if fields == nil {
		fields = []string{string(l.raw.Text)}
	}
	return w.FailedCSV(fields, l.res.Error)
}

// applyResult is an apply row's line in results.csv, from its record in the
// state, or, for a row found unchanged that left none, from memory. A row
// with neither was not reached: pending.
func (r *runner) applyResult(rec *input.Skim, stored *checkpoint.RowReader) (report.Result, error) {
	res := report.Result{Row: rec.Num, ID: rec.ID, Outcome: outPending, File: rec.File, Line: rec.Line}
	if r.wasQuiet(rec.Num) {
		res.Outcome = outUnchanged // decided here, with nothing else to say: not recorded
		return res, nil
	}
	row, ok, err := stored.Seek(rec.Num)
	if err != nil {
		return res, &StateError{Err: err}
	}
	if !ok {
		return res, nil
	}
	res.Attempts, res.IdempotencyKey = row.Attempts, row.Key
	if row.CustomerID != "" {
		res.ID = row.CustomerID
	}
	res.Warnings = row.Warnings
	if row.Status == checkpoint.StatusDone {
		res.Outcome, res.HTTPStatus, res.Error = row.Outcome, row.HTTPStatus, row.Error
	} else if row.Attempts > 0 {
		res.Error = "in flight when the run stopped; resume re-sends it with this key"
	}
	return res, nil
}

// planResult is a plan row's line in results.csv, from planRows.
func (r *runner) planResult(rec *input.Skim) (report.Result, error) {
	outcome, implied, text, warnings, err := r.plan.get(rec.Num)
	if err != nil {
		return report.Result{}, &StateError{Err: err}
	}
	res := report.Result{Row: rec.Num, ID: rec.ID, Outcome: outcome, Error: text, Warnings: warnings, File: rec.File, Line: rec.Line}
	if outcome == "" {
		res.Outcome = outWouldUpdate // not reached: plan stops early only on a fatal error
	}
	if len(implied) > 0 {
		res.Error = impliedNote(implied)
	}
	return res, nil
}

// daysNeeded is how many days of the daily budget n requests take, today's
// remaining budget counting as the first day.
func daysNeeded(n, leftToday, perDay int) int {
	if n <= 0 {
		return 0
	}
	if leftToday < 0 {
		leftToday = 0
	}
	if n <= leftToday {
		return 1
	}
	days := 0
	if leftToday > 0 {
		days, n = 1, n-leftToday
	}
	return days + (n+perDay-1)/perDay
}

// Exit codes, the documented table (README "Exit codes").
const (
	ExitOK      = 0 // every row updated or unchanged
	ExitFatal   = 1 // configuration, auth rejected, state locked, input unreadable
	ExitUsage   = 2 // usage error
	ExitRowsBad = 3 // finished, but some rows invalid, rejected or failed
	ExitStopped = 4 // stopped early (daily budget, signal); run again to resume
)

func exitCode(cmd string, counts map[string]int, reason stopReason, fatalErr error) int {
	switch {
	case fatalErr != nil || reason == stopFatal:
		return ExitFatal
	case reason != stopNone:
		return ExitStopped
	case cmd == report.CommandVerify:
		// verify: 0 when every valid row matches.
		if counts[outDiffers]+counts[outMissing]+counts[outFailed] > 0 {
			return ExitRowsBad
		}
		return ExitOK
	case counts[outInvalid]+counts[outRejected]+counts[outFailed] > 0:
		return ExitRowsBad
	case counts[outPending] > 0:
		return ExitStopped
	}
	return ExitOK
}

// ExitCode maps what Apply or Plan returned to the process exit code.
func ExitCode(res *Result, err error) int {
	if errors.Is(err, ErrUsage) {
		return ExitUsage
	}
	if err != nil {
		return ExitFatal
	}
	if res == nil {
		return ExitFatal
	}
	return res.Summary.ExitCode
}
