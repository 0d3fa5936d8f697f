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
	"strings"
	"time"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/metrics"
	"github.com/juicebatch/juicebatch/ratelimit"
	"github.com/juicebatch/juicebatch/report"
	"github.com/juicebatch/juicebatch/sandbox"
)

const applyUsage = `Usage: juicebatch apply [flags] FILE

Sends the updates in FILE (CSV or NDJSON; "-" reads stdin) to PATCH /customers/{id},
at most --rate requests and --daily-budget a day, resuming where an interrupted
run stopped. The API key comes from JUICEBATCH_API_KEY or --api-key-file.

Examples:
  juicebatch apply --sandbox --map testdata/crm-mapping.json testdata/crm-export.csv
  JUICEBATCH_API_KEY=live_... juicebatch apply --map mapping.json customers.csv
  juicebatch apply --api-key-file /secrets/api-key --wait migration.csv

Flags:
`

const planUsage = `Usage: juicebatch plan [flags] FILE

Validates FILE and compares it with what the state file says was last applied;
writes the report of what apply would send, and says how many requests and days
of the daily budget that takes. Sends nothing and needs no API key.

Examples:
  juicebatch plan --map mapping.json customers.csv
  juicebatch plan --phone-region NG customers.ndjson

Flags:
`

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
	if len(pos) != 1 {
		fmt.Fprintf(std.err, "juicebatch %s: want exactly one FILE (\"-\" for stdin), got %d arguments\n\n", cmd, len(pos))
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
	cfg, err := f.config(pos[0], std)
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
		if !f.rateSet {
			cfg.Rate = ratelimit.Rate{N: 10, Per: time.Second}
		}
		logger.Info("rehearsing against an in-process sandbox; nothing leaves this machine", "url", url, "rate", cfg.Rate.String())
	}

	if std.getenv("GOMEMLIMIT") == "" && std.setMemoryLimit != nil {
		std.setMemoryLimit(memoryLimitFor(cmd, pos[0]))
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
	if cmd == "apply" {
		res, err = batch.Apply(ctx, cfg)
	} else {
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
func memoryLimit(file string) int64 {
	const base, perRow = 48 << 20, 16
	rows, err := batch.EstimateRows(file)
	if err != nil || rows <= 0 {
		return base
	}
	return max(base, 32<<20+perRow*int64(rows))
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
	if s.Command == report.CommandPlan {
		outcomes = report.PlanOutcomes()
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
	fmt.Fprintf(w, "%s %s: %d rows: %s\n", s.Command, verb, total, strings.Join(parts, ", "))
	if s.Plan != nil {
		fmt.Fprintf(w, "apply would send %d requests: %s of the daily budget (%d a day; %d left today)\n",
			s.Plan.Requests, plural(s.Plan.Days, "day"), s.Plan.DailyBudget, s.Budget.Left)
		for _, sm := range res.Samples {
			fmt.Fprintf(w, "  row %d, id %s: %s\n", sm.Row, sm.ID, sm.Body)
			if len(sm.ImpliedClears) > 0 {
				fmt.Fprintf(w, "    billing_address is replaced whole: %s sent as \"\" (cleared)\n", strings.Join(sm.ImpliedClears, ", "))
			}
		}
	} else {
		fmt.Fprintf(w, "requests %d (retries %d, rate-limited %d); budget %s: %d used, %d left\n",
			s.Requests, s.Retries, s.RateLimited, s.Budget.Day, s.Budget.Used, s.Budget.Left)
	}
	if res.StaleKeys > 0 {
		fmt.Fprintf(w, "%d updates were re-sent with keys older than the server keeps them (24 h)\n", res.StaleKeys)
	}
	fmt.Fprintf(w, "report: %s (exit %d)\n", res.ReportDir, s.ExitCode)
}

// logSummary writes the final log line with every count, for a log
// collector.
func logSummary(logger *slog.Logger, res *batch.Result) {
	s := res.Summary
	attrs := []any{"run", s.RunID, "exit_code", s.ExitCode, "requests", s.Requests, "retries", s.Retries,
		"rate_limited", s.RateLimited, "budget_used", s.Budget.Used, "budget_left", s.Budget.Left,
		"report", res.ReportDir}
	if res.Stopped != "" {
		attrs = append(attrs, "stopped", res.Stopped)
	}
	for _, o := range sortedKeys(s.Outcomes) {
		attrs = append(attrs, o, s.Outcomes[o])
	}
	logger.Info("summary", attrs...)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
