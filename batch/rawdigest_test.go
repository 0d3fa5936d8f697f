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

// TestRawRowShortcutIndexOrLookups: plan over most customers reads their
// raw digests in one walk (the index); apply, and plan of a small file
// against a larger state, look rows up one by one. All find the same rows
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
		{"apply, every customer", batch.Apply, h.file("night2b.csv", night2.String()), false, n, n},
		{"apply, 3 rows", batch.Apply, small, false, 2, 2},
	} {
		cfg.Input = tc.input
		res, logs := run(tc.name, tc.cmd)
		m := indexed.FindStringSubmatch(logs)
		if tc.index && (m == nil || m[1] != strconv.Itoa(n)) || !tc.index && m != nil {
			t.Errorf("%s: index log %q; want an index of %d customers: %v", tc.name, m, n, tc.index)
		}
		if got := rawHits(t, logs); res.Summary.Outcomes["unchanged"] != tc.unchanged || !slices.Equal(got, []int{tc.hits}) {
			t.Errorf("%s: %d unchanged, raw hits %v; want %d and [%d]", tc.name, res.Summary.Outcomes["unchanged"], got, tc.unchanged, tc.hits)
		}
	}
	if got, want := outcomes(h.results(cfg)), []string{"unchanged", "updated", "unchanged"}; !slices.Equal(got, want) {
		t.Errorf("apply of 3 rows: outcomes %v; want %v", got, want)
	}
}
