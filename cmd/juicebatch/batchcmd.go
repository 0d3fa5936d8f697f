package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/metrics"
	"github.com/juicebatch/juicebatch/ratelimit"
	"github.com/juicebatch/juicebatch/report"
	"github.com/juicebatch/juicebatch/sandbox"
)

const applyUsage = `Usage: juicebatch apply [flags] FILE...

Sends the updates in FILE (CSV or NDJSON, perhaps gzip-compressed; "-" reads
stdin) to PATCH /customers/{id}, at most --rate requests and --daily-budget a
day, resuming where an interrupted run stopped. Several files (a warehouse
export's shards) are read in the order given as one input. The API key comes
from JUICEBATCH_API_KEY or --api-key-file.

Examples:
  juicebatch apply --sandbox --map testdata/crm-mapping.json testdata/crm-export.csv
  JUICEBATCH_API_KEY=live_... juicebatch apply --map mapping.json customers.csv
  juicebatch apply --api-key-file /secrets/api-key export/export-*.csv.gz
  juicebatch apply --api-key-file /secrets/api-key --wait migration.csv

Flags:
`

const planUsage = `Usage: juicebatch plan [flags] FILE...

Validates FILE (or several files, read in order as one input) and compares it with what the state file says was last applied;
writes the report of what apply would send, and says how many requests and days
of the daily budget that takes. Sends nothing and needs no API key.

Examples:
  juicebatch plan --map mapping.json customers.csv
  juicebatch plan --phone-region NG customers.ndjson
  juicebatch plan --map mapping.json data_0_0_0.csv.gz data_0_1_0.csv.gz

Flags:
`

const verifyUsage = `Usage: juicebatch verify [flags] FILE...

Reads the live record of every valid row's customer and compares it with the
row's update (billing_address whole, null and "" alike), without a write
request and without changing the state. Outcomes: match, differs (the error
column names each field, live → intended), missing (404), invalid.
Exit 0 when every valid row matches, 3 otherwise. Needs the API key.

Examples:
  JUICEBATCH_API_KEY=live_... juicebatch verify --map mapping.json customers.csv
  juicebatch verify --read-rate 500/h --report verify-report export.csv

Flags:
`

func runVerify(ctx context.Context, args []string, std stdio) int {
	return runBatch(ctx, "verify", verifyUsage, args, std)
}

func runApply(ctx context.Context, args []string, std stdio) int {
	return runBatch(ctx, "apply", applyUsage, args, std)
}

func runPlan(ctx context.Context, args []string, std stdio) int {
	return runBatch(ctx, "plan", planUsage, args, std)
}

// sandboxKey is the throw-away key of apply --sandbox.
const sandboxKey = "test_juicebatch_sandbox"

func runBatch(ctx context.Context, cmd, usage string, args []string, std stdio) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var f runFlags
	f.register(fs, std, cmd)
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(std.out)
		fs.Usage()
		return exitOK
	}
	if err != nil {
		return exitUsage // flag has printed the problem and the usage
	}
	if len(pos) == 0 {
		fmt.Fprintf(std.err, "juicebatch %s: want FILE (several files are read in order as one input; \"-\" for stdin)\n\n", cmd)
		fs.Usage()
		return exitUsage
	}
	pos, err = expandPatterns(pos)
	if err != nil {
		fmt.Fprintf(std.err, "juicebatch %s: %v\n", cmd, err)
		return exitFatal
	}
	if err := checkInputs(pos, f.format); err != nil {
		fmt.Fprintf(std.err, "juicebatch %s: %v\n\n", cmd, err)
		fs.Usage()
		return exitUsage
	}
	fail := func(err error) int {
		fmt.Fprintf(std.err, "juicebatch %s: %v\n", cmd, err)
		if errors.Is(err, errUsage) {
			return exitUsage
		}
		return exitFatal
	}
	cfg, err := f.config(pos, std)
	if err != nil {
		return fail(err)
	}
	logger, err := f.newLogger(std)
	if err != nil {
		return fail(err)
	}
	cfg.Logger = logger
	key, err := f.apiKey(std)
	if err != nil {
		return fail(err)
	}
	cfg.Key = batch.Secret(key)

	var sb *sandbox.Server
	if f.sandbox {
		url, srv, stop, err := startInProcessSandbox()
		if err != nil {
			return fail(err)
		}
		defer stop()
		sb = srv
		cfg.BaseURL, cfg.Key, cfg.Sandbox, cfg.AuthScheme = url, sandboxKey, true, "bearer"
		if !flagGiven(fs, "refresh") {
			// The in-process sandbox learns the file's customers from their
			// first write: there is nothing to read before it.
			cfg.Refresh = batch.RefreshNone
		}
		if !f.rateSet {
			cfg.Rate = ratelimit.Rate{N: 10, Per: time.Second}
		}
		logger.Info("rehearsing against an in-process sandbox; nothing leaves this machine", "url", url, "rate", cfg.Rate.String())
	}

	if std.getenv("GOMEMLIMIT") == "" && std.setMemoryLimit != nil {
		lim := memoryLimitFor(cmd, pos)
		std.setMemoryLimit(lim)
		if cmd == "apply" {
			cfg.HeldMemory = heldMemory(std.setMemoryLimit, lim)
		}
	}

	terminal := isTerminal(std.err)
	if !f.noProgress {
		if terminal {
			cfg.Progress = newBarProgress(std.err)
			cfg.ProgressEvery = 250 * time.Millisecond
		} else {
			cfg.Progress = logProgress{log: logger}
		}
	}

	var res *batch.Result
	switch cmd {
	case "apply":
		res, err = batch.Apply(ctx, cfg)
	case "verify":
		res, err = batch.Verify(ctx, cfg)
	default:
		res, err = batch.Plan(ctx, cfg)
	}
	if res != nil {
		printSummary(std.out, res)
		logSummary(logger, res)
		if sb != nil {
			st := sb.Stats()
			fmt.Fprintf(std.out, "sandbox: %d updates applied, %d replays, %d rate-limited, %d duplicate applications\n",
				st.AppliedUpdates, st.Replays, st.RateLimited, st.DuplicateApplications)
		}
	}
	if err != nil {
		fmt.Fprintf(std.err, "juicebatch %s: %v\n", cmd, err)
	}
	code := batch.ExitCode(res, err)
	if res != nil && cmd == "apply" {
		publishMetrics(ctx, f, res, code, logger)
	}
	return code
}

