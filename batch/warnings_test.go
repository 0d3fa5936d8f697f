package batch_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/report"
	"github.com/juicebatch/juicebatch/sandbox"
)

// warnedCSV holds the values a realistic CRM export has that the update
// endpoint accepts but the creation endpoint's rules (or a suspicious eye)
// would not: names with a comma and a period, quotes, a digit; a two-line
// line2; a NUL byte; a tab.
const warnedCSV = "id,first_name,last_name,email,billing_address.line1,billing_address.line2,billing_address.city,billing_address.country\n" +
	"w-1,John,\"Smith, Jr.\",,,,,\n" +
	"w-2,\"Robert \"\"Bob\"\"\",Okafor,,,,,\n" +
	"w-3,Seán Changed2,,,,,,\n" +
	"w-4,,,,1 Marina Rd,\"Flat 3\nBlock B\",Lagos,NG\n" +
	"w-5,An\x00n,,,,,,\n" +
	"w-6,,Love\tlace,,,,,\n" +
	"w-7,Ada,,ada@example.com,,,,\n"

// TestWarnedValuesAreSentAsGiven is the end-to-end check: every
// such row is sent, the sandbox holds exactly the value sent (a line break
// stays a line break), the run exits 0, and results.csv and summary.json
// carry the warnings.
func TestWarnedValuesAreSentAsGiven(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cfg := h.config(h.file("warned.csv", warnedCSV))
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v\nlogs:\n%s", err, h.logs)
	}
	if got := batch.ExitCode(res, err); got != batch.ExitOK {
		t.Fatalf("exit code = %d; want 0\n%q", got, h.results(cfg))
	}
	get := func(id string) sandbox.Customer {
		c, ok := h.sb.Customer(id)
		if !ok {
			t.Fatalf("sandbox has no %s", id)
		}
		return c
	}
	checks := []struct {
		id, got, want string
	}{
		{"w-1", get("w-1").LastName, "Smith, Jr."},
		{"w-2", get("w-2").FirstName, `Robert "Bob"`},
		{"w-3", get("w-3").FirstName, "Seán Changed2"},
		{"w-4", get("w-4").BillingAddress.Line2, "Flat 3\nBlock B"},
		{"w-5", get("w-5").FirstName, "An\x00n"},
		{"w-6", get("w-6").LastName, "Love\tlace"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("sandbox %s = %q; want %q, as sent", c.id, c.got, c.want)
		}
	}
	rows := h.results(cfg)
	if got, want := outcomes(rows), []string{"updated", "updated", "updated", "updated", "updated", "updated", "updated"}; !slices.Equal(got, want) {
		t.Fatalf("outcomes = %v; want %v", got, want)
	}
	wantWarn := []string{
		`last_name: contains punctuation, symbols or other characters`,
		`first_name: contains punctuation, symbols or other characters`,
		`first_name: contains a digit`,
		`billing_address.line2: contains a line break (U+000A): "Flat 3\nBlock B"`,
		`first_name: contains a NUL byte (U+0000): "An\x00n"`,
		`last_name: contains a tab (U+0009): "Love\tlace"`,
		"",
	}
	for i, w := range wantWarn {
		if got := rows[i][7]; !strings.HasPrefix(got, w) || (w == "") != (got == "") {
			t.Errorf("row %d warnings = %q; want %q", i+1, got, w)
		}
		if rows[i][6] != "" {
			t.Errorf("row %d error = %q; want none", i+1, rows[i][6])
		}
	}
	s := h.summary(cfg)
	if s.Warnings != 6 || len(s.Reasons) != 0 || len(s.WarningReasons) != 6 {
		t.Errorf("summary warnings %d, reasons %v, warning_reasons %d; want 6, none, 6", s.Warnings, s.Reasons, len(s.WarningReasons))
	}
}

