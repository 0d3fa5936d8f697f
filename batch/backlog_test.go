package batch_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/ratelimit"
)

// nightlyExport is the whole customer table as a warehouse exports it on
// night n: customers 0..449, each with the email of the last night it
// changed. Night 1 changes the bottom 150 rows, night 2 the middle, night 3
// the top, so that in file order each night's new changes come before the
// ones left over from the night before.
func nightlyExport(n int) string {
	var b strings.Builder
	b.WriteString("id,email\n")
	for i := range 450 {
		last := 0
		for night := 1; night <= n; night++ {
			if lo := 450 - 150*night; i >= lo && i < lo+150 {
				last = night
			}
		}
		fmt.Fprintf(&b, "c-%03d,c-%03d@n%d.example.com\n", i, i, last)
	}
	return b.String()
}

// waiting lists the customers with a change waiting, as request paths.
func waiting(t *testing.T, cfg batch.Config) []string {
	t.Helper()
	store, err := checkpoint.Open(cfg.StatePath, checkpoint.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	bl, err := store.Backlogs()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, st := range bl {
		marks, err := store.OldestPending(st.Scope, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range marks {
			out = append(out, "/customers/"+m.CustomerID)
		}
	}
	return out
}

func pendingStats(t *testing.T, cfg batch.Config, scope string) checkpoint.PendingStats {
	t.Helper()
	store, err := checkpoint.Open(cfg.StatePath, checkpoint.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	bl, err := store.Backlogs()
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range bl {
		if strings.HasSuffix(st.Scope, scope) {
			return st
		}
	}
	return checkpoint.PendingStats{}
}

// TestBacklogOldestFirst: three nights of 150 changed rows against a budget
// of 100 a night. Without the backlog each night's changes near the top of
// the file would win over the leftovers below them every night.
func TestBacklogOldestFirst(t *testing.T) {
	h := newHarness(t, harnessOpts{fake: true})
	in := filepath.Join(h.dir, "customers.csv")
	cfg := h.config(in)

	// Night 0: the initial load, with a budget that fits it.
	h.file("customers.csv", nightlyExport(0))
	cfg.DailyBudget = 1000
	if res, err := batch.Apply(context.Background(), cfg); err != nil || res.Summary.ExitCode != batch.ExitOK {
		t.Fatalf("initial load: %v, %+v", err, res)
	}
	cfg.DailyBudget = 100
	nightStart := func(n int) time.Time { return time.Date(2026, 11, 28+n-1, 2, 0, 0, 0, time.UTC) }

	type night struct {
		wantPending    int
		wantOldestFrom int // the night the oldest pending change is from
		wantWarn       string
	}
	nights := []night{
		1: {wantPending: 50, wantOldestFrom: 1,
			wantWarn: "150 changes tonight (150 new, 0 still pending from earlier runs), budget 100 left today: 50 wait for the next run, oldest first; backlog 1.5 days"},
		2: {wantPending: 100, wantOldestFrom: 2,
			wantWarn: "200 changes tonight (150 new, 50 still pending from earlier runs), budget 100 left today: 100 wait for the next run, oldest first; backlog 2.0 days"},
		3: {wantPending: 150, wantOldestFrom: 3,
			wantWarn: "250 changes tonight (150 new, 100 still pending from earlier runs), budget 100 left today: 150 wait for the next run, oldest first; backlog 2.5 days"},
	}
	for n := 1; n <= 3; n++ {
		want := nights[n]
		h.clock.Advance(nightStart(n).Sub(h.clock.Now()))
		h.file("customers.csv", nightlyExport(n))
		// (Which customer of two on the budget's edge gets its last request
		// is up to the two workers; what waits is read from the state.)
		waitingBefore := waiting(t, cfg)
		seenBefore := len(h.seen())
		logsBefore := len(h.logs.String())
		res, err := batch.Apply(context.Background(), cfg)
		if err != nil {
			t.Fatalf("night %d: %v", n, err)
		}
		s := res.Summary
		if s.ExitCode != batch.ExitStopped || s.Requests != 100 || s.Outcomes["updated"] != 100 {
			t.Errorf("night %d: exit %d, %d requests, outcomes %v; want exit 4 after 100 requests, 100 updated", n, s.ExitCode, s.Requests, s.Outcomes)
		}
		seen := h.seen()[seenBefore:]
		// The waiting changes went first.
		var first []string
		for _, s := range seen[:min(len(seen), len(waitingBefore))] {
			first = append(first, s.Path)
		}
		if !sameSet(first, waitingBefore) {
			t.Errorf("night %d: the first %d requests went to %v; want the waiting %v", n, len(waitingBefore), first, waitingBefore)
		}
		if n > 1 && len(waitingBefore) == 0 {
			t.Errorf("night %d: nothing was waiting from night %d", n, n-1)
		}
		st := pendingStats(t, cfg, "")
		if st.Count != want.wantPending || !st.Oldest.Equal(nightStart(want.wantOldestFrom)) {
			t.Errorf("night %d: backlog %d since %s; want %d since %s", n, st.Count, st.Oldest, want.wantPending, nightStart(want.wantOldestFrom))
		}
		if age := h.clock.Now().Sub(st.Oldest); age > 48*time.Hour {
			t.Errorf("night %d: the oldest pending change is %s old; want at most 2 nights", n, age)
		}
		if b := s.Backlog; b == nil || b.Pending != want.wantPending || !b.OldestSince.Equal(nightStart(want.wantOldestFrom)) ||
			b.OldestAgeSeconds != int64(s.FinishedAt.Sub(b.OldestSince)/time.Second) {
			t.Errorf("night %d: summary backlog %+v; want %d pending since %s", n, b, want.wantPending, nightStart(want.wantOldestFrom))
		}
		if logs := h.logs.String()[logsBefore:]; !strings.Contains(logs, want.wantWarn) {
			t.Errorf("night %d: no warning %q in the log:\n%s", n, want.wantWarn, logs)
		}
		// Every change of night n-1 was sent by night n.
		if n >= 2 {
			for i := 450 - 150*(n-1); i < 450-150*(n-2); i++ {
				id := fmt.Sprintf("c-%03d", i)
				c, _ := h.sb.Customer(id)
				if wantEmail := fmt.Sprintf("%s@n%d.example.com", id, n-1); c.Email != wantEmail {
					t.Errorf("after night %d: %s has %q; want night %d's change %q", n, id, c.Email, n-1, wantEmail)
				}
			}
		}
	}
	if st := h.sb.Stats(); st.DuplicateApplications != 0 {
		t.Errorf("sandbox %+v; want no duplicate applications", st)
	}
}

// TestByteIdenticalNightReportsItself: the same export the next night
// takes up the finished run again, sends nothing and says so, with its own
// start and duration; the run's totals go beside. A finished run keeps no
// row records (checkpoint's doc), so the night decides every row again:
// unchanged, without a request.
func TestByteIdenticalNightReportsItself(t *testing.T) {
	h := newHarness(t, harnessOpts{fake: true})
	cfg := h.config(h.file("in.csv", "id,email\ni-1,a@example.com\ni-2,b@example.com\ni-3,c@example.com\n"))
	cfg.Rate = ratelimit.Rate{N: 1, Per: time.Minute} // the first night takes minutes
	night1 := h.clock.Now()
	first, err := batch.Apply(context.Background(), cfg)
	if err != nil || first.Summary.Requests != 3 {
		t.Fatalf("first night: %v, %+v", err, first)
	}
	if d := first.Summary.FinishedAt.Sub(first.Summary.StartedAt); d < 2*time.Minute {
		t.Fatalf("first night took %s; want the pace's minutes", d)
	}
	h.clock.Advance(24 * time.Hour)
	night2 := h.clock.Now()
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil || !res.Resumed {
		t.Fatalf("second night: %v, %+v; want a resumed run", err, res)
	}
	s := res.Summary
	want := map[string]int{"updated": 0, "unchanged": 3, "invalid": 0, "rejected": 0, "failed": 0, "pending": 0}
	if s.Requests != 0 || s.Retries != 0 || !maps.Equal(s.Outcomes, want) {
		t.Errorf("second night: %d requests, %d retries, outcomes %v; want 0, 0, %v", s.Requests, s.Retries, s.Outcomes, want)
	}
	if !s.StartedAt.Equal(night2) || s.FinishedAt.Sub(s.StartedAt) > time.Second {
		t.Errorf("second night ran from %s to %s; want its own start %s and a moment", s.StartedAt, s.FinishedAt, night2)
	}
	tot := s.RunTotals
	if tot == nil || !tot.StartedAt.Equal(night1) || tot.Requests != 3 || tot.Outcomes["unchanged"] != 3 {
		t.Errorf("second night run_totals %+v; want started %s, 3 requests, the rows as results.csv lists them (3 unchanged)", tot, night1)
	}
	if len(h.seen()) != 3 {
		t.Errorf("server saw %d requests; want 3", len(h.seen()))
	}
	// A third night, with progress (whose ticker makes the fake clock run):
	// the last progress line has every row done, all of them unchanged,
	// nothing sent, and the invocation's own elapsed time,
	// not the two days since the run began. (The harness's clock moves
	// 50ms whenever the progress ticker waits, so the invocation's own
	// elapsed time depends on the machine's speed; below a day, the gap
	// between two nights, it is the invocation's and not the run's.)
	h.clock.Advance(24 * time.Hour)
	var prog lastProgress
	cfg.Progress = &prog
	if _, err := batch.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	p := prog.done
	if p.Done != 3 || p.Requests != 0 || p.Outcomes["updated"] != 0 || p.Outcomes["unchanged"] != 3 || p.Elapsed >= 24*time.Hour {
		t.Errorf("third night's last progress %+v; want 3 done, 0 requests, 3 unchanged, its own elapsed time", p)
	}
}

// lastProgress keeps the final snapshot.
type lastProgress struct{ done batch.Snapshot }

func (p *lastProgress) Update(batch.Snapshot) {}
func (p *lastProgress) Done(s batch.Snapshot) { p.done = s }

// TestBacklogFirstStillMergesPerID: a waiting customer with two rows goes
// first as one request carrying both rows, at the cost of one request.
func TestBacklogFirstStillMergesPerID(t *testing.T) {
	h := newHarness(t, harnessOpts{fake: true})
	in := filepath.Join(h.dir, "in.csv")
	cfg := h.config(in)
	cfg.DailyBudget = 1
	h.file("in.csv", "id,first_name,email\na-1,,a1@example.com\np-1,Pat,\na-2,,a2@example.com\np-1,,p1@example.com\n")
	if res, err := batch.Apply(context.Background(), cfg); err != nil || res.Summary.Requests != 1 {
		t.Fatalf("night 1: %v, %+v; want 1 request", err, res)
	}
	h.clock.Advance(24 * time.Hour)
	cfg.DailyBudget = 2
	h.file("in.csv", "id,first_name,email\nz-1,,z1@example.com\na-1,,a1@example.com\np-1,Pat,\na-2,,a2@example.com\np-1,,p1@example.com\n")
	before := len(h.seen())
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil || res.Summary.Requests != 2 {
		t.Fatalf("night 2: %v, %+v; want 2 requests", err, res)
	}
	var paths []string
	for _, s := range h.seen()[before:] {
		paths = append(paths, s.Path)
	}
	// Night 1 sent a-1 or a-2 (two workers); the other and p-1 waited.
	if !sameSet(paths, []string{"/customers/a-2", "/customers/p-1"}) && !sameSet(paths, []string{"/customers/a-1", "/customers/p-1"}) {
		t.Errorf("night 2 sent %v; want the waiting a-1 or a-2 and p-1 before the new z-1", paths)
	}
	if p, _ := h.sb.Customer("p-1"); p.FirstName != "Pat" || p.Email != "p1@example.com" {
		t.Errorf("p-1 = %+v; want both rows merged", p)
	}
	// z-1 found no budget left; of a-1 and a-2, the one night 1 sent is
	// unchanged or not reached, the other went first.
	rows := h.results(cfg)
	got := outcomes(rows)
	a := got[1] + "," + got[3]
	if got[0] != "pending" || got[2] != "updated" || got[4] != "updated" || !strings.Contains(a, "updated") || a == "updated,updated" {
		t.Errorf("night 2 outcomes %v; want z-1 pending, p-1 updated, one of a-1, a-2 updated", got)
	}
	if rows[2][5] == "" || rows[2][5] != rows[4][5] {
		t.Errorf("p-1's rows have keys %q and %q; want one request's key", rows[2][5], rows[4][5])
	}
	if st := pendingStats(t, cfg, ""); st.Count != 1 || !st.Oldest.Equal(res.Summary.StartedAt) {
		t.Errorf("backlog after night 2 %+v; want z-1 alone, since night 2", st)
	}
}