// publishMetrics pushes or writes the run's counters (--metrics-push,
// --metrics-file). A failure is a warning: the run's own outcome stands.
func publishMetrics(ctx context.Context, f runFlags, res *batch.Result, code int, logger *slog.Logger) {
	if f.metricsPush == "" && f.metricsFile == "" {
		return
	}
	s := res.Summary
	run := metrics.Run{
		Job: metrics.DefaultJob,
		// The key's fingerprint: stable across runs, one per key, safe to show.
		Instance: res.KeyFingerprint,
		Outcomes: s.Outcomes, Requests: s.Requests, Retries: s.Retries, RateLimited: s.RateLimited,
		BudgetUsed: s.Budget.Used, BudgetLeft: s.Budget.Left, ExitCode: code,
		Duration: s.FinishedAt.Sub(s.StartedAt), Finished: s.FinishedAt,
	}
	if b := s.Backlog; b != nil {
		run.BacklogPending = b.Pending
		run.BacklogOldestAge = time.Duration(b.OldestAgeSeconds) * time.Second
	}
	if f.metricsPush != "" {
		// A signal may have ended the run; the push still deserves a try.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), metrics.DefaultPushTimeout)
		defer cancel()
		if err := metrics.Push(pctx, f.metricsPush, run, nil); err != nil {
			logger.Warn("could not push metrics", "err", err)
		}
	}
	if f.metricsFile != "" {
		if err := metrics.WriteTextfile(f.metricsFile, run); err != nil {
			logger.Warn("could not write metrics file", "err", err)
		}
	}
}

// memoryLimit is the soft memory limit for a run over file: 48 MiB, or more
// for a file so large that its per-row state (an 8-byte id hash in the
// first pass, a byte a row in plan) would not fit, where a tight limit would
// make the collector run without end.
func memoryLimit(files []string) int64 {
	const base, perRow = 48 << 20, 16
	rows := estimateRows(files)
	if rows <= 0 {
		return base
	}
	return max(base, 32<<20+perRow*int64(rows))
}

// estimateRows is the rows the files are estimated to hold (0 when none
// can be told).
func estimateRows(files []string) int {
	rows := 0
	for _, file := range files {
		if n, err := batch.EstimateRows(file); err == nil && n > 0 {
			rows += n
		}
	}
	return rows
}

// expandPatterns expands an argument that names no file but holds a glob
// pattern (* ? [) into the files it matches, in lexical order, as a shell
// would: a Kubernetes container's args pass through no shell, and a
// warehouse export's shard count changes from night to night
// (/input/export/export-*.csv.gz). A pattern that matches nothing is an
// error: the export did not arrive.
func expandPatterns(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if a == "-" || !strings.ContainsAny(a, "*?[") {
			out = append(out, a)
			continue
		}
		if _, err := os.Stat(a); err == nil {
			out = append(out, a) // a file really named so
			continue
		}
		matches, err := filepath.Glob(a)
		if err != nil {
			return nil, fmt.Errorf("input pattern %q: %w", a, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("input pattern %q matches no file", a)
		}
		out = append(out, matches...)
	}
	return out, nil
}

