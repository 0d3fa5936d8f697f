package main

import (
	"testing"
	"time"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/checkpoint"
)

func TestStatusPage(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	runs := []checkpoint.Run{
		{ID: "r2", Command: "apply", Status: "stopped", Input: "b.csv", KeyFingerprint: "test_b",
			StartedAt: now.AddDate(0, 0, -2), Outcomes: map[string]int{"updated": 1000, "pending": 2500}, ExitCode: 4},
		{ID: "r1", Command: "apply", Status: "finished", Input: "a.csv", KeyFingerprint: "test_a",
			StartedAt: now.AddDate(0, 0, -5), Outcomes: map[string]int{"updated": 3, "skipped": 1}, ExitCode: 0},
	}
	quotas := []checkpoint.Quota{
		{Fingerprint: "test_a", Day: "2026-11-25", Used: 3},
		{Fingerprint: "test_b", Day: "2026-11-28", Used: 1000},
		{Fingerprint: "test_c", Day: "2026-11-29", Used: 9}, // a key with no run left in the state
	}
	p := statusPage("state.db", runs, quotas, nil, 1000, now)
	if len(p.Runs) != 2 || p.Runs[0].ID != "r2" || p.Runs[1].ExitMeaning != batch.ExitMeaning(0) {
		t.Fatalf("runs %+v; want r2 then r1, with their exit codes' meanings", p.Runs)
	}
	if got := p.Runs[1].Outcomes[len(p.Runs[1].Outcomes)-1]; got.Outcome != "skipped" || got.Rows != 1 {
		t.Errorf("r1's last outcome %+v; want the unknown outcome skipped after apply's, with 1 row", got)
	}
	wantCharts := []struct {
		title, first string
		days         int
	}{
		{"key test_a", "2026-11-25", 6}, // from r1's start to today
		{"key test_b", "2026-11-28", 3},
		{"key test_c", "2026-11-29", 2}, // from its oldest day
	}
	if len(p.Charts) != len(wantCharts) {
		t.Fatalf("%d charts; want %d", len(p.Charts), len(wantCharts))
	}
	for i, w := range wantCharts {
		c := p.Charts[i]
		if c.Title != w.title || len(c.Days) != w.days || c.Days[0].Day != w.first || c.Days[len(c.Days)-1].Day != "2026-11-30" {
			t.Errorf("chart %d: %q with %d days from %s; want %q with %d days from %s to 2026-11-30", i, c.Title, len(c.Days), c.Days[0].Day, w.title, w.days, w.first)
		}
	}
	run := runningPage("state.db", batch.Status{RunID: "r3", Input: "c.csv", Done: 10, Total: 40,
		Outcomes: map[string]int{"updated": 10}}, 1000, now)
	if len(run.Runs) != 1 || run.Runs[0].Status != "running" {
		t.Fatalf("running page runs %+v; want the one running", run.Runs)
	}
	for _, c := range run.Runs[0].Outcomes {
		if c.Outcome == "pending" && c.Rows != 30 {
			t.Errorf("running page: %d pending; want 30 (40 rows, 10 done)", c.Rows)
		}
	}
}
