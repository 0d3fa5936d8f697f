package batch_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/ratelimit"
	"github.com/juicebatch/juicebatch/report"
	"github.com/juicebatch/juicebatch/sandbox"
)

const testKey = "test_k3y_that_must_never_leak"

// harness is one API (the sandbox, behind an optional fault wrapper, over
// real HTTP on loopback) and one working directory for state and report.
type harness struct {
	t     *testing.T
	dir   string
	sb    *sandbox.Server
	srv   *httptest.Server
	clock *clockwork.FakeClock // nil: real time
	logs  *syncBuffer

	mu       sync.Mutex
	requests []seenRequest
}

type seenRequest struct {
	Method, Path, Key string
}

type harnessOpts struct {
	sandbox sandbox.Options
	// wrap, when set, sees every request before the sandbox (to inject
	// faults); it returns true when it answered itself.
	wrap func(w http.ResponseWriter, r *http.Request, n int) bool
	// fake runs both sides on one fake clock that moves forward whenever
	// something waits on it, so minutes of pacing take milliseconds.
	fake bool
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), logs: &syncBuffer{}}
	if o.fake {
		h.clock = clockwork.NewFakeClockAt(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		o.sandbox.Clock = h.clock
	}
	if o.sandbox.Keys == nil {
		o.sandbox.Keys = []string{testKey}
	}
	o.sandbox.CreateUnknown = true
	if o.sandbox.PerMinute == 0 {
		o.sandbox.PerMinute = 100000
	}
	if o.sandbox.PerDay == 0 {
		o.sandbox.PerDay = 1000000
	}
	sb, err := sandbox.New(o.sandbox)
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	h.sb = sb
	n := 0
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		n++
		count := n
		h.requests = append(h.requests, seenRequest{r.Method, r.URL.EscapedPath(), r.Header.Get("Idempotency-Key")})
		h.mu.Unlock()
		if o.wrap != nil && o.wrap(w, r, count) {
			return
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	if h.clock != nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				if h.clock.BlockUntilContext(ctx, 1) != nil {
					return
				}
				h.clock.Advance(50 * time.Millisecond)
			}
		}()
		t.Cleanup(func() { cancel(); <-done })
	}
	return h
}

// config is a run against the harness: fast pace, quick retries.
func (h *harness) config(input string) batch.Config {
	cfg := batch.Config{
		Input:       input,
		BaseURL:     h.srv.URL,
		Key:         testKey,
		Rate:        ratelimit.Rate{N: 1000, Per: time.Second},
		Concurrency: 2,
		MaxRetries:  3,
		RetryBase:   time.Millisecond,
		Timeout:     5 * time.Second,
		StatePath:   filepath.Join(h.dir, "state", "juicebatch.db"),
		ReportDir:   filepath.Join(h.dir, "report"),
		Logger:      slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Rand:        func() float64 { return 0.5 },
		// The harness's sandbox creates unknown customers on a write, which
		// a read cannot know: the write tests run without reads.
		Refresh: batch.RefreshNone,
	}
	if h.clock != nil {
		cfg.Clock = h.clock
	}
	return cfg
}

// file writes an input file in the harness's directory.
func (h *harness) file(name, content string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) seen() []seenRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]seenRequest(nil), h.requests...)
}

// results reads results.csv as rows of cells (header excluded).
func (h *harness) results(cfg batch.Config) [][]string {
	h.t.Helper()
	f, err := os.Open(filepath.Join(cfg.ReportDir, report.ResultsName))
	if err != nil {
		h.t.Fatalf("open results: %v", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		h.t.Fatalf("read results: %v", err)
	}
	if got := strings.Join(recs[0], ","); got != "row,id,outcome,http_status,attempts,idempotency_key,error,warnings,file,line" {
		h.t.Fatalf("results header = %q", got)
	}
	return recs[1:]
}

func (h *harness) summary(cfg batch.Config) report.Summary {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(cfg.ReportDir, report.SummaryName))
	if err != nil {
		h.t.Fatalf("read summary: %v", err)
	}
	var s report.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		h.t.Fatalf("parse summary: %v", err)
	}
	return s
}

// outcomes is column 3 of results.csv.
func outcomes(rows [][]string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r[2]
	}
	return out
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
