package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// bigPage is the page of a 1M-row migration 40 days in: every part filled,
// 500 problem rows listed of 150,000.
func bigPage(tb testing.TB) Page {
	tb.Helper()
	started := time.Date(2025, 2, 1, 1, 30, 0, 0, time.UTC)
	now := started.AddDate(0, 0, 39).Add(2 * time.Hour)
	run := RunInfo{
		ID: "run-20250201-0130", Command: CommandApply, Status: "stopped",
		Inputs:    []string{"/input/customers-2025-02.csv"},
		StartedAt: started, UpdatedAt: now, ExitCode: 4, ExitMeaning: "stopped early (daily budget, signal); run again to resume",
		Outcomes: []Count{{"updated", 39000}, {"unchanged", 600000}, {"invalid", 120000}, {"rejected", 29000},
			{"failed", 1000}, {"pending", 211000}},
		Requests: 40000, Retries: 900, RateLimited: 12, Warnings: 3400, DailyBudget: 1000,
		Budget: &Budget{Day: "2025-03-12", Used: 1000, Left: 0},
	}
	p := Page{Run: &run, Generated: now,
		Reasons: []Reason{
			{Outcome: "invalid", Field: "phone_number", Problem: "not a valid number for NG", Count: 90000, ExampleRow: 17,
				Example: `line 18, field phone_number: "0803 12" is not a valid number for NG`},
			{Outcome: "invalid", Field: "email", Problem: "not an email address", Count: 30000, ExampleRow: 4,
				Example: `line 5, field email: "bob@" is not an email address`},
			{Outcome: "rejected", Field: "billing_address.country", Problem: "not an ISO 3166-1 code", Count: 29000, ExampleRow: 99,
				Example: "422 validation_error billing_address.country: must be an ISO 3166-1 alpha-2 code (request req_8f2)"},
		},
		WarningReasons: []Reason{{Outcome: "warning", Field: "phone_number", Problem: "read as a national number of NG", Count: 3400, ExampleRow: 12,
			Example: `line 13, field phone_number: "08031234567" read as +2348031234567`}},
	}
	var days []Day
	for i, d := range DayRange(started, now) {
		days = append(days, Day{Day: d, Writes: 1000 - (i*37)%300, NotKept: i < 32})
	}
	p.Charts = []Chart{{Title: "key test_3f9a2c", Budget: 1000, Days: days}}
	for i := 1; i <= 150000; i++ {
		p.Problems.Add(Result{Row: i * 6, ID: fmt.Sprintf("cus_%07d", i*6), Outcome: "invalid",
			Error: fmt.Sprintf(`line %d, field phone_number: "0803 %d" is not a valid number for NG`, i*6+1, i)})
	}
	return p
}

func render(tb testing.TB, p Page) string {
	tb.Helper()
	var b bytes.Buffer
	if err := RenderHTML(&b, p); err != nil {
		tb.Fatalf("RenderHTML: %v", err)
	}
	return b.String()
}

