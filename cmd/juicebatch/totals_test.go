package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/juicebatch/juicebatch/report"
	"github.com/juicebatch/juicebatch/sandbox"
)

func readSummary(t *testing.T, dir string) report.Summary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, report.SummaryName))
	if err != nil {
		t.Fatal(err)
	}
	var s report.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("summary.json: %v\n%s", err, b)
	}
	return s
}

// TestSecondNightReportsItsOwnFigures: a byte-identical export the next
// night resumes the finished run and sends nothing; its summary, summary
// log line and metrics say so, and the run's totals go beside them.
func TestSecondNightReportsItsOwnFigures(t *testing.T) {
	rs := newRecordingSandbox(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("id,email\nn-1,a@example.com\nn-2,b@example.com\nn-3,c@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	prom := filepath.Join(dir, "juicebatch.prom")
	env := map[string]string{"JUICEBATCH_API_KEY": canary}
	args := []string{"apply", "--base-url", rs.URL, "--rate", "100/s", "--no-progress", "--log-format", "json", "--metrics-file", prom, in}
	if got := invoke(t, dir, env, args...); got.code != exitOK {
		t.Fatalf("first night = %d\n%s", got.code, got.stderr)
	}
	first := readSummary(t, filepath.Join(dir, "report"))
	second := invoke(t, dir, env, args...)
	if second.code != exitOK {
		t.Fatalf("second night = %d\n%s", second.code, second.stderr)
	}
	s := readSummary(t, filepath.Join(dir, "report"))
	// A finished run keeps no rows: the night decides each again (unchanged).
	if s.Requests != 0 || s.Retries != 0 || s.Outcomes["updated"] != 0 || s.Outcomes["unchanged"] != 3 {
		t.Errorf("second night: requests %d, retries %d, outcomes %v; want nothing sent, 3 unchanged", s.Requests, s.Retries, s.Outcomes)
	}
	if s.StartedAt.Before(first.FinishedAt) {
		t.Errorf("second night started_at %s; want its own start, not before the first night's finish %s", s.StartedAt, first.FinishedAt)
	}
	if tot := s.RunTotals; tot == nil || tot.Requests != 3 || tot.Outcomes["unchanged"] != 3 || !tot.StartedAt.Equal(first.StartedAt) {
		t.Errorf("second night run_totals %+v; want the run's 3 requests, 3 unchanged, started %s", tot, first.StartedAt)
	}
	if n := len(rs.seen()); n != 3 {
		t.Errorf("the server saw %d requests; want 3", n)
	}
	// The summary log line.
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(second.stderr), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == "summary" {
			line = rec
		}
	}
	totals, _ := line["run_totals"].(map[string]any)
	if line["requests"] != 0.0 || line["updated"] != 0.0 || totals["requests"] != 3.0 || totals["unchanged"] != 3.0 {
		t.Errorf("summary log line %v; want requests 0, updated 0 and run_totals with 3 requests", line)
	}
	// The metrics: this invocation's requests and its own duration.
	b, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	metrics := map[string]float64{}
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, rest, _ := strings.Cut(l, "{")
		labels, value, _ := strings.Cut(rest, "} ")
		if strings.Contains(labels, "outcome=") {
			_, o, _ := strings.Cut(labels, `outcome="`)
			name += "/" + strings.TrimSuffix(o, `"`)
		}
		var v float64
		fmt.Sscan(value, &v)
		metrics[name] = v
	}
	dur := s.FinishedAt.Sub(s.StartedAt).Seconds()
	if metrics["juicebatch_requests_total"] != 0 || metrics["juicebatch_rows/updated"] != 0 ||
		metrics["juicebatch_last_run_duration_seconds"] > dur+1 || metrics["juicebatch_last_run_timestamp_seconds"] < float64(s.StartedAt.Unix()) {
		t.Errorf("second night metrics %v; want 0 requests, 0 updated, a duration of at most %.0fs", metrics, dur+1)
	}
}

