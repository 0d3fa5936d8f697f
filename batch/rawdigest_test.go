package batch_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/ratelimit"
)

// rawHits is what the run's log says about rows found unchanged from their
// raw digest.
func rawHits(t *testing.T, logs string) []int {
	t.Helper()
	var out []int
	re := regexp.MustCompile(`rows found unchanged from their raw digest, without normalizing" rows=(\d+)`)
	for _, m := range re.FindAllStringSubmatch(logs, -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, n)
	}
	return out
}

// TestRawRowShortcut: a row whose raw content equals the one last applied
// to its customer is unchanged without being normalized; a byte-different
// file of the same rows is such a night; an option that changes bodies
// makes every row take the long way once, which records the raw digests
// for the night after.
func TestRawRowShortcut(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	rows := "c-1,a@example.com,+2348031234567\nc-2,b@example.com,+2348031234568\nc-3,c@example.com,\n"
	cfg := h.config(h.file("night1.csv", "id,email,phone_number\n"+rows))
	apply := func(name string) *batch.Result {
		t.Helper()
		res, err := batch.Apply(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return res
	}
	if res := apply("night 1"); res.Summary.Requests != 3 {
		t.Fatalf("night 1 sent %d requests; want 3", res.Summary.Requests)
	}

	// Night 2: the same rows in a byte-different file (a trailing empty
	// column; a new run).
	cfg.Input = h.file("night2.csv", "id,email,phone_number,notes\nc-1,a@example.com,+2348031234567,\nc-2,b@example.com,+2348031234568,\nc-3,c@example.com,,\n")
	res := apply("night 2")
	if got, want := outcomes(h.results(cfg)), []string{"unchanged", "unchanged", "unchanged"}; !slices.Equal(got, want) || res.Summary.Requests != 0 || res.Resumed {
		t.Errorf("night 2: outcomes %v after %d requests (resumed %v); want %v after 0, a new run", got, res.Summary.Requests, res.Resumed, want)
	}
	// Night 3: one row changed; the others take the shortcut.
	cfg.Input = h.file("night3.csv", "id,email,phone_number\nc-1,a@example.com,+2348031234567\nc-2,new@example.com,+2348031234568\nc-3,c@example.com,\n")
	res = apply("night 3")
	if got, want := outcomes(h.results(cfg)), []string{"unchanged", "updated", "unchanged"}; !slices.Equal(got, want) || res.Summary.Requests != 1 {
		t.Errorf("night 3: outcomes %v after %d requests; want %v after 1", got, res.Summary.Requests, want)
	}
	// Night 4: a phone region (an option that changes bodies, so part of
	// every raw digest): nothing matches, every row is normalized and
	// compared, none differs, none is sent.
	cfg.PhoneRegion = "NG"
	res = apply("night 4")
	if got, want := outcomes(h.results(cfg)), []string{"unchanged", "unchanged", "unchanged"}; !slices.Equal(got, want) || res.Summary.Requests != 0 {
		t.Errorf("night 4: outcomes %v after %d requests; want %v after 0", got, res.Summary.Requests, want)
	}
	// Night 5: the same file and options under a new run: all from the
	// raw digests night 4 recorded.
	cfg.NewRun = true
	apply("night 5")
	if got, want := outcomes(h.results(cfg)), []string{"unchanged", "unchanged", "unchanged"}; !slices.Equal(got, want) {
		t.Errorf("night 5: outcomes %v; want %v", got, want)
	}
	// --full sends them all, shortcut or not.
	cfg.Full = true
	if res := apply("--full"); res.Summary.Requests != 3 {
		t.Errorf("--full sent %d requests; want 3", res.Summary.Requests)
	}
	if got, want := rawHits(t, h.logs.String()), []int{0, 3, 2, 0, 3, 0}; !slices.Equal(got, want) {
		t.Errorf("rows found unchanged from their raw digest, night by night: %v; want %v", got, want)
	}
}

// TestFinishedRunKeepsNoRows: a finished run's row records are deleted
// once its report is written; its summary stays. Run again on the same
// input, it resumes (nothing to carry over), sends nothing and reports
// every row from change detection.
func TestFinishedRunKeepsNoRows(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cfg := h.config(h.file("in.csv", "id,email\nf-1,a@example.com\nf-2,b@example.com\n"))
	first, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := outcomes(h.results(cfg)), []string{"updated", "updated"}; !slices.Equal(got, want) {
		t.Fatalf("first run outcomes %v; want %v (the report is written from the rows)", got, want)
	}
	checkRows := func(when string) {
		t.Helper()
		s, err := checkpoint.Open(filepath.Join(h.dir, "state", "juicebatch.db"), checkpoint.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		run, ok, err := s.GetRun(first.Summary.RunID)
		if err != nil || !ok || run.Status != checkpoint.StatusFinished {
			t.Fatalf("%s: GetRun = %+v, %v, %v; want the finished run's summary", when, run, ok, err)
		}
		n := 0
		if err := s.Rows(run.ID, func(checkpoint.Row) error { n++; return nil }); err != nil || n != 0 {
			t.Errorf("%s: the finished run keeps %d row records (%v); want none", when, n, err)
		}
	}
	checkRows("after the first run")
	again, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := outcomes(h.results(cfg)), []string{"unchanged", "unchanged"}; !slices.Equal(got, want) || again.Summary.RunID != first.Summary.RunID || len(h.seen()) != 2 {
		t.Errorf("same input again: run %s, outcomes %v, %d requests in all; want run %s, %v, 2 requests in all",
			again.Summary.RunID, got, len(h.seen()), first.Summary.RunID, want)
	}
	checkRows("after the second run")
}

// TestRawRowShortcutIndexOrLookups: plan or apply over most customers
// reads their raw digests in one walk (the index); either, for a small
// file against a larger state, looks rows up one by one. All find the same rows
// unchanged, and none takes a changed row for an unchanged one.
func TestRawRowShortcutIndexOrLookups(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	const n = 1100 // more than a 3-row file's walk may read (4·3 + 1024)
	var night1, night2 strings.Builder
	night1.WriteString("id,email\n")
	night2.WriteString("id,email,notes\n")
	for i := range n {
		fmt.Fprintf(&night1, "k-%04d,k%d@example.com\n", i, i)
		fmt.Fprintf(&night2, "k-%04d,k%d@example.com,\n", i, i)
	}
	cfg := h.config(h.file("night1.csv", night1.String()))
	cfg.Rate = ratelimit.Rate{N: 1000000, Per: time.Second}
	cfg.DailyBudget = 10 * n
	run := func(name string, cmd func(context.Context, batch.Config) (*batch.Result, error)) (*batch.Result, string) {
		t.Helper()
		var logs bytes.Buffer
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		res, err := cmd(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return res, logs.String()
	}
	if res, _ := run("night 1", batch.Apply); res.Summary.Requests != n {
		t.Fatalf("night 1 sent %d requests; want %d", res.Summary.Requests, n)
	}
	indexed := regexp.MustCompile(`raw-row digests indexed" customers=(\d+)`)
	small := h.file("small.csv", "id,email\nk-0001,k1@example.com\nk-0002,changed@example.com\nk-0003,k3@example.com\n")

	for _, tc := range []struct {
		name      string
		cmd       func(context.Context, batch.Config) (*batch.Result, error)
		input     string
		index     bool
		unchanged int
		hits      int
	}{
		{"plan, every customer", batch.Plan, h.file("night2.csv", night2.String()), true, n, n},
		{"plan, 3 rows", batch.Plan, small, false, 2, 2},
		{"apply, every customer", batch.Apply, h.file("night2b.csv", night2.String()), true, n, n},
		{"apply, 3 rows", batch.Apply, small, false, 2, 2},
	} {
		cfg.Input = tc.input
		var mu sync.Mutex
		var held []int64
		cfg.HeldMemory = func(b int64) { mu.Lock(); held = append(held, b); mu.Unlock() }
		res, logs := run(tc.name, tc.cmd)
		m := indexed.FindStringSubmatch(logs)
		if tc.index && (m == nil || m[1] != strconv.Itoa(n)) || !tc.index && m != nil {
			t.Errorf("%s: index log %q; want an index of %d customers: %v", tc.name, m, n, tc.index)
		}
		// The caller hears of the index's memory (8 bytes a row of the
		// file), once; a walk that gives up (a small file against a large
		// state) takes it back.
		mu.Lock()
		if tc.index && (len(held) != 1 || held[0] < 8*n) || !tc.index && (len(held) != 2 || held[1] != 0) {
			t.Errorf("%s: HeldMemory told %v; want one call of at least %d bytes: %v, or a call and then 0", tc.name, held, 8*n, tc.index)
		}
		mu.Unlock()
		if got := rawHits(t, logs); res.Summary.Outcomes["unchanged"] != tc.unchanged || !slices.Equal(got, []int{tc.hits}) {
			t.Errorf("%s: %d unchanged, raw hits %v; want %d and [%d]", tc.name, res.Summary.Outcomes["unchanged"], got, tc.unchanged, tc.hits)
		}
	}
	if got, want := outcomes(h.results(cfg)), []string{"unchanged", "updated", "unchanged"}; !slices.Equal(got, want) {
		t.Errorf("apply of 3 rows: outcomes %v; want %v", got, want)
	}
}

// TestUnchangedRowsLeaveNoRecords: apply records a row decided without a
// request only when the record says something: an invalid row's reason,
// a warning. A row found unchanged with nothing else to say (from its raw
// digest or the long way) leaves no record, even in a run that stops and
// is resumed: the report still lists it unchanged, and the resumed
// invocation decides it again without a request. So a night of a million
// unchanged rows writes, reads back and deletes none.
func TestUnchangedRowsLeaveNoRecords(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cfg := h.config(h.file("night1.csv", "id,email,last_name\n"+
		"q-1,a@example.com,Ames\nq-2,b@example.com,Bell\nq-3,c@example.com,\"Cole, Jr.\"\n"+
		"q-5,e@example.com,Eden\nq-6,f@example.com,Fox\n"))
	cfg.Concurrency = 1 // the budget's last request goes to the first change, q-2
	if res, err := batch.Apply(context.Background(), cfg); err != nil || res.Summary.Requests != 5 {
		t.Fatalf("night 1: %v, %+v; want 5 requests", err, res)
	}
	// Night 2, a new file: q-1 as before (the raw-digest shortcut); q-2
	// changed; q-3 and q-5 equivalent but byte-different (a space to trim:
	// unchanged the long way), q-3 with its warning; an invalid row; q-6
	// changed. One request is left of today's budget: the run stops.
	cfg.Input = h.file("night2.csv", "id,email,last_name\n"+
		"q-1,a@example.com,Ames\nq-2,new@example.com,Bell\nq-3,c@example.com,\" Cole, Jr.\"\n"+
		"q-4,not-an-email,Dunn\nq-5, e@example.com,Eden\nq-6,f@example.com,Foxe\n")
	cfg.DailyBudget = 6
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil || res.Summary.ExitCode != batch.ExitStopped {
		t.Fatalf("night 2: %v, exit %d; want a budget stop", err, res.Summary.ExitCode)
	}
	want := []string{"unchanged", "updated", "unchanged", "invalid", "unchanged", "pending"}
	if got := outcomes(h.results(cfg)); !slices.Equal(got, want) {
		t.Fatalf("night 2 outcomes %v; want %v", got, want)
	}
	if got := h.results(cfg)[2][7]; !strings.Contains(got, "punctuation") {
		t.Errorf("night 2, q-3's warnings %q; want its punctuation warning", got)
	}
	// The stopped run keeps its rows for the resume: the updated row, the
	// invalid row and the warned one; not the quiet unchanged rows.
	s, err := checkpoint.Open(cfg.StatePath, checkpoint.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var recorded []string
	err = s.Rows(res.Summary.RunID, func(r checkpoint.Row) error {
		recorded = append(recorded, fmt.Sprintf("%d %s", r.Num, r.Outcome))
		return nil
	})
	s.Close()
	if want := []string{"2 updated", "3 unchanged", "4 invalid"}; err != nil || !slices.Equal(recorded, want) {
		t.Errorf("night 2's row records %v (%v); want %v", recorded, err, want)
	}

	// The resume, with budget: only q-6 is sent; every row is reported as
	// before, the quiet ones decided again.
	cfg.DailyBudget = 100
	res, err = batch.Apply(context.Background(), cfg)
	if err != nil || !res.Resumed || res.Summary.Requests != 1 {
		t.Fatalf("resume: %v, resumed %v, %d requests; want a resume sending 1", err, res.Resumed, res.Summary.Requests)
	}
	want[5] = "updated"
	if got := outcomes(h.results(cfg)); !slices.Equal(got, want) {
		t.Errorf("resume outcomes %v; want %v", got, want)
	}
	if tot := res.Summary.RunTotals; tot == nil || tot.Requests != 2 || tot.Outcomes["unchanged"] != 3 || tot.Outcomes["updated"] != 2 || tot.Outcomes["invalid"] != 1 {
		t.Errorf("run totals %+v; want 2 requests: 3 unchanged, 2 updated, 1 invalid", tot)
	}
	if n := len(h.seen()); n != 7 {
		t.Errorf("the server saw %d requests over the nights; want 7", n)
	}
	// q-5's equivalent row was recorded by raw digest though it left no
	// row record: a new run of night 2's file finds it from the digest.
	cfg.NewRun = true
	if _, err := batch.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	// Night 1 none; night 2 q-1; its resume q-1 and q-5 (q-3, recorded as
	// unchanged, was carried); the new run q-1, q-2, q-3, q-5, q-6.
	if got, want := rawHits(t, h.logs.String()), []int{0, 1, 2, 5}; !slices.Equal(got, want) {
		t.Errorf("rows found unchanged from their raw digest, run by run: %v; want %v", got, want)
	}
}
