package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/ratelimit"
	"github.com/juicebatch/juicebatch/report"
)

const statusUsage = `Usage: juicebatch status [flags]

Lists the runs recorded in the state file with their counts per outcome, and
today's quota use per API key (by fingerprint: its test_/live_ prefix and a
short hash; never the key).

Examples:
  juicebatch status
  juicebatch status --state /var/lib/juicebatch/state.db --json
  juicebatch status --html state.html   # every run and every day, as a web page

Flags:
`

// statusJSON is status's --json output.
type statusJSON struct {
	State string        `json:"state"`
	Day   string        `json:"day"`
	Runs  []statusRun   `json:"runs"`
	Quota []statusQuota `json:"quota"`
	// Backlog is, per target (base URL and key fingerprint), the changes
	// waiting for budget.
	Backlog []statusBacklog `json:"backlog"`
}

type statusBacklog struct {
	Target           string    `json:"target"`
	Pending          int       `json:"pending"`
	OldestSince      time.Time `json:"oldest_since,omitzero"`
	OldestAgeSeconds int64     `json:"oldest_age_seconds"`
	// Churn is the new changes the last complete run found; Days the days
	// of budget the waiting changes and as many new ones take.
	Churn int     `json:"churn"`
	Days  float64 `json:"days"`
}