// TestHTMLHostileValues renders values an attacker controls (an id, an
// error, an email, an address, a file name) and checks each comes out as
// text: no script element, no second style element, no URL attribute.
func TestHTMLHostileValues(t *testing.T) {
	script := `<script>alert(1)</script>`
	jsURL := `javascript:alert(document.cookie)`
	style := `</style><script>alert(2)</script>`
	attr := `" onmouseover="alert(3)`
	run := RunInfo{ID: script, Command: CommandPlan, Inputs: []string{style + ".csv"}, ExitCode: 3, ExitMeaning: attr,
		Outcomes: []Count{{"would_update", 1}, {script, 2}}, Plan: &Plan{Requests: 1, DailyBudget: 1000, Days: 1}}
	p := Page{
		Title: script,
		Run:   &run,
		Runs:  []RunInfo{run},
		Reasons: []Reason{{Outcome: script, Field: attr, Problem: style, Count: 1, ExampleRow: 1,
			Example: "line 2, field email: " + jsURL}},
		WarningReasons: []Reason{{Outcome: "warning", Field: jsURL, Problem: script, Count: 1}},
		Charts:         []Chart{{Title: style, Budget: 1000, Note: script, Days: []Day{{Day: script, Writes: 3}}}},
		Samples: []Change{{Row: 1, ID: script, Note: style, Fields: []FieldChange{
			{Field: "first_name", New: script, Kind: ChangeNew},
			{Field: "email", New: jsURL, Kind: attr},
			{Field: "billing_address", Old: style, OldKnown: true, New: `{"line1":"` + style + `"}`, Kind: ChangeChanged},
		}}},
		Differences: []Change{{Row: 2, ID: attr, Fields: []FieldChange{{Field: "email", Old: jsURL, OldKnown: true, New: script, Kind: ChangeDiffering}}}},
	}
	p.Problems.Add(Result{Row: 1, ID: script, Outcome: "invalid", Error: "field email: " + jsURL + " " + style})
	out := render(t, p)

	for _, tt := range []struct {
		name, re string
		want     int
	}{
		{"script elements", `(?i)<script`, 0},
		{"style elements opened", `(?i)<style`, 1},
		{"style elements closed", `(?i)</style`, 1},
		{"event-handler attributes", `(?i)<[^>]*\son[a-z]+\s*=`, 0},
		{"URL attributes", `(?i)\s(href|src|action|formaction|xlink:href|srcset)\s*=`, 0},
		{"javascript: inside a tag", `(?i)<[^>]*javascript:`, 0},
		{"escaped script text", regexp.QuoteMeta(`&lt;script&gt;alert(1)&lt;/script&gt;`), -1},
		{"escaped style text", regexp.QuoteMeta(`&lt;/style&gt;&lt;script&gt;alert(2)`), -1},
		{"escaped quote in text", regexp.QuoteMeta(`&#34; onmouseover=&#34;alert(3)`), -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := len(regexp.MustCompile(tt.re).FindAllStringIndex(out, -1))
			if tt.want >= 0 && got != tt.want || tt.want < 0 && got == 0 {
				t.Errorf("%d matches of %s in the page; want %d (-1: at least one)", got, tt.re, tt.want)
			}
		})
	}
	csp := `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`
	if !strings.Contains(out, csp) {
		t.Errorf("the page lacks the Content-Security-Policy %s", csp)
	}
	if strings.Contains(strings.ToLower(out), "script-src") {
		t.Errorf("the Content-Security-Policy names script-src; default-src 'none' must be what governs scripts")
	}
}

func TestHTMLContent(t *testing.T) {
	out := render(t, bigPage(t))
	for _, want := range []string{
		"<title>juicebatch apply customers-2025-02.csv</title>",
		"<dt>input</dt><dd>/input/customers-2025-02.csv</dd>",
		"stopped early: run again to resume",
		"<b>1,000,000</b><span>rows</span>",
		"<b>39,000</b><span>updated</span>",
		"<b>211,000</b><span>pending</span>",
		"exit code</dt><dd>4: stopped early (daily budget, signal); run again to resume",
		"about 211 days at 1,000 requests a day (211,000 rows pending",
		"90,000</td>",
		"not a valid number for NG",
		"row 17: line 18, field phone_number: &#34;0803 12&#34; is not a valid number for NG",
		"Warnings",
		"daily budget 1,000",
		"32 days no longer kept in the state",
		"Rows that were invalid, rejected or failed (150,000)",
		"The first 500 are listed; 149,500 more are in results.csv",
		"cus_0003000", // the 500th listed row
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(out, "cus_0003006") {
		t.Errorf("the page lists row 501 (cus_0003006); want only the first %d", MaxListedRows)
	}
	if n := strings.Count(out, `<rect class="wr"`); n != 8 {
		t.Errorf("the chart has %d write bars; want 8 (40 days, the first 32 not kept)", n)
	}
}

func TestDayRange(t *testing.T) {
	day := func(s string) time.Time {
		d, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name             string
		from, to         string
		n                int
		wantFirst, wantL string
	}{
		{"same day", "2025-03-01 23:59:00", "2025-03-01 00:00:00", 1, "2025-03-01", "2025-03-01"},
		{"month end", "2025-02-27 10:00:00", "2025-03-02 01:00:00", 4, "2025-02-27", "2025-03-02"},
		{"backwards", "2025-03-02 00:00:00", "2025-03-01 00:00:00", 0, "", ""},
		{"capped", "2024-01-01 00:00:00", "2025-01-01 00:00:00", MaxChartDays, "2024-10-02", "2025-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DayRange(day(tt.from), day(tt.to))
			if len(got) != tt.n || tt.n > 0 && (got[0] != tt.wantFirst || got[len(got)-1] != tt.wantL) {
				t.Errorf("DayRange(%s, %s) = %d days %v; want %d from %s to %s", tt.from, tt.to, len(got), got, tt.n, tt.wantFirst, tt.wantL)
			}
		})
	}
}

