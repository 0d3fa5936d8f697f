package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// invocation is one in-process run of the command line.
type invocation struct {
	code           int
	stdout, stderr string
}

func invoke(t *testing.T, dir string, env map[string]string, args ...string) invocation {
	t.Helper()
	var out, errb bytes.Buffer
	// Relative paths (state, report) land in dir.
	full := append([]string(nil), args...)
	if dir != "" && len(args) > 0 && (args[0] == "apply" || args[0] == "plan") {
		// These runs test writes against servers that create unknown
		// customers on a write; reads (at their real-time hourly pace)
		// are tested on their own. A test's own --refresh comes later and
		// wins.
		full = append([]string{args[0], "--refresh", "none"}, args[1:]...)
		full = append(full, "--state", filepath.Join(dir, "juicebatch.db"), "--report", filepath.Join(dir, "report"))
	}
	if dir != "" && len(args) > 0 && args[0] == "status" {
		full = append(full, "--state", filepath.Join(dir, "juicebatch.db"))
	}
	code := run(context.Background(), full, stdio{in: strings.NewReader(""), out: &out, err: &errb, getenv: envOf(env)})
	return invocation{code, out.String(), errb.String()}
}

func repoFile(name string) string { return filepath.Join("..", "..", "testdata", name) }

func TestUsageAndVersion(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // in stdout
		wantErr  string // in stderr
	}{
		{"no args", nil, exitUsage, "", "Usage:"},
		{"version", []string{"--version"}, exitOK, "juicebatch dev", ""},
		{"help", []string{"--help"}, exitOK, "juicebatch apply", ""},
		{"unknown command", []string{"push"}, exitUsage, "", `unknown command "push"`},
		{"flag before command", []string{"--full", "apply"}, exitUsage, "", "flags go after the command"},
		{"apply help", []string{"apply", "-h"}, exitOK, "--daily-budget", ""},
		{"plan help has examples", []string{"plan", "--help"}, exitOK, "Examples:", ""},
		{"status help", []string{"status", "-h"}, exitOK, "--state", ""},
		{"apply without file", []string{"apply"}, exitUsage, "", "want FILE"},
		{"apply CSV and NDJSON", []string{"apply", "a.csv.gz", "b.ndjson"}, exitUsage, "", "a.csv.gz is csv but b.ndjson is ndjson: one run reads files of one format"},
		{"plan CSV and NDJSON", []string{"plan", "a.csv", "b.jsonl.gz"}, exitUsage, "", "a.csv is csv but b.jsonl.gz is ndjson"},
		{"stdin among files", []string{"plan", "a.csv", "-"}, exitUsage, "", `stdin ("-") is read alone`},
		{"bad flag", []string{"apply", "--nope", "a.csv"}, exitUsage, "", "flag provided but not defined: -nope"},
		{"bad rate", []string{"apply", "--rate", "fast", "a.csv"}, exitUsage, "", `invalid rate "fast"`},
		{"bad concurrency", []string{"apply", "--concurrency", "0", "a.csv"}, exitUsage, "", "--concurrency must be at least 1"},
		{"bad log format", []string{"plan", "--log-format", "xml", "a.csv"}, exitUsage, "", "--log-format"},
		{"bad column", []string{"plan", "--column", "nofield", "a.csv"}, exitUsage, "", "--column"},
		{"status with args", []string{"status", "x"}, exitUsage, "", "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := invoke(t, "", nil, tt.args...)
			if got.code != tt.wantCode || !strings.Contains(got.stdout, tt.wantOut) || !strings.Contains(got.stderr, tt.wantErr) {
				t.Errorf("run(%q) = %d\nstdout: %s\nstderr: %s\nwant %d, stdout containing %q, stderr containing %q",
					tt.args, got.code, got.stdout, got.stderr, tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestFatalConfiguration(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("live_from_file_SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"no key", nil, []string{"apply", repoFile("crm-export.csv")}, "no API key: set JUICEBATCH_API_KEY or --api-key-file"},
		{"plain http elsewhere", map[string]string{"JUICEBATCH_API_KEY": "live_SECRET"},
			[]string{"apply", "--base-url", "http://api.example.com", repoFile("crm-export.csv")}, "plain http is refused"},
		{"missing input", map[string]string{"JUICEBATCH_API_KEY": "live_SECRET"},
			[]string{"apply", filepath.Join(dir, "nope.csv")}, "no such file"},
		{"unknown extension", nil, []string{"plan", keyFile}, "--format"},
		{"missing map file", nil, []string{"plan", "--map", filepath.Join(dir, "nope.json"), repoFile("crm-export.csv")}, "nope.json"},
		{"no id column", nil, []string{"plan", repoFile("crm-export.csv")}, `no column maps to id; the columns are "Record ID"`},
		{"key file missing", nil, []string{"apply", "--api-key-file", filepath.Join(dir, "absent"), repoFile("crm-export.csv")}, "--api-key-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := invoke(t, dir, tt.env, tt.args...)
			if got.code != exitFatal || !strings.Contains(got.stderr, tt.wantErr) {
				t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tt.args, got.code, got.stderr, exitFatal, tt.wantErr)
			}
			if strings.Contains(got.stdout+got.stderr, "SECRET") {
				t.Errorf("the API key leaked: %s%s", got.stdout, got.stderr)
			}
		})
	}
}

// TestReadmeFirstCommand runs the README's first command in-process and then
// the ones a newcomer tries next: the same again, plan, status.
func TestReadmeFirstCommand(t *testing.T) {
	dir := t.TempDir()
	args := []string{"apply", "--sandbox", "--map", repoFile("crm-mapping.json"), "--phone-region", "NG", repoFile("crm-export.csv")}
	first := invoke(t, dir, nil, args...)
	if first.code != exitRowsBad {
		t.Fatalf("first apply = %d; want %d (the example has one invalid row)\nstdout: %s\nstderr: %s", first.code, exitRowsBad, first.stdout, first.stderr)
	}
	for _, want := range []string{"apply finished: 7 rows: 6 updated, 0 unchanged, 1 invalid", "requests 5", "report: " + filepath.Join(dir, "report"),
		"sandbox: 5 updates applied, 0 replays, 0 rate-limited, 0 duplicate applications"} {
		if !strings.Contains(first.stdout, want) {
			t.Errorf("first apply stdout lacks %q:\n%s", want, first.stdout)
		}
	}
	// Off a terminal: JSON logs, the unmapped columns listed once, a progress
	// line and a summary line with every count.
	var sawUnmapped, sawProgress, sawSummary int
	for _, line := range strings.Split(strings.TrimSpace(first.stderr), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("stderr line is not JSON: %q", line)
		}
		switch msg := rec["msg"].(string); {
		case strings.HasPrefix(msg, "ignoring columns not mapped to any field"):
			sawUnmapped++
		case msg == "progress":
			sawProgress++
		case msg == "summary":
			sawSummary++
			if rec["updated"] != 6.0 || rec["invalid"] != 1.0 || rec["exit_code"] != 3.0 {
				t.Errorf("summary line %v", rec)
			}
		}
	}
	if sawUnmapped != 1 || sawProgress < 1 || sawSummary != 1 {
		t.Errorf("stderr had %d unmapped-column warnings, %d progress lines, %d summaries; want 1, ≥1, 1:\n%s",
			sawUnmapped, sawProgress, sawSummary, first.stderr)
	}

	second := invoke(t, dir, nil, args...)
	if second.code != exitRowsBad || !strings.Contains(second.stdout, "requests 0 (") || !strings.Contains(second.stdout, "sandbox: 0 updates applied") ||
		!strings.Contains(second.stdout, "the run so far (resumed; started ") || !strings.Contains(second.stdout, "requests 5 (") {
		t.Errorf("second apply = %d:\n%s\nwant the run resumed: nothing sent now, 5 requests in the run", second.code, second.stdout)
	}

	plan := invoke(t, dir, nil, "plan", "--map", repoFile("crm-mapping.json"), "--phone-region", "NG", repoFile("crm-export.csv"))
	if plan.code != exitRowsBad || !strings.Contains(plan.stdout, "apply would send 5 requests: 1 day of the daily budget") {
		t.Errorf("plan = %d:\n%s\n%s", plan.code, plan.stdout, plan.stderr)
	}

	status := invoke(t, dir, nil, "status")
	if status.code != exitOK || !strings.Contains(status.stdout, "finished") || !strings.Contains(status.stdout, "test_") {
		t.Errorf("status = %d:\n%s\n%s", status.code, status.stdout, status.stderr)
	}
}

func TestMetricsFileAndPush(t *testing.T) {
	dir := t.TempDir()
	var pushed []string
	var mu sync.Mutex
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pushed = append(pushed, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer gw.Close()
	textfile := filepath.Join(dir, "juicebatch.prom")
	got := invoke(t, dir, nil, "apply", "--sandbox", "--map", repoFile("crm-mapping.json"), "--phone-region", "NG",
		"--metrics-push", gw.URL, "--metrics-file", textfile, repoFile("crm-export.csv"))
	if got.code != exitRowsBad {
		t.Fatalf("apply = %d\n%s", got.code, got.stderr)
	}
	b, err := os.ReadFile(textfile)
	if err != nil {
		t.Fatalf("metrics file: %v", err)
	}
	for _, want := range []string{`juicebatch_rows{juicebatch_instance="test_`, `outcome="updated"} 6`, `outcome="invalid"} 1`,
		"juicebatch_requests_total{", "juicebatch_last_run_exit_code{"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics file lacks %q:\n%s", want, b)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pushed) != 1 || !strings.HasPrefix(pushed[0], "PUT /metrics/job/juicebatch/instance/test_") {
		t.Errorf("pushes %v; want one PUT to /metrics/job/juicebatch/instance/<fingerprint>", pushed)
	}
}