// TestStrictValuesRefusesWarnedRows: with --strict-values the same rows are
// invalid, with the warning's text as their error, and nothing is sent for
// them. It is a run of its own, not a resume of the lenient one.
func TestStrictValuesRefusesWarnedRows(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	path := h.file("warned.csv", warnedCSV)
	lenient := h.config(path)
	if _, err := batch.Plan(context.Background(), lenient); err != nil {
		t.Fatalf("Plan: %v", err)
	}
	lenientRows := h.results(lenient)

	cfg := h.config(path)
	cfg.StrictValues = true
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := batch.ExitCode(res, err); got != batch.ExitRowsBad {
		t.Errorf("exit code = %d; want 3", got)
	}
	rows := h.results(cfg)
	want := []string{"invalid", "invalid", "invalid", "invalid", "invalid", "invalid", "updated"}
	if got := outcomes(rows); !slices.Equal(got, want) {
		t.Fatalf("outcomes = %v; want %v", got, want)
	}
	for i := range 6 {
		first, _, _ := strings.Cut(lenientRows[i][7], "\n")
		if want := "DIR/warned.csv:" + lenientLine(i) + ": " + first; strings.Replace(rows[i][6], h.dir+"/", "DIR/", 1) != want {
			t.Errorf("row %d error = %q; want %q (plan's first warning)", i+1, rows[i][6], want)
		}
	}
	if paths := h.seen(); len(paths) != 1 || paths[0].Path != "/customers/w-7" {
		t.Errorf("server saw %v; want only w-7", paths)
	}
	s := h.summary(cfg)
	if len(s.Reasons) == 0 || s.Reasons[0].Outcome != "invalid" {
		t.Errorf("reasons = %+v; want the refused warnings", s.Reasons)
	}
}

// lenientLine is the line row i (0-based) of warnedCSV starts on.
func lenientLine(i int) string {
	lines := []string{"2", "3", "4", "5", "7", "8"} // row 4's line2 spans two lines
	return lines[i]
}