// TestHTMLMillionRowsSize: the page of a 1M-row run stays small because
// rows beyond MaxListedRows are counted, not listed.
func TestHTMLMillionRowsSize(t *testing.T) {
	out := render(t, bigPage(t))
	if len(out) >= 2<<20 {
		t.Errorf("the 1M-row page is %d bytes; want under 2 MB", len(out))
	}
	t.Logf("1M-row page: %d bytes", len(out))
}

// BenchmarkHTMLMillionRows times what report.html adds to the report pass
// of a 1M-row run: collecting its 150,000 problem rows (the first 500
// kept) and rendering the page.
func BenchmarkHTMLMillionRows(b *testing.B) {
	p := bigPage(b)
	rows := p.Problems.Rows
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		var l RowList
		for i := range 150000 {
			l.Add(rows[i%len(rows)])
		}
		p.Problems = l
		buf.Reset()
		if err := RenderHTML(&buf, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}

// TestHTMLGolden keeps a full page under testdata/golden for review (run
// with -update after a deliberate change and look at it in a browser).
func TestHTMLGolden(t *testing.T) {
	p := bigPage(t)
	p.Problems = RowList{}
	for i := 1; i <= 3; i++ {
		p.Problems.Add(Result{Row: i, ID: fmt.Sprintf("cus_%d", i), Outcome: "rejected", HTTPStatus: 422, Attempts: 1,
			Error: "422 validation_error email: must be a valid email address (request req_1)"})
	}
	p.Samples = []Change{{Row: 4, ID: "cus_4", Note: `billing_address is replaced whole: line2 sent as "" (cleared)`, Fields: []FieldChange{
		{Field: "email", New: "ada@example.com", Kind: ChangeChanged},
		{Field: "billing_address.line2", New: "", Kind: ChangeCleared},
	}}}
	got := []byte(render(t, p))
	golden := filepath.Join("testdata", "golden", "page", HTMLName)
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the page rendered now; run go test -run TestHTMLGolden -update and review the diff", golden)
	}
}

// TestCommitWritesThePage: Commit writes report.html beside the other
// files, from the summary alone or with what SetPage gave, and a failed
// Commit leaves no page and no temporary file behind.
func TestCommitWritesThePage(t *testing.T) {
	sum := summaryFor(CommandApply)
	sum.Outcomes = map[string]int{"updated": 2, "invalid": 1}
	sum.ExitCode = 3
	sum.Reasons = []Reason{{Outcome: "invalid", Field: "email", Problem: "not an email address", Count: 1, ExampleRow: 2, Example: "in:3: email: not an email address"}}
	tests := []struct {
		name    string
		page    *Page
		want    []string
		notWant []string
	}{
		{"summary alone", nil,
			[]string{"<b>3</b><span>rows</span>", "<b>2</b><span>updated</span>", "not an email address", "<title>juicebatch apply in</title>"},
			[]string{"Rows that were invalid"}},
		{"with SetPage", &Page{Title: "nightly sync", Problems: RowList{Rows: []Result{{Row: 2, ID: "cus_x", Outcome: "invalid", Error: "bad email"}}, Total: 1}},
			[]string{"<title>nightly sync</title>", "<b>2</b><span>updated</span>", `<td class="id">cus_x</td>`, "not an email address"},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Create(dir, CSV, []string{"id"})
			if err != nil {
				t.Fatal(err)
			}
			if tt.page != nil {
				w.SetPage(*tt.page)
			}
			if err := w.Commit(sum); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, HTMLName))
			if err != nil {
				t.Fatalf("Commit wrote no %s: %v", HTMLName, err)
			}
			for _, s := range tt.want {
				if !strings.Contains(string(b), s) {
					t.Errorf("%s lacks %q", HTMLName, s)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(string(b), s) {
					t.Errorf("%s shows %q", HTMLName, s)
				}
			}
		})
	}
	t.Run("failed commit", func(t *testing.T) {
		dir := t.TempDir()
		w, err := Create(dir, CSV, []string{"id"})
		if err != nil {
			t.Fatal(err)
		}
		bad := sum
		bad.Command = "push" // marshalSummary refuses it
		if err := w.Commit(bad); err == nil {
			t.Fatal("Commit of an unknown command succeeded")
		}
		if names := listDir(t, dir); len(names) != 0 {
			t.Errorf("after a failed Commit the directory holds %q; want nothing", names)
		}
	})
}
