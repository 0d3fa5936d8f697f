package batch_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/ratelimit"
)

// dayWord is a server that reports its day in the -Day headers: perDay
// updates per UTC day, each answer saying how many are left and when the
// day resets (the sandbox itself does not send them).
type dayWord struct {
	h      **harness
	perDay int

	mu       sync.Mutex
	day      string
	used     int
	arrivals []time.Time
}

func (d *dayWord) wrap(w http.ResponseWriter, r *http.Request, _ int) bool {
	now := (*d.h).clock.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if day := ratelimit.UTCDay(now); day != d.day {
		d.day, d.used = day, 0
	}
	d.used++
	d.arrivals = append(d.arrivals, now)
	w.Header().Set("X-RateLimit-Remaining-Day", strconv.Itoa(max(d.perDay-d.used, 0)))
	w.Header().Set("X-RateLimit-Reset-Day", strconv.FormatInt(ratelimit.NextUTCDay(now).Unix(), 10))
	return false
}

func dayRows(n int) string {
	var b strings.Builder
	b.WriteString("id,email\n")
	for i := range n {
		fmt.Fprintf(&b, "d-%d,d%d@example.com\n", i, i)
	}
	return b.String()
}

func TestServerSaysTheDayIsSpent(t *testing.T) {
	var h *harness
	dw := &dayWord{h: &h, perDay: 2}
	h = newHarness(t, harnessOpts{fake: true, wrap: dw.wrap})
	cfg := h.config(h.file("in.csv", dayRows(5)))
	cfg.Concurrency = 1
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Summary.ExitCode != batch.ExitStopped || res.Stopped != "server quota spent" {
		t.Errorf("exit %d, stopped %q; want %d, %q", res.Summary.ExitCode, res.Stopped, batch.ExitStopped, "server quota spent")
	}
	if got := res.Summary.Outcomes["updated"]; got != 2 || len(dw.arrivals) != 2 {
		t.Errorf("%d updated after %d requests; want 2 after 2: the server said none were left", got, len(dw.arrivals))
	}
	if !strings.Contains(h.logs.String(), "daily quota is spent") {
		t.Errorf("the log does not say why the run stopped:\n%s", h.logs.String())
	}
}

func TestWaitWaitsForTheServersDayReset(t *testing.T) {
	var h *harness
	dw := &dayWord{h: &h, perDay: 2}
	h = newHarness(t, harnessOpts{fake: true, wrap: dw.wrap})
	h.clock.Advance(14*time.Hour + 59*time.Minute) // 23:59 UTC
	cfg := h.config(h.file("in.csv", dayRows(5)))
	cfg.Concurrency = 1
	cfg.Wait = true
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Summary.Outcomes["updated"] != 5 || res.Summary.ExitCode != batch.ExitOK {
		t.Fatalf("outcomes %v exit %d; want 5 updated, exit 0", res.Summary.Outcomes, res.Summary.ExitCode)
	}
	midnight := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	if len(dw.arrivals) != 5 || !dw.arrivals[1].Before(midnight) || dw.arrivals[2].Before(midnight) {
		t.Errorf("requests at %v; want 5, the third at or after the server's reset %v", dw.arrivals, midnight)
	}
}
