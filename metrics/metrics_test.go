package metrics

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/juicebatch/juicebatch/report"
)

// sampleRun is a run whose every number differs, so a swapped metric shows.
func sampleRun() Run {
	return Run{
		Job:         "juicebatch",
		Instance:    "merchant-acme",
		Outcomes:    map[string]int{"updated": 412, "unchanged": 3021, "invalid": 7, "pending": 560},
		Requests:    440,
		Retries:     21,
		RateLimited: 2,
		BudgetUsed:  1000,
		BudgetLeft:  0,
		ExitCode:    4,
		Duration:    90*time.Minute + 1500*time.Millisecond,
		// 2026-03-01T02:03:04.5Z = 1772330584.5 s since the epoch
		// (20513 days * 86400 + 7384 s).
		Finished:         time.Date(2026, 3, 1, 2, 3, 4, 500_000_000, time.UTC),
		BacklogPending:   212,
		BacklogOldestAge: 26*time.Hour + 250*time.Millisecond,
	}
}

// sample is one parsed series: its labels (without the constant grouping
// labels a test checks separately) and its value.
type sample struct {
	Type   string
	Labels string
	Value  float64
}

// wantSamples is sampleRun's metrics, written out by hand.
var wantSamples = map[string]sample{
	`juicebatch_rows{outcome="failed"}`:     {"GAUGE", `outcome="failed"`, 0},
	`juicebatch_rows{outcome="invalid"}`:    {"GAUGE", `outcome="invalid"`, 7},
	`juicebatch_rows{outcome="pending"}`:    {"GAUGE", `outcome="pending"`, 560},
	`juicebatch_rows{outcome="rejected"}`:   {"GAUGE", `outcome="rejected"`, 0},
	`juicebatch_rows{outcome="unchanged"}`:  {"GAUGE", `outcome="unchanged"`, 3021},
	`juicebatch_rows{outcome="updated"}`:    {"GAUGE", `outcome="updated"`, 412},
	`juicebatch_requests_total`:             {"COUNTER", ``, 440},
	`juicebatch_retries_total`:              {"COUNTER", ``, 21},
	`juicebatch_rate_limited_total`:         {"COUNTER", ``, 2},
	`juicebatch_budget_used`:                {"GAUGE", ``, 1000},
	`juicebatch_budget_left`:                {"GAUGE", ``, 0},
	`juicebatch_last_run_duration_seconds`:  {"GAUGE", ``, 5401.5},
	`juicebatch_last_run_exit_code`:         {"GAUGE", ``, 4},
	`juicebatch_last_run_timestamp_seconds`: {"GAUGE", ``, 1772330584.5},
	`juicebatch_backlog_pending`:            {"GAUGE", ``, 212},
	`juicebatch_backlog_oldest_age_seconds`: {"GAUGE", ``, 93600.25},
}

// flatten turns metric families into series keyed like PromQL selectors.
// Labels named in strip are checked to have the values given and left out
// of the key.
func flatten(t *testing.T, mfs []*dto.MetricFamily, strip map[string]string) map[string]sample {
	t.Helper()
	got := map[string]sample{}
	for _, mf := range mfs {
		if mf.GetHelp() == "" {
			t.Errorf("metric %s has no HELP", mf.GetName())
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			seen := map[string]string{}
			for _, l := range m.GetLabel() {
				if _, ok := strip[l.GetName()]; ok {
					seen[l.GetName()] = l.GetValue()
					continue
				}
				labels = append(labels, l.GetName()+`="`+l.GetValue()+`"`)
			}
			if diff := cmp.Diff(strip, seen); diff != "" {
				t.Errorf("%s: grouping labels (-want +got):\n%s", mf.GetName(), diff)
			}
			if m.GetTimestampMs() != 0 {
				t.Errorf("%s carries a timestamp; the textfile collector and the Pushgateway refuse those", mf.GetName())
			}
			var v float64
			switch mf.GetType() {
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			default:
				t.Errorf("%s has type %s; want GAUGE or COUNTER", mf.GetName(), mf.GetType())
			}
			key := mf.GetName()
			ls := strings.Join(labels, ",")
			if ls != "" {
				key += "{" + ls + "}"
			}
			got[key] = sample{mf.GetType().String(), ls, v}
		}
	}
	return got
}

// gatewayRequest is what the fake Pushgateway saw.
type gatewayRequest struct {
	method, path, auth, contentType string
	families                        []*dto.MetricFamily
	decodeErr                       error
}

