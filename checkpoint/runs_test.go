package checkpoint

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRunRoundTrip(t *testing.T) {
	wat := time.FixedZone("WAT", 3600)
	tests := []struct {
		name string
		in   Run
		want Run
	}{
		{
			name: "running, stdin",
			in:   Run{ID: "r1", Command: "apply", Input: "-", TotalRows: -1, Status: "running", StartedAt: day0},
			want: Run{ID: "r1", Command: "apply", Input: "-", TotalRows: -1, Status: "running", StartedAt: day0, Outcomes: map[string]int{}},
		},
		{
			name: "finished, times in another zone come back UTC",
			in: Run{
				ID: "r2", Command: "apply", Input: "customers.csv", InputDigest: "sha256:ab", Target: "https://api.example.com",
				KeyFingerprint: "live_1a2b", StartedAt: time.Date(2026, 11, 27, 10, 0, 0, 1, wat),
				UpdatedAt: time.Date(2026, 11, 27, 11, 0, 0, 2, wat), FinishedAt: time.Date(2026, 11, 27, 12, 0, 0, 3, wat),
				TotalRows: 1000000, Status: "finished", Outcomes: map[string]int{"updated": 990, "invalid": 10, "pending": 0},
				Requests: 1003, Retries: 3, RateLimited: 2, ExitCode: 3,
			},
			want: Run{
				ID: "r2", Command: "apply", Input: "customers.csv", InputDigest: "sha256:ab", Target: "https://api.example.com",
				KeyFingerprint: "live_1a2b", StartedAt: time.Date(2026, 11, 27, 9, 0, 0, 1, time.UTC),
				UpdatedAt: time.Date(2026, 11, 27, 10, 0, 0, 2, time.UTC), FinishedAt: time.Date(2026, 11, 27, 11, 0, 0, 3, time.UTC),
				TotalRows: 1000000, Status: "finished", Outcomes: map[string]int{"updated": 990, "invalid": 10, "pending": 0},
				Requests: 1003, Retries: 3, RateLimited: 2, ExitCode: 3,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t, Options{})
			if err := s.PutRun(tt.in); err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.GetRun(tt.in.ID)
			if err != nil || !ok {
				t.Fatalf("GetRun(%s) = %v, %v; want found", tt.in.ID, ok, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GetRun(%s) mismatch (-want +got):\n%s", tt.in.ID, diff)
			}
		})
	}
	s, _ := openTest(t, Options{})
	if _, ok, err := s.GetRun("nope"); ok || err != nil {
		t.Errorf("GetRun(nope) = %v, %v; want not found", ok, err)
	}
	if err := s.PutRun(Run{}); err == nil {
		t.Errorf("PutRun(no id) = nil; want an error")
	}
}