// TestResumeAfterSIGKILLCountsItsOwnRequests: a process killed with a
// request on the wire never writes its counters; the next one reports what
// it sent itself, and the run's totals add up to what the server saw.
func TestResumeAfterSIGKILLCountsItsOwnRequests(t *testing.T) {
	sb, err := sandbox.New(sandbox.Options{Keys: []string{childKey}, CreateUnknown: true, PerMinute: 1 << 20, PerDay: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	const free = 3 // the 4th request is held until the first process is dead
	held, release, served := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		hold := n == free+1
		mu.Unlock()
		if hold {
			close(held)
			<-release
			defer close(served)
		}
		sb.ServeHTTP(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	args := []string{"apply", "--base-url", srv.URL, "--state", filepath.Join(dir, "state.db"),
		"--report", filepath.Join(dir, "report"), "--rate", "100/s", "--concurrency", "1", "--no-progress", tenRows(t, dir)}
	cmd := child(t, io.Discard, args...)
	<-held
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(release)
	<-served // the held request reached the sandbox: 4 so far

	cmd = child(t, io.Discard, args...)
	if code := exitCodeOf(cmd.Wait()); code != exitOK {
		t.Fatalf("resumed run exit %d; want 0", code)
	}
	received := 0
	for _, c := range sb.Stats().RequestsByStatus {
		received += c
	}
	s := readSummary(t, filepath.Join(dir, "report"))
	if s.Requests != received-(free+1) {
		t.Errorf("resumed process reports %d requests; the server saw %d after the kill", s.Requests, received-(free+1))
	}
	if tot := s.RunTotals; tot == nil || tot.Requests != received || tot.Outcomes["updated"] != 10 {
		t.Errorf("run_totals %+v; want %d requests (what the server saw) and 10 updated", tot, received)
	}
	if st := sb.Stats(); st.DuplicateApplications != 0 || st.AppliedUpdates != 10 {
		t.Errorf("sandbox %+v; want 10 applied, no duplicates", st)
	}
}

// TestBacklogInPlanStatusAndMetrics: a run stopped by its budget leaves
// changes waiting; the summary, the metrics, plan and status show them.
func TestBacklogInPlanStatusAndMetrics(t *testing.T) {
	rs := newRecordingSandbox(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("id,email\nb-1,a@example.com\nb-2,b@example.com\nb-3,c@example.com\nb-4,d@example.com\nb-5,e@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	prom := filepath.Join(dir, "juicebatch.prom")
	env := map[string]string{"JUICEBATCH_API_KEY": canary}
	got := invoke(t, dir, env, "apply", "--base-url", rs.URL, "--rate", "100/s", "--daily-budget", "2", "--no-progress",
		"--log-format", "json", "--metrics-file", prom, in)
	if got.code != exitStopped {
		t.Fatalf("apply = %d; want 4\n%s", got.code, got.stderr)
	}
	if want := "5 changes tonight (5 new, 0 still pending from earlier runs), budget 2 left today: 3 wait for the next run, oldest first; backlog 2.5 days"; !strings.Contains(got.stderr, want) {
		t.Errorf("apply log lacks %q:\n%s", want, got.stderr)
	}
	if want := "backlog: 3 changes waiting for budget, the oldest since "; !strings.Contains(got.stdout, want) {
		t.Errorf("apply summary lacks %q:\n%s", want, got.stdout)
	}
	s := readSummary(t, filepath.Join(dir, "report"))
	if b := s.Backlog; b == nil || b.Pending != 3 || b.Days != 2.5 || b.OldestSince.IsZero() {
		t.Errorf("summary backlog %+v; want 3 pending, 2.5 days", b)
	}
	m, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m), "juicebatch_backlog_pending{juicebatch_instance=") || !strings.Contains(string(m), "} 3\n") ||
		!strings.Contains(string(m), "juicebatch_backlog_oldest_age_seconds{") {
		t.Errorf("metrics lack the backlog gauges:\n%s", m)
	}

	plan := invoke(t, dir, env, "plan", "--base-url", rs.URL, "--daily-budget", "2", "--no-progress", in)
	if !strings.Contains(plan.stdout, "backlog: 3 changes waiting for budget, the oldest since ") || !strings.Contains(plan.stdout, "1.5 days of budget") {
		t.Errorf("plan = %d:\n%s\nwant the 3 waiting changes, 1.5 days", plan.code, plan.stdout)
	}

	status := invoke(t, dir, nil, "status", "--daily-budget", "2", "--json")
	var st statusJSON
	if err := json.Unmarshal([]byte(status.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, status.stdout)
	}
	if len(st.Backlog) != 1 || st.Backlog[0].Pending != 3 || st.Backlog[0].Churn != 5 || st.Backlog[0].Days != 4 ||
		st.Backlog[0].OldestSince.IsZero() || !strings.HasPrefix(st.Backlog[0].Target, rs.URL) {
		t.Errorf("status backlog %+v; want one target with 3 pending, churn 5, 4 days", st.Backlog)
	}
	text := invoke(t, dir, nil, "status", "--daily-budget", "2")
	if !strings.Contains(text.stdout, "backlog (changes waiting for budget") || !strings.Contains(text.stdout, rs.URL) {
		t.Errorf("status:\n%s\nwant a backlog section", text.stdout)
	}
}