// fakeGateway is an httptest server that records every push and answers
// with status.
func fakeGateway(t *testing.T, status int) (*httptest.Server, func() []gatewayRequest) {
	t.Helper()
	var (
		mu   sync.Mutex
		seen []gatewayRequest
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := gatewayRequest{
			method: r.Method, path: r.URL.EscapedPath(),
			auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type"),
		}
		dec := expfmt.NewDecoder(r.Body, expfmt.ResponseFormat(r.Header))
		for {
			mf := &dto.MetricFamily{}
			if err := dec.Decode(mf); err != nil {
				if !errors.Is(err, io.EOF) {
					req.decodeErr = err
				}
				break
			}
			req.families = append(req.families, mf)
		}
		mu.Lock()
		seen = append(seen, req)
		mu.Unlock()
		w.WriteHeader(status)
		if status >= 300 {
			io.WriteString(w, "push rejected by test gateway\n")
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []gatewayRequest {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

func TestPush(t *testing.T) {
	tests := []struct {
		name     string
		job      string
		instance string
		status   int
		wantPath string
	}{
		{"grouping key in the path", "juicebatch", "merchant-acme", http.StatusOK, "/metrics/job/juicebatch/instance/merchant-acme"},
		{"empty job is the default job", "", "merchant-acme", http.StatusOK, "/metrics/job/juicebatch/instance/merchant-acme"},
		{"gateway answering 202", "nightly-sync", "merchant-acme", http.StatusAccepted, "/metrics/job/nightly-sync/instance/merchant-acme"},
		{"empty instance is base64 empty", "juicebatch", "", http.StatusOK, "/metrics/job/juicebatch/instance@base64/="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := fakeGateway(t, tt.status)
			r := sampleRun()
			r.Job, r.Instance = tt.job, tt.instance
			if err := Push(context.Background(), srv.URL, r, srv.Client()); err != nil {
				t.Fatalf("Push(%s) = %v; want nil", srv.URL, err)
			}
			reqs := seen()
			if len(reqs) != 1 {
				t.Fatalf("gateway got %d requests; want 1", len(reqs))
			}
			req := reqs[0]
			if req.method != http.MethodPut {
				t.Errorf("method = %s; want PUT (replace the group's previous run)", req.method)
			}
			if req.path != tt.wantPath {
				t.Errorf("path = %s; want %s", req.path, tt.wantPath)
			}
			// The delimited protobuf format, which every Pushgateway reads.
			mt, params, err := mime.ParseMediaType(req.contentType)
			if err != nil || mt != "application/vnd.google.protobuf" || params["proto"] != "io.prometheus.client.MetricFamily" {
				t.Errorf("Content-Type = %q; want application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily", req.contentType)
			}
			if req.decodeErr != nil {
				t.Fatalf("decode pushed body: %v", req.decodeErr)
			}
			// The grouping key is in the path; the Pushgateway refuses
			// a body that repeats it, so no series may carry it.
			got := flatten(t, req.families, map[string]string{})
			if diff := cmp.Diff(wantSamples, got); diff != "" {
				t.Errorf("pushed series (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPushErrors(t *testing.T) {
	okRun := sampleRun()
	noFinish := sampleRun()
	noFinish.Finished = time.Time{}
	negative := sampleRun()
	negative.Retries = -1
	badOutcome := sampleRun()
	badOutcome.Outcomes = map[string]int{"updated": -3}

	tests := []struct {
		name       string
		status     int
		url        func(srvURL string) string
		run        Run
		wantIn     []string // substrings of the error
		wantNotIn  []string
		wantIs     error
		wantPushes int
	}{
		{
			name: "gateway answers 500", status: http.StatusInternalServerError,
			url: func(s string) string { return s }, run: okRun,
			wantIn: []string{"metrics: push to http://127.0.0.1:", "500", "push rejected by test gateway"}, wantPushes: 1,
		},
		{
			name: "gateway answers 400", status: http.StatusBadRequest,
			url: func(s string) string { return s }, run: okRun,
			wantIn: []string{"metrics: push to ", "400"}, wantPushes: 1,
		},
		{
			name: "password never in the error", status: http.StatusUnauthorized,
			url:    func(s string) string { return strings.Replace(s, "http://", "http://pusher:s3cr3t-pw@", 1) },
			run:    okRun,
			wantIn: []string{"401"}, wantNotIn: []string{"s3cr3t-pw", "pusher"}, wantPushes: 1,
		},
		{
			name: "not http", status: http.StatusOK,
			url:    func(s string) string { return strings.Replace(s, "http://", "ftp://u:s3cr3t-pw@", 1) },
			run:    okRun,
			wantIn: []string{"want an http:// or https:// URL"}, wantNotIn: []string{"s3cr3t-pw"},
		},
		{
			name: "no scheme", status: http.StatusOK,
			url:    func(s string) string { return strings.TrimPrefix(s, "http://") },
			run:    okRun,
			wantIn: []string{"want an http:// or https:// URL"},
		},
		{
			name: "unparsable URL", status: http.StatusOK,
			url:    func(s string) string { return "http://u:s3cr3t-pw@[::1" },
			run:    okRun,
			wantIn: []string{"does not parse"}, wantNotIn: []string{"s3cr3t-pw"},
		},
		{
			name: "no finish time", status: http.StatusOK,
			url: func(s string) string { return s }, run: noFinish,
			wantIn: []string{"no finish time"}, wantIs: ErrInvalidRun,
		},
		{
			name: "negative counter", status: http.StatusOK,
			url: func(s string) string { return s }, run: negative,
			wantIn: []string{"negative request counts"}, wantIs: ErrInvalidRun,
		},
		{
			name: "negative outcome", status: http.StatusOK,
			url: func(s string) string { return s }, run: badOutcome,
			wantIn: []string{`outcome "updated"`}, wantIs: ErrInvalidRun,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, seen := fakeGateway(t, tt.status)
			u := tt.url(srv.URL)
			err := Push(context.Background(), u, tt.run, srv.Client())
			if err == nil {
				t.Fatalf("Push(%q) = nil; want an error", u)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Push(%q) = %q; want it to contain %q", u, err, s)
				}
			}
			for _, s := range tt.wantNotIn {
				if strings.Contains(err.Error(), s) {
					t.Errorf("Push(%q) = %q; must not contain %q", u, err, s)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Push(%q) = %v; want errors.Is %v", u, err, tt.wantIs)
			}
			if n := len(seen()); n != tt.wantPushes {
				t.Errorf("gateway got %d requests; want %d", n, tt.wantPushes)
			}
		})
	}
}

func TestPushSendsURLCredentialsAsBasicAuth(t *testing.T) {
	srv, seen := fakeGateway(t, http.StatusOK)
	u := strings.Replace(srv.URL, "http://", "http://pusher:s3cr3t-pw@", 1)
	if err := Push(context.Background(), u, sampleRun(), srv.Client()); err != nil {
		t.Fatalf("Push = %v; want nil", err)
	}
	reqs := seen()
	if len(reqs) != 1 {
		t.Fatalf("gateway got %d requests; want 1", len(reqs))
	}
	// base64("pusher:s3cr3t-pw")
	if want := "Basic cHVzaGVyOnMzY3IzdC1wdw=="; reqs[0].auth != want {
		t.Errorf("Authorization = %q; want %q", reqs[0].auth, want)
	}
}

func TestPushHonoursContext(t *testing.T) {
	srv, seen := fakeGateway(t, http.StatusOK)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Push(ctx, srv.URL, sampleRun(), srv.Client())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Push(cancelled ctx) = %v; want context.Canceled", err)
	}
	if n := len(seen()); n != 0 {
		t.Errorf("gateway got %d requests; want 0", n)
	}
}

func TestWriteTextfile(t *testing.T) {
	tests := []struct {
		name       string
		job        string
		instance   string
		wantLabels map[string]string
	}{
		{"job and instance", "juicebatch", "merchant-acme", map[string]string{"juicebatch_job": "juicebatch", "juicebatch_instance": "merchant-acme"}},
		{"default job, no instance", "", "", map[string]string{"juicebatch_job": "juicebatch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "juicebatch.prom")
			// An earlier run's file is replaced whole.
			if err := os.WriteFile(path, []byte("juicebatch_last_run_exit_code 1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			r := sampleRun()
			r.Job, r.Instance = tt.job, tt.instance
			if err := WriteTextfile(path, r); err != nil {
				t.Fatalf("WriteTextfile(%s) = %v; want nil", path, err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o644 {
				t.Errorf("mode = %v; want 0644 (the node exporter runs as another user)", got)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("directory holds %v; want only juicebatch.prom (no temporary file left)", names)
			}

			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			parser := expfmt.NewTextParser(model.UTF8Validation)
			byName, err := parser.TextToMetricFamilies(f)
			if err != nil {
				t.Fatalf("parse %s: %v", path, err)
			}
			var mfs []*dto.MetricFamily
			for _, mf := range byName {
				mfs = append(mfs, mf)
			}
			got := flatten(t, mfs, tt.wantLabels)
			if diff := cmp.Diff(wantSamples, got); diff != "" {
				t.Errorf("textfile series (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteTextfileErrors(t *testing.T) {
	noFinish := sampleRun()
	noFinish.Finished = time.Time{}
	tests := []struct {
		name   string
		path   func(dir string) string
		run    Run
		wantIs error
		wantIn string
	}{
		{"missing directory", func(d string) string { return filepath.Join(d, "nope", "juicebatch.prom") }, sampleRun(), os.ErrNotExist, "metrics: write textfile "},
		{"invalid run", func(d string) string { return filepath.Join(d, "juicebatch.prom") }, noFinish, ErrInvalidRun, "no finish time"},
		{"path is a directory", func(d string) string { return d }, sampleRun(), nil, "metrics: write textfile "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.path(dir)
			err := WriteTextfile(path, tt.run)
			if err == nil {
				t.Fatalf("WriteTextfile(%s) = nil; want an error", path)
			}
			if !strings.Contains(err.Error(), tt.wantIn) || !strings.Contains(err.Error(), path) {
				t.Errorf("WriteTextfile(%s) = %q; want it to name the path and contain %q", path, err, tt.wantIn)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("WriteTextfile(%s) = %v; want errors.Is %v", path, err, tt.wantIs)
			}
			// Nothing may be left behind in the directory the test made.
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".tmp") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
}

// TestOutcomesMatchReport keeps the outcomes published with 0s equal to the
// outcomes the report writes.
func TestOutcomesMatchReport(t *testing.T) {
	if diff := cmp.Diff(report.ApplyOutcomes(), outcomes[:]); diff != "" {
		t.Errorf("outcomes differ from report.ApplyOutcomes() (-report +metrics):\n%s", diff)
	}
}