// TestPlanListsWarnings: plan's results.csv and its samples carry the
// warnings.
func TestPlanListsWarnings(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cfg := h.config(h.file("warned.csv", warnedCSV))
	res, err := batch.Plan(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if len(res.Samples) == 0 || len(res.Samples[0].Warnings) != 1 ||
		!strings.HasPrefix(res.Samples[0].Warnings[0], "row 1: last_name: contains punctuation") {
		t.Errorf("samples = %+v; want the first one's warning", res.Samples)
	}
	rows := h.results(cfg)
	if rows[3][7] != `billing_address.line2: contains a line break (U+000A): "Flat 3\nBlock B"` {
		t.Errorf("plan row 4 warnings = %q", rows[3][7])
	}
	if s := h.summary(cfg); s.Warnings != 6 {
		t.Errorf("plan summary warnings = %d; want 6", s.Warnings)
	}
}

// TestWarningsSurviveResume: a row finished in an earlier invocation keeps
// its warnings in the report of a later one (they are kept in the state,
// not recomputed).
func TestWarningsSurviveResume(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cfg := h.config(h.file("warned.csv", warnedCSV))
	cfg.DailyBudget = 3 // the first invocation stops half way: a run to resume
	if res, err := batch.Apply(context.Background(), cfg); err != nil || res.Summary.ExitCode != batch.ExitStopped {
		t.Fatalf("Apply = %v, %+v; want a budget stop", err, res)
	}
	first := h.results(cfg)
	cfg.DailyBudget = 100
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil || !res.Resumed {
		t.Fatalf("Apply again = %v, %+v; want a resume", err, res)
	}
	again := h.results(cfg)
	for i := range first {
		switch {
		case first[i][2] == "updated" && again[i][7] != first[i][7]:
			// Finished in the first invocation: carried, warnings and all.
			t.Errorf("row %d warnings after the second invocation = %q; want %q", i+1, again[i][7], first[i][7])
		case i < 6 && again[i][7] == "": // warnedCSV's last row has none
			t.Errorf("row %d has no warnings after the second invocation", i+1)
		}
	}
	if first[0][2] != "updated" || first[5][2] != "pending" {
		t.Errorf("first invocation's rows %v; want the first updated and the last pending", first)
	}
}

// reasonsCSV gives the report's reasons something to group: several rows
// of one problem with different values, a rejected row, warnings.
const reasonsCSV = "id,first_name,phone_number,email,billing_address.line1,billing_address.city,billing_address.country\n" +
	"r-1,Ada,0803 12,,,,\n" +
	"r-2,Bo,0803 99,,,,\n" +
	"r-3,Cy,,bob@,,,\n" +
	"r-4,Di,0700 1,,,,\n" +
	"r-5,\"Smith, Jr.\",,,,,\n" +
	"r-6,Ed,,,1 A St,Lagos,Nigerai\n" +
	"r-7,Fy,,,,,\n"

// TestReasonsGolden: summary.json's reasons group rows by field and kind of
// problem, with one example each; the golden files are the report as a
// user gets it.
func TestReasonsGolden(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cfg := h.config(h.file("reasons.csv", reasonsCSV))
	cfg.PhoneRegion = "NG"
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := batch.ExitCode(res, err); got != batch.ExitRowsBad {
		t.Errorf("exit code = %d; want 3", got)
	}
	checkGolden(t, "apply-reasons", cfg, map[string]string{"failed.csv": report.FailedCSVName})
}

// TestStrictValuesIsItsOwnRun: --strict-values changes outcomes, so the same
// file with it is another run, not a resume that would carry over rows the
// lenient run sent.
func TestStrictValuesIsItsOwnRun(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	path := h.file("warned.csv", warnedCSV)
	lenient := h.config(path)
	if _, err := batch.Apply(context.Background(), lenient); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	first := h.summary(lenient)
	strict := h.config(path)
	strict.StrictValues = true
	if _, err := batch.Apply(context.Background(), strict); err != nil {
		t.Fatalf("Apply --strict-values: %v", err)
	}
	second := h.summary(strict)
	if first.RunID == second.RunID {
		t.Errorf("run id %s for both; want --strict-values to start a run of its own", first.RunID)
	}
	want := []string{"invalid", "invalid", "invalid", "invalid", "invalid", "invalid", "unchanged"}
	if got := outcomes(h.results(strict)); !slices.Equal(got, want) {
		t.Errorf("outcomes with --strict-values after a lenient run = %v; want %v", got, want)
	}
}

// TestResumedReasonsAreTheInvocations: summary.json's reasons and warnings,
// like its outcomes, count the rows this invocation decided; a row an
// earlier invocation found invalid counts in run_totals only.
func TestResumedReasonsAreTheInvocations(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cfg := h.config(h.file("in.csv", "id,email,last_name\nv-1,bob@,\nv-2,a@example.com,\"Smith, Jr.\"\nv-3,b@example.com,\nv-4,c@example.com,\n"))
	cfg.DailyBudget, cfg.Concurrency = 1, 1 // v-2, the warned row, is the one sent
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil || res.Summary.ExitCode != batch.ExitStopped {
		t.Fatalf("Apply = %v, %+v; want a budget stop", err, res)
	}
	if s := res.Summary; len(s.Reasons) != 1 || s.Reasons[0].Field != "email" || s.Warnings != 1 {
		t.Fatalf("first invocation reasons %+v, warnings %d; want the email reason and 1 warning\n%v", s.Reasons, s.Warnings, h.results(cfg))
	}
	cfg.DailyBudget = 10
	res, err = batch.Apply(context.Background(), cfg)
	if err != nil || !res.Resumed {
		t.Fatalf("Apply again = %v, %+v; want a resume", err, res)
	}
	s := res.Summary
	if len(s.Reasons) != 0 || s.Warnings != 0 || s.Outcomes["invalid"] != 0 || s.Outcomes["updated"] != 2 {
		t.Errorf("resumed invocation: reasons %+v, warnings %d, outcomes %v; want none of the carried rows, 2 updated", s.Reasons, s.Warnings, s.Outcomes)
	}
	if s.RunTotals == nil || s.RunTotals.Outcomes["invalid"] != 1 || s.RunTotals.Outcomes["updated"] != 3 {
		t.Errorf("run_totals %+v; want 1 invalid, 3 updated", s.RunTotals)
	}
}

// TestReasonsGroupRowsNotValues: rows refused for the same kind of problem
// are one reason, whatever their values, under --strict-values too (where
// warnings' texts become refusals) and for "00" phone refusals.
func TestReasonsGroupRowsNotValues(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	long := func(n int) string { return strings.Repeat("a", n) }
	cfg := h.config(h.file("group.csv", "id,last_name,phone_number,billing_address.line1,billing_address.city,billing_address.country\n"+
		"g-1,\"Smith, Jr.\",,,,\n"+
		"g-2,\"Jones, Sr.\",,,,\n"+
		"g-3,\"Brown, III\",,,,\n"+
		"g-4,"+long(101)+",,,,\n"+
		"g-5,"+long(102)+",,,,\n"+
		"g-6,,00234 803 123 4567,1 Marina,Lagos,NG\n"+
		"g-7,,00234 803 765 4321,1 Marina,Lagos,NG\n"))
	cfg.StrictValues = true
	if _, err := batch.Apply(context.Background(), cfg); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	var got []string
	for _, r := range h.summary(cfg).Reasons {
		got = append(got, fmt.Sprintf("%s %s %d", r.Outcome, r.Field, r.Count))
	}
	want := []string{"invalid last_name 3", "invalid last_name 2", "invalid phone_number 2"}
	if !slices.Equal(got, want) {
		t.Errorf("reasons %q; want %q", got, want)
	}
}
