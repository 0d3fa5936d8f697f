package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSummaryRunTotalsAndBacklog: a resumed invocation's summary.json
// carries the run's totals (every outcome, in report order) and the
// backlog after its own figures; without them neither member appears.
func TestSummaryRunTotalsAndBacklog(t *testing.T) {
	started := time.Date(2026, 11, 27, 2, 0, 0, 500_000_000, time.UTC)
	since := time.Date(2026, 11, 28, 2, 0, 0, 0, time.FixedZone("X", 3600))
	tests := []struct {
		name        string
		totals      *Totals
		backlog     *Backlog
		wantTotals  string // compacted; "" = absent
		wantBacklog string
	}{
		{name: "first invocation, nothing waiting"},
		{
			name:       "resumed",
			totals:     &Totals{StartedAt: started, Outcomes: map[string]int{"updated": 9, "pending": 1, "zeta": 2}, Requests: 11, Retries: 1, RateLimited: 3, Reads: 4},
			wantTotals: `{"started_at":"2026-11-27T02:00:00Z","outcomes":{"updated":9,"unchanged":0,"invalid":0,"rejected":0,"failed":0,"pending":1,"zeta":2},"requests":11,"retries":1,"rate_limited":3,"reads":4}`,
		},
		{
			name:        "backlog",
			backlog:     &Backlog{Pending: 212, OldestSince: since, OldestAgeSeconds: 90000, Days: 1.2},
			wantBacklog: `{"pending":212,"oldest_since":"2026-11-28T01:00:00Z","oldest_age_seconds":90000,"days":1.2}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Create(dir, CSV, []string{"id"})
			if err != nil {
				t.Fatal(err)
			}
			s := summaryFor(CommandApply)
			s.RunTotals, s.Backlog = tt.totals, tt.backlog
			if err := w.Commit(s); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, SummaryName))
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(data, &raw); err != nil {
				t.Fatal(err)
			}
			for member, want := range map[string]string{"run_totals": tt.wantTotals, "backlog": tt.wantBacklog} {
				got, ok := raw[member]
				switch {
				case want == "" && ok:
					t.Errorf("%s = %s; want it absent", member, got)
				case want != "" && (!ok || compact(t, got) != want):
					t.Errorf("%s = %s; want %s", member, got, want)
				}
			}
			var back Summary
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatalf("read summary.json back: %v", err)
			}
			if tt.backlog != nil && (back.Backlog == nil || !back.Backlog.OldestSince.Equal(since)) {
				t.Errorf("backlog read back = %+v", back.Backlog)
			}
		})
	}
}