func TestRunsNewestFirst(t *testing.T) {
	s, _ := openTest(t, Options{})
	for _, r := range []Run{
		{ID: "b", StartedAt: day0},
		{ID: "c", StartedAt: day0.Add(time.Hour)},
		{ID: "a", StartedAt: day0},
		{ID: "d", StartedAt: day0.Add(-time.Hour)},
	} {
		if err := s.PutRun(r); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := s.Runs()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	if diff := cmp.Diff([]string{"c", "a", "b", "d"}, ids); diff != "" {
		t.Errorf("Runs() order mismatch (-want +got):\n%s", diff)
	}
}

func TestPruneRuns(t *testing.T) {
	today := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		keep     int
		wantRuns []string
		wantRows []string // runs that keep their rows
	}{
		{name: "keep two", keep: 2, wantRuns: []string{"r5", "r4"}, wantRows: []string{"r5", "r4"}},
		// r2 is finished: no rows; of the unfinished r5, r4, r3 and r1
		// the newest three keep theirs.
		{name: "keep all", keep: 10, wantRuns: []string{"r5", "r4", "r3", "r2", "r1"}, wantRows: []string{"r5", "r4", "r3"}},
		{name: "keep none", keep: 0, wantRuns: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t, Options{Now: func() time.Time { return today }})
			for i := 1; i <= 5; i++ {
				id := "r" + string(rune('0'+i))
				status := "stopped"
				if i == 2 {
					status = StatusFinished
				}
				if err := s.PutRun(Run{ID: id, Status: status, StartedAt: today.AddDate(0, 0, i-5)}); err != nil {
					t.Fatal(err)
				}
				l := s.RunLog(id)
				for n := 1; n <= 100; n++ {
					if err := l.Put(row(n)); err != nil {
						t.Fatal(err)
					}
				}
				mustFlush(t, l)
			}
			// Rows of a run that has no run record.
			if err := s.RunLog("orphan").Outcome([]Row{row(1)}, nil); err != nil {
				t.Fatal(err)
			}
			// Quota: a fingerprint used 8 days ago only, one used over
			// the last 9 days, and one used over a year ago.
			intent := func(fp string, daysAgo int) {
				at := today.AddDate(0, 0, -daysAgo)
				err := s.RunLog("q").Intent(Attempt{Rows: []Row{inflight(1, "k")}, Fingerprint: fp, Day: at.Format("2006-01-02"), Budget: -1, At: at})
				if err != nil {
					t.Fatal(err)
				}
			}
			intent("old", 8)
			intent("ancient", quotaDayRetention+1)
			for d := 0; d <= 8; d++ {
				intent("new", d)
				// Read counts per day are kept as long as quota days.
				if err := s.AddReads("new", today.AddDate(0, 0, -d).Format("2006-01-02"), 1); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.RunLog("r5").Outcome(nil, &AppliedUpdate{Scope: "s", CustomerID: "c", At: today}); err != nil {
				t.Fatal(err)
			}

			if err := s.PruneRuns(tt.keep); err != nil {
				t.Fatalf("PruneRuns(%d) = %v", tt.keep, err)
			}

			runs, err := s.Runs()
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range runs {
				ids = append(ids, r.ID)
			}
			if diff := cmp.Diff(tt.wantRuns, ids); diff != "" {
				t.Errorf("Runs() after PruneRuns(%d) mismatch (-want +got):\n%s", tt.keep, diff)
			}
			kept := map[string]bool{}
			for _, id := range tt.wantRows {
				kept[id] = true
			}
			for _, id := range []string{"r1", "r2", "r3", "r4", "r5", "orphan", "q"} {
				want := 0
				if kept[id] {
					want = 100
				}
				if got := countRows(t, s, id); got != want {
					t.Errorf("after PruneRuns(%d), run %s has %d rows; want %d", tt.keep, id, got, want)
				}
			}
			quotas, err := s.Quotas()
			if err != nil {
				t.Fatal(err)
			}
			// Quota days are kept over a year (the ancient one goes); the
			// send instants a week after the key's last send.
			wantReads := []Quota{
				{Fingerprint: "new", Day: "2026-11-19", Used: 1},
				{Fingerprint: "new", Day: "2026-11-20", Used: 1},
				{Fingerprint: "new", Day: "2026-11-21", Used: 1},
				{Fingerprint: "new", Day: "2026-11-22", Used: 1},
				{Fingerprint: "new", Day: "2026-11-23", Used: 1},
				{Fingerprint: "new", Day: "2026-11-24", Used: 1},
				{Fingerprint: "new", Day: "2026-11-25", Used: 1},
				{Fingerprint: "new", Day: "2026-11-26", Used: 1},
				{Fingerprint: "new", Day: "2026-11-27", Used: 1},
			}
			wantQuotas := append([]Quota{}, wantReads...)
			wantQuotas = append(wantQuotas, Quota{Fingerprint: "old", Day: "2026-11-19", Used: 1})
			if diff := cmp.Diff(wantQuotas, quotas); diff != "" {
				t.Errorf("Quotas() after PruneRuns mismatch (-want +got):\n%s", diff)
			}
			reads, err := s.Reads()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantReads, reads); diff != "" {
				t.Errorf("Reads() after PruneRuns mismatch (-want +got):\n%s", diff)
			}
			if got, _ := s.RecentSends("old"); len(got) != 0 {
				t.Errorf("RecentSends(old) = %v; want dropped", got)
			}
			if got, _ := s.RecentSends("new"); len(got) != 9 {
				t.Errorf("RecentSends(new) has %d; want 9 kept", len(got))
			}
			if _, ok, _ := s.Applied("s", "c"); !ok {
				t.Errorf("PruneRuns dropped an Applied record")
			}
		})
	}
	s, _ := openTest(t, Options{})
	if err := s.PruneRuns(-1); err == nil {
		t.Errorf("PruneRuns(-1) = nil; want an error")
	}
}