// checkInputs refuses what cannot be one input: stdin among files, or CSV
// and NDJSON files together (when --format does not say what they all are).
// A name whose format cannot be told is left to the run's own message.
func checkInputs(files []string, format string) error {
	if len(files) < 2 {
		return nil
	}
	first := -1
	var want input.Format
	for i, name := range files {
		if name == "-" {
			return errors.New("stdin (\"-\") is read alone: give either files or \"-\"")
		}
		f, err := input.DetectFormat(name, format)
		if err != nil {
			continue
		}
		if first < 0 {
			first, want = i, f
		} else if f != want {
			return fmt.Errorf("%s is %v but %s is %v: one run reads files of one format; run them separately", files[first], want, name, f)
		}
	}
	return nil
}

// startInProcessSandbox serves an in-process sandbox on a loopback port that
// knows every id, with limits that a 10/s rehearsal never reaches.
func startInProcessSandbox() (string, *sandbox.Server, func(), error) {
	srv, err := sandbox.New(sandbox.Options{
		Keys: []string{sandboxKey}, CreateUnknown: true,
		// Its per-request log lines would drown the run's own; its totals
		// are printed at the end.
		PerMinute: 600, PerDay: 1_000_000, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return "", nil, nil, fmt.Errorf("start sandbox: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, fmt.Errorf("start sandbox: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	// The run is over when stop is called: close at once (Shutdown would
	// wait for the client's idle connections).
	stop := func() { hs.Close() }
	return "http://" + ln.Addr().String(), srv, stop, nil
}

// printSummary writes the short human summary that ends every run.
func printSummary(w io.Writer, res *batch.Result) {
	s := res.Summary
	outcomes := report.ApplyOutcomes()
	switch s.Command {
	case report.CommandPlan:
		outcomes = report.PlanOutcomes()
	case report.CommandVerify:
		outcomes = report.VerifyOutcomes()
	}
	total := 0
	parts := make([]string, 0, len(outcomes))
	for _, o := range outcomes {
		total += s.Outcomes[o]
		parts = append(parts, fmt.Sprintf("%d %s", s.Outcomes[o], o))
	}
	verb := "finished"
	if res.Stopped != "" {
		verb = "stopped early (" + res.Stopped + "); run the same command again to resume"
	}
	rows := fmt.Sprintf("%d rows", total)
	if t := s.RunTotals; t != nil {
		// This invocation's outcomes; the rows an earlier one finished are
		// in the run's totals only.
		all := 0
		for _, n := range t.Outcomes {
			all += n
		}
		if more := all - total; more > 0 {
			rows = fmt.Sprintf("%d rows (%d more finished earlier in this run)", total, more)
		}
	}
	fmt.Fprintf(w, "%s %s: %s: %s\n", s.Command, verb, rows, strings.Join(parts, ", "))
	if s.Plan != nil {
		fmt.Fprintf(w, "apply would send %d requests: %s of the daily budget (%d a day; %d left today)\n",
			s.Plan.Requests, plural(s.Plan.Days, "day"), s.Plan.DailyBudget, s.Budget.Left)
		for _, sm := range res.Samples {
			fmt.Fprintf(w, "  row %d, id %s: %s\n", sm.Row, sm.ID, sm.Body)
			if len(sm.ImpliedClears) > 0 {
				fmt.Fprintf(w, "    billing_address is replaced whole: %s sent as \"\" (cleared)\n", strings.Join(sm.ImpliedClears, ", "))
			}
			for _, warn := range sm.Warnings {
				fmt.Fprintf(w, "    warning: %s\n", strings.ReplaceAll(warn, "\n", "; "))
			}
			for _, d := range sm.Diffs {
				fmt.Fprintf(w, "    %s\n", d)
			}
		}
		if s.Reads > 0 {
			fmt.Fprintf(w, "reads %d: %d rows found unchanged by reading the live records\n", s.Reads, res.UnchangedByRead)
		}
	} else if s.Command == report.CommandVerify {
		fmt.Fprintf(w, "reads %d; no update sent\n", s.Reads)
	} else {
		fmt.Fprintf(w, "requests %d (retries %d, rate-limited %d); budget %s: %d used, %d left\n",
			s.Requests, s.Retries, s.RateLimited, s.Budget.Day, s.Budget.Used, s.Budget.Left)
		fmt.Fprintf(w, "reads %d (apart from the update budget): %d rows found unchanged by reading\n", s.Reads, res.UnchangedByRead)
	}
	if t := s.RunTotals; t != nil {
		fmt.Fprintf(w, "the run so far (resumed; started %s): requests %d (retries %d, rate-limited %d), reads %d; %s\n",
			t.StartedAt.UTC().Format(time.RFC3339), t.Requests, t.Retries, t.RateLimited, t.Reads, outcomeList(t.Outcomes, outcomes))
	}
	if b := s.Backlog; b != nil {
		fmt.Fprintf(w, "%s\n", backlogLine(*b, s.FinishedAt))
	}
	printReasons(w, s)
	if res.StaleKeys > 0 {
		fmt.Fprintf(w, "%d updates were re-sent with keys older than the server keeps them (24 h)\n", res.StaleKeys)
	}
	fmt.Fprintf(w, "report: %s (exit %d)\n", res.ReportDir, s.ExitCode)
}

// logSummary writes the final log line with every count, for a log
// collector.
func logSummary(logger *slog.Logger, res *batch.Result) {
	s := res.Summary
	attrs := []any{"run", s.RunID, "exit_code", s.ExitCode, "requests", s.Requests, "reads", s.Reads, "retries", s.Retries,
		"rate_limited", s.RateLimited, "budget_used", s.Budget.Used, "budget_left", s.Budget.Left,
		"report", res.ReportDir}
	if res.Stopped != "" {
		attrs = append(attrs, "stopped", res.Stopped)
	}
	for _, o := range sortedKeys(s.Outcomes) {
		attrs = append(attrs, o, s.Outcomes[o])
	}
	attrs = append(attrs, "duration", s.FinishedAt.Sub(s.StartedAt).String())
	if b := s.Backlog; b != nil {
		attrs = append(attrs, slog.Group("backlog", "pending", b.Pending, "oldest_age_seconds", b.OldestAgeSeconds, "days", b.Days))
	}
	if t := s.RunTotals; t != nil {
		group := []any{"started_at", t.StartedAt.UTC().Format(time.RFC3339), "requests", t.Requests, "retries", t.Retries, "rate_limited", t.RateLimited}
		for _, o := range sortedKeys(t.Outcomes) {
			group = append(group, o, t.Outcomes[o])
		}
		attrs = append(attrs, slog.Group("run_totals", group...))
	}
	logger.Info("summary", attrs...)
}

// outcomeList is "3 updated, 0 unchanged, ..." in report order.
func outcomeList(counts map[string]int, order []string) string {
	parts := make([]string, 0, len(order))
	for _, o := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
	}
	return strings.Join(parts, ", ")
}

// backlogLine says how many changes wait for budget, since when, and how
// many days of budget they take.
func backlogLine(b report.Backlog, at time.Time) string {
	line := fmt.Sprintf("backlog: %s waiting for budget", plural(b.Pending, "change"))
	if !b.OldestSince.IsZero() {
		line += fmt.Sprintf(", the oldest since %s (%s)", b.OldestSince.UTC().Format(time.RFC3339),
			ratelimit.FormatETA(at.Sub(b.OldestSince).Truncate(time.Minute)))
	}
	return line + fmt.Sprintf("; the changes take %.1f days of budget", b.Days)
}

// flagGiven reports whether the command line set the flag name.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// shownReasons is how many reasons of each list the terminal summary
// prints; summary.json has more.
const shownReasons = 5

// printReasons prints why rows were invalid or rejected, and what rows
// were warned about, grouped as in summary.json: "212 rows: phone_number:
// not a valid number for NG, e.g. row 17".
func printReasons(w io.Writer, s report.Summary) {
	list := func(title string, rs []report.Reason) {
		if len(rs) == 0 {
			return
		}
		fmt.Fprintln(w, title)
		for i, r := range rs {
			if i == shownReasons {
				fmt.Fprintf(w, "  ... and %d more in summary.json\n", len(rs)-shownReasons)
				break
			}
			rows := plural(r.Count, "row")
			if r.Outcome != "" {
				rows += " " + r.Outcome
			}
			what := r.Problem
			if r.Field != "" {
				what = r.Field + ": " + what
			}
			fmt.Fprintf(w, "  %s: %s, e.g. row %d\n", rows, what, r.ExampleRow)
		}
	}
	list("why rows were invalid or rejected:", s.Reasons)
	if s.Warnings > 0 {
		list(fmt.Sprintf("warnings (%s with values the update endpoint allows but that look wrong; --strict-values refuses them):",
			plural(s.Warnings, "row")), s.WarningReasons)
	}
}
