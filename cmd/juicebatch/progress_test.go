package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/ratelimit"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		s    batch.Snapshot
		want string
	}{
		{batch.Snapshot{Requests: 3, BudgetLeft: -1}, "3 req"},
		{batch.Snapshot{Requests: 3, BudgetLeft: 997, ETA: 90 * time.Second}, "3 req, 997 left today, ETA 2m"},
		{batch.Snapshot{Requests: 1000, BudgetLeft: 0, ETA: 51*time.Hour + 5*time.Minute, QuotaBound: true}, "1000 req, 0 left today, ETA 2d 3h (daily quota)"},
	}
	for _, tt := range tests {
		if got := describe(tt.s); got != tt.want {
			t.Errorf("describe(%+v) = %q; want %q", tt.s, got, tt.want)
		}
	}
}

func TestBarProgressDraws(t *testing.T) {
	var b bytes.Buffer
	p := newBarProgress(&b)
	p.Update(batch.Snapshot{Done: 5, Total: 10, Requests: 5, BudgetLeft: 995, Outcomes: map[string]int{"updated": 5}})
	p.Done(batch.Snapshot{Done: 10, Total: 10, Requests: 10, BudgetLeft: 990})
	if out := b.String(); !strings.Contains(out, "(5/10") || !strings.Contains(out, "990 left today") {
		t.Errorf("bar output %q; want the count 5/10 and the budget", out)
	}
}

func TestLogProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := logProgress{log: slog.New(slog.NewTextHandler(&b, nil))}
	p.Update(batch.Snapshot{Done: 4, Total: 9, Requests: 3, Retries: 1, RateLimited: 0, BudgetLeft: 997,
		Rate: ratelimit.Rate{N: 10, Per: time.Minute}, ETA: 36 * time.Second, Outcomes: map[string]int{"updated": 3, "invalid": 1}})
	want := "msg=progress done=4 total=9 requests=3 retries=1 rate_limited=0 rate=10/min budget_left=997 eta=36s eta_quota_bound=false invalid=1 updated=3"
	if got := b.String(); !strings.Contains(got, want) {
		t.Errorf("progress line %q; want it to contain %q", got, want)
	}
}
