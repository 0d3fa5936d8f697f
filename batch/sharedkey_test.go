package batch_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/ratelimit"
	"github.com/juicebatch/juicebatch/sandbox"
)

// sharedRun is what one run sharing its key came to, as the sandbox saw it.
type sharedRun struct {
	ours, oursLimited   int // our requests the sandbox answered, and its 429s among them
	other, otherLimited int // the other client's
	// utilization is our rate over what the other client left of the
	// key's 10 a minute, over the span of our counted requests.
	utilization float64
	// secondHalf is the pace of the second half of our counted requests,
	// as a part of 10 a minute.
	secondHalf float64
	span       time.Duration
}

func (s sharedRun) String() string {
	return fmt.Sprintf("ours %d (429: %d), other's %d (429: %d), %v, utilization %.1f%%, second half %.1f%% of 10/min",
		s.ours, s.oursLimited, s.other, s.otherLimited, s.span.Round(time.Second), s.utilization*100, s.secondHalf*100)
}

// arrival is one PATCH the sandbox answered.
type arrival struct {
	at      time.Time
	ours    bool
	limited bool
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// runShared applies rows updates at 10/min against a sandbox that allows
// 10 in any sliding minute, while another client with the same key sends a
// request at each of otherAt (offsets from the start; a 429 makes it try
// again after Retry-After).
//
// Both sides run on one fake clock that moves 10 ms at a time, only while
// both are waiting on it: with --concurrency 1 the run waits on exactly one
// timer when idle (the pacer's, or the retry queue's), and so does the
// other client, so the clock never moves while a request is on the wire
// and the sandbox counts every request at the instant it left.
func runShared(t testing.TB, rows int, otherAt []time.Duration) sharedRun {
	t.Helper()
	clk := clockwork.NewFakeClockAt(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	sb, err := sandbox.New(sandbox.Options{Keys: []string{testKey}, CreateUnknown: true, PerMinute: 10, Clock: clk})
	if err != nil {
		t.Fatalf("sandbox.New: %v", err)
	}
	var (
		mu       sync.Mutex
		arrivals []arrival
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		sb.ServeHTTP(sw, r)
		mu.Lock()
		arrivals = append(arrivals, arrival{at: clk.Now(), ours: !strings.Contains(r.URL.Path, "/other-"),
			limited: sw.status == http.StatusTooManyRequests})
		mu.Unlock()
	}))
	defer srv.Close()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,email\n")
	for i := range rows {
		fmt.Fprintf(&b, "s-%d,s%d@example.com\n", i, i)
	}
	input := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(input, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := batch.Config{
		Input:       input,
		BaseURL:     srv.URL,
		Key:         testKey,
		Rate:        ratelimit.Rate{N: 10, Per: time.Minute},
		Concurrency: 1,
		MaxRetries:  3,
		RetryBase:   time.Millisecond,
		Timeout:     5 * time.Second,
		StatePath:   filepath.Join(dir, "state", "juicebatch.db"),
		ReportDir:   filepath.Join(dir, "report"),
		Logger:      slog.New(slog.DiscardHandler),
		Rand:        func() float64 { return 0.5 },
		Clock:       clk,
		// The sandbox creates these customers on their first write, so a
		// read would only find them missing: this test is about writes.
		Refresh: batch.RefreshNone,
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	start := clk.Now()
	wg.Go(func() { otherClient(ctx, clk, srv.URL, start, otherAt) })
	wg.Go(func() {
		for clk.BlockUntilContext(ctx, 2) == nil {
			clk.Advance(10 * time.Millisecond)
		}
	})

	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Summary.Outcomes["updated"] != rows {
		t.Fatalf("outcomes %v; want all %d updated", res.Summary.Outcomes, rows)
	}
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	var run sharedRun
	var ours []time.Time // counted
	for _, a := range arrivals {
		switch {
		case a.ours && a.limited:
			run.ours++
			run.oursLimited++
		case a.ours:
			run.ours++
			ours = append(ours, a.at)
		case a.limited:
			run.other++
			run.otherLimited++
		default:
			run.other++
		}
	}
	first, last := ours[0], ours[len(ours)-1]
	run.span = last.Sub(first)
	others := 0
	for _, a := range arrivals {
		if !a.ours && !a.limited && !a.at.Before(first) && !a.at.After(last) {
			others++
		}
	}
	perMin := func(n int, d time.Duration) float64 { return float64(n) / d.Minutes() }
	run.utilization = perMin(len(ours)-1, run.span) / (10 - perMin(others, run.span))
	half := ours[len(ours)/2:]
	run.secondHalf = perMin(len(half)-1, half[len(half)-1].Sub(half[0])) / 10
	return run
}

// otherClient sends one update at each of at after start, with the run's
// key, and tries a 429'd one again after its Retry-After. When it has sent
// them all it waits on the clock until ctx ends, so the clock's count of
// waiters stays what runShared expects.
func otherClient(ctx context.Context, clk clockwork.Clock, base string, start time.Time, at []time.Duration) {
	due := make([]time.Time, len(at))
	for i, d := range at {
		due[i] = start.Add(d)
	}
	for n := 0; ; n++ {
		next := start.Add(24 * time.Hour)
		if len(due) > 0 {
			slices.SortFunc(due, time.Time.Compare)
			next = due[0]
		}
		timer := clk.NewTimer(next.Sub(clk.Now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.Chan():
		}
		if len(due) == 0 {
			continue
		}
		due = due[1:]
		req, err := http.NewRequestWithContext(ctx, http.MethodPatch, fmt.Sprintf("%s/customers/other-%d", base, n),
			strings.NewReader(fmt.Sprintf(`{"email":"other%d@example.com"}`, n)))
		if err != nil {
			panic(err)
		}
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return // ctx ended
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			due = append(due, clk.Now().Add(time.Duration(max(secs, 1))*time.Second))
		}
	}
}

// every is n instants, d apart, from offset.
func every(offset, d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = offset + time.Duration(i)*d
	}
	return out
}

// poisson is instants of a Poisson process averaging one per mean, up to
// until, from a seeded source: another client whose requests come when its
// users act, not on a timer.
func poisson(mean, until time.Duration, seed uint64) []time.Duration {
	rnd := rand.New(rand.NewPCG(seed, 0))
	var out []time.Duration
	for t := time.Duration(rnd.ExpFloat64() * float64(mean)); t < until; t += time.Duration(rnd.ExpFloat64() * float64(mean)) {
		out = append(out, t)
	}
	return out
}

// burst is n instants at offset.
func burst(offset time.Duration, n int) []time.Duration {
	return every(offset, 0, n)
}

func TestSharedKeyAnotherClientSpendsAFifth(t *testing.T) {
	// 2 a minute, 20 % of the key, for longer than the run (~19 min).
	run := runShared(t, 150, every(13700*time.Millisecond, 30*time.Second, 40))
	t.Log(run)
	if limit := run.ours * 2 / 100; run.oursLimited > limit {
		t.Errorf("%d of our %d requests got a 429; want at most 2%% (%d)", run.oursLimited, run.ours, limit)
	}
	if run.utilization < 0.90 {
		t.Errorf("used %.1f%% of what the other client left; want ≥ 90%%", run.utilization*100)
	}
}

func TestSharedKeyBurstThenFullPace(t *testing.T) {
	// 6 requests at once, a minute into the run.
	run := runShared(t, 150, burst(61*time.Second, 6))
	t.Log(run)
	if run.secondHalf < 0.95 {
		t.Errorf("second half paced at %.1f%% of 10/min; want ≥ 95%%", run.secondHalf*100)
	}
}

func TestSharedKeyAlone(t *testing.T) {
	run := runShared(t, 40, nil)
	t.Log(run)
	if run.oursLimited != 0 || run.utilization < 0.99 {
		t.Errorf("alone: %d 429s, %.1f%% of 10/min; want 0 and ≥ 99%%", run.oursLimited, run.utilization*100)
	}
}

// BenchmarkSharedKey measures, for a 150-row run at 10/min against the
// sandbox's 10 a sliding minute (on a fake clock, so a run takes well under
// a second), how much of what the key's other user leaves the run uses,
// and how many 429s each side gets:
//
//	go test -run '^$' -bench SharedKey -benchtime 1x ./batch/
//
// The runs are deterministic: one iteration says all.
func BenchmarkSharedKey(b *testing.B) {
	scenarios := []struct {
		name  string
		other []time.Duration
	}{
		{"alone", nil},
		{"share=20%", every(13700*time.Millisecond, 30*time.Second, 60)},
		{"share=30%", every(13700*time.Millisecond, 20*time.Second, 90)},
		{"share=20%,random", poisson(30*time.Second, 40*time.Minute, 7)},
		{"burst=6", burst(61*time.Second, 6)},
	}
	for _, sc := range scenarios {
		b.Run(sc.name, func(b *testing.B) {
			var run sharedRun
			for b.Loop() {
				run = runShared(b, 150, sc.other)
			}
			b.ReportMetric(run.utilization*100, "used_%")
			b.ReportMetric(float64(run.oursLimited)*100/float64(run.ours), "429_%")
			b.ReportMetric(run.secondHalf*100, "2nd_half_%")
			b.ReportMetric(float64(run.other-run.otherLimited), "other_sent")
			b.ReportMetric(float64(run.otherLimited), "other_429s")
			b.ReportMetric(run.span.Minutes(), "fake_min")
		})
	}
}
