package batch_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/report"
)

func (h *harness) page(cfg batch.Config) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(cfg.ReportDir, report.HTMLName))
	if err != nil {
		h.t.Fatalf("read report.html: %v", err)
	}
	return string(b)
}

// TestReportHTMLFollowsTheRun: a run stopped by its budget shows its ETA,
// its problem row and the day's requests against the budget; the run that
// finishes it shows neither ETA nor pending rows.
func TestReportHTMLFollowsTheRun(t *testing.T) {
	h := newHarness(t, harnessOpts{fake: true})
	in := h.file("in.csv", "id,email\nh-1,a@example.com\nh-2,b@example.com\nh-3,not-an-email\nh-4,d@example.com\nh-5,e@example.com\n")
	cfg := h.config(in)
	cfg.DailyBudget = 2
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil || res.Summary.ExitCode != batch.ExitStopped {
		t.Fatalf("Apply = %v, %+v; want exit 4", err, res)
	}
	page := h.page(cfg)
	day := res.Summary.Budget.Day
	for _, want := range []string{
		"stopped early: run again to resume",
		"<dt>exit code</dt><dd>4: stopped early (daily budget, signal); run again to resume</dd>",
		"not finished (stopped)",
		"<b>2</b><span>updated</span>", "<b>1</b><span>invalid</span>", "<b>2</b><span>pending</span>",
		"about 1 day at 2 requests a day (2 rows pending",
		"daily budget 2",
		"<title>" + day + ": 2 writes</title>",
		"Rows that were invalid, rejected or failed (1)",
		`<td class="id">h-3</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html after the stopped run lacks %q", want)
		}
	}

	cfg.DailyBudget = 10
	res, err = batch.Apply(context.Background(), cfg)
	if err != nil || res.Summary.ExitCode != batch.ExitRowsBad {
		t.Fatalf("second Apply = %v, %+v; want exit 3", err, res)
	}
	page = h.page(cfg)
	for _, want := range []string{"finished: some rows need attention", "<b>4</b><span>updated</span>",
		"<title>" + day + ": 4 writes</title>", "daily budget 10"} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html after the finishing run lacks %q", want)
		}
	}
	for _, unwanted := range []string{"ETA", "<span>pending</span>", "not finished"} {
		if strings.Contains(page, unwanted) {
			t.Errorf("report.html after the finishing run still shows %q", unwanted)
		}
	}
}

// TestPlanPageShowsFieldChanges: plan's samples say, field by field,
// whether juicebatch applied the field before and whether it changes.
func TestPlanPageShowsFieldChanges(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cfg := h.config(h.file("first.csv", "id,first_name,email\nq-1,Ada,ada@example.com\n"))
	if _, err := batch.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Input = h.file("second.csv", "id,first_name,email,phone_number\nq-1,Ada,ada@new.example.com,\n")
	cfg.Full = true // send the unchanged first_name too, to see it marked so
	res, err := batch.Plan(context.Background(), cfg)
	if err != nil || len(res.Samples) != 1 {
		t.Fatalf("Plan = %v, %+v; want one sample", err, res)
	}
	got := map[string]string{}
	for _, f := range res.Samples[0].Fields {
		got[f.Field] = f.Kind
	}
	want := map[string]string{"first_name": report.ChangeSame, "email": report.ChangeChanged}
	for field, kind := range want {
		if got[field] != kind {
			t.Errorf("sample field %s is %q; want %q (all: %v)", field, got[field], kind, got)
		}
	}
	page := h.page(cfg)
	for _, s := range []string{"Sample updates plan would send", "ada@new.example.com", `<span class="pill k-changed">changed</span>`,
		`<span class="pill k-same">same</span>`} {
		if !strings.Contains(page, s) {
			t.Errorf("plan's report.html lacks %q", s)
		}
	}
}