type statusRun struct {
	ID          string         `json:"id"`
	Status      string         `json:"status"`
	Input       string         `json:"input"`
	Target      string         `json:"target"`
	StartedAt   time.Time      `json:"started_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	TotalRows   int            `json:"total_rows"`
	Outcomes    map[string]int `json:"outcomes"`
	Requests    int            `json:"requests"`
	Retries     int            `json:"retries"`
	RateLimited int            `json:"rate_limited"`
	ExitCode    int            `json:"exit_code"`
}

type statusQuota struct {
	Key  string `json:"key"`
	Used int    `json:"used"`
	Left int    `json:"left"`
	// Reads are the read requests (GET) sent today with the key, limited
	// apart from the update quota.
	Reads int `json:"reads"`
}

// printRunning shows the status file of the apply that holds the state.
func printRunning(std stdio, state string, asJSON bool, lockErr error, htmlFile string, budget int) int {
	st, err := batch.ReadStatus(batch.StatusPath(state))
	if err != nil {
		fmt.Fprintf(std.err, "juicebatch status: %v\n", lockErr)
		return exitFatal
	}
	if htmlFile != "" {
		if err := report.WriteHTMLFile(htmlFile, runningPage(state, st, budget, time.Now().UTC())); err != nil {
			fmt.Fprintf(std.err, "juicebatch status: %v\n", err)
			return exitFatal
		}
	}
	if asJSON {
		enc := json.NewEncoder(std.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			State   string       `json:"state"`
			Running batch.Status `json:"running"`
		}{state, st}); err != nil {
			return exitFatal
		}
		return exitOK
	}
	total := "?"
	if st.Total >= 0 {
		total = fmt.Sprint(st.Total)
	}
	fmt.Fprintf(std.out, "state: %s is in use by a running apply (pid %d); its progress at %s:\n\n", state, st.PID, st.UpdatedAt.Format(time.RFC3339))
	fmt.Fprintf(std.out, "run %s, input %s, started %s\n", st.RunID, st.Input, st.StartedAt.Format(time.RFC3339))
	fmt.Fprintf(std.out, "rows %d of %s done:", st.Done, total)
	for _, o := range report.ApplyOutcomes() {
		fmt.Fprintf(std.out, " %d %s", st.Outcomes[o], o)
	}
	fmt.Fprintf(std.out, "\nrequests %d (retries %d, rate-limited %d); budget left today %d", st.Requests, st.Retries, st.RateLimited, st.BudgetLeft)
	if st.Reads > 0 {
		fmt.Fprintf(std.out, "; reads %d", st.Reads)
	}
	if st.ETA != "" {
		fmt.Fprintf(std.out, "; ETA %s", st.ETA)
		if st.QuotaBound {
			fmt.Fprint(std.out, " (daily quota)")
		}
	}
	fmt.Fprintln(std.out)
	return exitOK
}

func runStatus(ctx context.Context, args []string, std stdio) int {
	fset := flag.NewFlagSet("status", flag.ContinueOnError)
	fset.SetOutput(std.err)
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), statusUsage)
		fset.PrintDefaults()
	}
	state := batch.DefaultStatePath
	if v := std.getenv("JUICEBATCH_STATE"); v != "" {
		state = v
	}
	fset.StringVar(&state, "state", state, "state `file` (env JUICEBATCH_STATE)")
	budget := fset.Int("daily-budget", batch.DefaultDailyBudget, "the daily budget to show what is left of")
	asJSON := fset.Bool("json", false, "print JSON")
	htmlFile := fset.String("html", "", "also write every run and every day of the state as a self-contained web page to `FILE`")
	pos, err := parseArgs(fset, args)
	if errors.Is(err, flag.ErrHelp) {
		fset.SetOutput(std.out)
		fset.Usage()
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(pos) != 0 {
		fmt.Fprintf(std.err, "juicebatch status: takes no arguments, got %q\n", pos)
		return exitUsage
	}
	// A lock held now is a running apply: no need to wait for it.
	store, err := checkpoint.Open(state, checkpoint.Options{ReadOnly: true, LockTimeout: 200 * time.Millisecond})
	if errors.Is(err, checkpoint.ErrLocked) {
		// A running apply holds the state file; it keeps a status file
		// beside it for exactly this.
		return printRunning(std, state, *asJSON, err, *htmlFile, *budget)
	}
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(std.err, "juicebatch status: no state file at %s (nothing has run with it yet)\n", state)
		return exitFatal
	}
	if err != nil {
		fmt.Fprintf(std.err, "juicebatch status: %v\n", err)
		return exitFatal
	}
	defer store.Close()
	runs, err := store.Runs()
	if err != nil {
		fmt.Fprintf(std.err, "juicebatch status: %v\n", err)
		return exitFatal
	}
	quotas, err := store.Quotas()
	if err != nil {
		fmt.Fprintf(std.err, "juicebatch status: %v\n", err)
		return exitFatal
	}
	backlogs, err := store.Backlogs()
	if err != nil {
		fmt.Fprintf(std.err, "juicebatch status: %v\n", err)
		return exitFatal
	}
	now := time.Now()
	day := ratelimit.UTCDay(now)
	if *htmlFile != "" {
		reads, err := store.Reads()
		if err != nil {
			fmt.Fprintf(std.err, "juicebatch status: %v\n", err)
			return exitFatal
		}
		if err := report.WriteHTMLFile(*htmlFile, statusPage(state, runs, quotas, reads, *budget, now.UTC())); err != nil {
			fmt.Fprintf(std.err, "juicebatch status: %v\n", err)
			return exitFatal
		}
	}
	out := statusJSON{State: state, Day: day, Runs: []statusRun{}, Quota: []statusQuota{}, Backlog: []statusBacklog{}}
	for _, b := range backlogs {
		sb := statusBacklog{Target: b.Scope, Pending: b.Count, Churn: b.Churn,
			Days: math.Round(float64(b.Count+b.Churn)/float64(max(1, *budget))*10) / 10}
		if !b.Oldest.IsZero() {
			sb.OldestSince, sb.OldestAgeSeconds = b.Oldest.UTC(), int64(now.Sub(b.Oldest)/time.Second)
		}
		out.Backlog = append(out.Backlog, sb)
	}
	for _, r := range runs {
		out.Runs = append(out.Runs, statusRun{
			ID: r.ID, Status: r.Status, Input: r.Input, Target: r.Target, StartedAt: r.StartedAt.UTC(),
			UpdatedAt: r.UpdatedAt.UTC(), TotalRows: r.TotalRows, Outcomes: r.Outcomes, Requests: r.Requests,
			Retries: r.Retries, RateLimited: r.RateLimited, ExitCode: r.ExitCode,
		})
	}
	reads, err := store.Reads()
	if err != nil {
		fmt.Fprintf(std.err, "juicebatch status: %v\n", err)
		return exitFatal
	}
	for _, q := range quotas {
		if q.Day == day {
			out.Quota = append(out.Quota, statusQuota{Key: q.Fingerprint, Used: q.Used, Left: max(0, *budget-q.Used)})
		}
	}
	for _, rd := range reads {
		if rd.Day != day {
			continue
		}
		i := slices.IndexFunc(out.Quota, func(q statusQuota) bool { return q.Key == rd.Fingerprint })
		if i < 0 {
			out.Quota = append(out.Quota, statusQuota{Key: rd.Fingerprint, Left: *budget})
			i = len(out.Quota) - 1
		}
		out.Quota[i].Reads = rd.Used
	}
	if *asJSON {
		enc := json.NewEncoder(std.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return exitFatal
		}
		return exitOK
	}
	fmt.Fprintf(std.out, "state: %s\n\n", state)
	tw := tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
	outcomes := report.ApplyOutcomes()
	fmt.Fprint(tw, "RUN\tSTATUS\tSTARTED\tROWS")
	for _, o := range outcomes {
		fmt.Fprintf(tw, "\t%s", o)
	}
	fmt.Fprint(tw, "\tREQUESTS\tINPUT\n")
	if len(out.Runs) == 0 {
		fmt.Fprintln(tw, "(no runs)")
	}
	for _, r := range out.Runs {
		rows := "?"
		if r.TotalRows >= 0 {
			rows = fmt.Sprint(r.TotalRows)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s", r.ID, r.Status, r.StartedAt.Format(time.RFC3339), rows)
		for _, o := range outcomes {
			fmt.Fprintf(tw, "\t%d", r.Outcomes[o])
		}
		fmt.Fprintf(tw, "\t%d\t%s\n", r.Requests, r.Input)
	}
	tw.Flush()
	fmt.Fprintf(std.out, "\nquota today (%s UTC, budget %d a day):\n", day, *budget)
	tw = tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tUSED\tLEFT\tREADS")
	if len(out.Quota) == 0 {
		fmt.Fprintln(tw, "(no requests today)")
	}
	for _, q := range out.Quota {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", q.Key, q.Used, q.Left, q.Reads)
	}
	tw.Flush()
	fmt.Fprintf(std.out, "\nbacklog (changes waiting for budget; days of %d-a-day budget they and the last night's new changes take):\n", *budget)
	tw = tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tPENDING\tOLDEST\tWAITING\tLAST CHURN\tDAYS")
	if len(out.Backlog) == 0 {
		fmt.Fprintln(tw, "(nothing waiting)")
	}
	for _, b := range out.Backlog {
		oldest, waiting := "-", "-"
		if !b.OldestSince.IsZero() {
			oldest = b.OldestSince.Format(time.RFC3339)
			waiting = ratelimit.FormatETA(time.Duration(b.OldestAgeSeconds) * time.Second)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%.1f\n", b.Target, b.Pending, oldest, waiting, b.Churn, b.Days)
	}
	tw.Flush()
	return exitOK
}
