package batch_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/ratelimit"
	"github.com/juicebatch/juicebatch/report"
	"github.com/juicebatch/juicebatch/sandbox"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// messyCSV is a CRM-style export: a BOM, CRLF, a quoted comma, doubled
// quotes, an embedded newline (in a column no field maps to), stray spaces,
// national phones, a repeated id, an invalid row, a #N/A clear.
const messyCSV = "\ufeffRecord ID,First Name,Last Name, E-mail ,Phone,Street,Street 2,City,Region,Zip,Country,Notes\r\n" +
	"c-1, Ada ,Okafor,Ada.Okafor@Example.COM,0803 123 4567,\"12 \"\"Marina\"\" Road, Apt 3\",#N/A,Lagos,Lagos,101001,Nigeria,\"VIP\r\nsince 2019\"\r\n" +
	"c-2,Grace,O'Hara,grace@example.org,(415) 555-2671,,,,,,,\r\n" +
	"c-3,Bob,Smith,bob@,,,,,,,,\r\n" +
	"c-1,,,,+234 809 555 1234,,,,,,,\r\n" +
	"c-4,,,,,,,,,,,nothing to update\r\n"

func messyMapping(t *testing.T) input.Mapping {
	t.Helper()
	var m input.Mapping
	for _, c := range []string{"Record ID=id", "First Name=first_name", "Last Name=last_name", "E-mail=email",
		"Phone=phone_number", "Street=billing_address.line1", "Street 2=billing_address.line2", "City=billing_address.city",
		"Region=billing_address.state", "Zip=billing_address.zip_code", "Country=billing_address.country"} {
		if err := m.AddColumn(c); err != nil {
			t.Fatalf("AddColumn(%q): %v", c, err)
		}
	}
	return m
}

func TestApplyCSVEndToEnd(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cfg := h.config(h.file("export.csv", messyCSV))
	cfg.Mapping = messyMapping(t)
	cfg.PhoneRegion = "US"
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v\nlogs:\n%s", err, h.logs)
	}
	if got := batch.ExitCode(res, err); got != batch.ExitRowsBad {
		t.Errorf("exit code = %d; want %d (one invalid row, one with nothing to update)", got, batch.ExitRowsBad)
	}
	rows := h.results(cfg)
	want := []string{"updated", "updated", "invalid", "updated", "invalid"}
	if got := outcomes(rows); !slices.Equal(got, want) {
		t.Fatalf("outcomes = %v; want %v\nrows: %q", got, want, rows)
	}
	// The repeated id went as one request, at its last row, and both rows
	// carry that request's key.
	if rows[0][5] == "" || rows[0][5] != rows[3][5] {
		t.Errorf("keys of merged rows 1 and 4 = %q, %q; want the same non-empty key", rows[0][5], rows[3][5])
	}
	var paths []string
	for _, s := range h.seen() {
		paths = append(paths, s.Method+" "+s.Path)
	}
	if want := []string{"PATCH /customers/c-2", "PATCH /customers/c-1"}; !sameSet(paths, want) {
		t.Errorf("server saw %v; want %v (one request per customer, none for invalid rows)", paths, want)
	}
	c1, _ := h.sb.Customer("c-1")
	if c1.FirstName != "Ada" || c1.Email != "Ada.Okafor@example.com" || c1.PhoneNumber != "+2348095551234" {
		t.Errorf("c-1 = %+v; want trimmed name, lower-cased domain, the later row's phone", c1)
	}
	if a := c1.BillingAddress; a == nil || *a != (sandbox.Address{Line1: `12 "Marina" Road, Apt 3`, Line2: "", City: "Lagos", State: "Lagos", ZipCode: "101001", Country: "NG"}) {
		t.Errorf("c-1 address = %+v; want the whole address with country NG and line2 cleared", a)
	}
	c2, _ := h.sb.Customer("c-2")
	if c2.LastName != "O'Hara" || c2.PhoneNumber != "+14155552671" {
		t.Errorf("c-2 = %+v; want O'Hara and +14155552671 (read with --phone-region US)", c2)
	}
	if st := h.sb.Stats(); st.DuplicateApplications != 0 || st.RateLimited != 0 {
		t.Errorf("sandbox stats %+v; want no duplicates and no 429", st)
	}
	checkGolden(t, "apply-csv", cfg, map[string]string{"failed.csv": report.FailedCSVName})
}

func TestApplyNDJSON(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	in := `{"id":"n-1","email":"A@B.CO","billing_address":{"line1":"1 Road","city":"Leeds","country":"gb","line2":null}}
{"id":"n-2","first_name":null,"last_name":"","phone_number":"+44 20 7946 0958"}

{"id":"n-3","phone_number":2348012345678}
{"id":"n-4","billing_address.line1":"5 Lane","billing_address.city":"Abuja","billing_address.country":"NG"}
`
	cfg := h.config(h.file("in.ndjson", in))
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	rows := h.results(cfg)
	if got, want := outcomes(rows), []string{"updated", "updated", "invalid", "updated"}; !slices.Equal(got, want) {
		t.Fatalf("outcomes = %v; want %v", got, want)
	}
	// row is the NDJSON line number: the blank line 3 is counted.
	if rows[2][0] != "4" || !strings.Contains(rows[2][6], ":4: phone_number: must be a string, got number") {
		t.Errorf("invalid row = %q; want line 4 naming phone_number and the type", rows[2])
	}
	n1, _ := h.sb.Customer("n-1")
	if n1.Email != "A@b.co" || n1.BillingAddress == nil || n1.BillingAddress.Country != "GB" || n1.BillingAddress.Line2 != "" {
		t.Errorf("n-1 = %+v", n1)
	}
	n2, _ := h.sb.Customer("n-2")
	if n2.LastName != "" || n2.PhoneNumber != "+442079460958" {
		t.Errorf("n-2 = %+v; want last name cleared, phone in E.164", n2)
	}
	if res.Summary.ExitCode != batch.ExitRowsBad {
		t.Errorf("exit = %d; want 3", res.Summary.ExitCode)
	}
	failed, err := os.ReadFile(filepath.Join(cfg.ReportDir, report.FailedNDJSONName))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":"n-3","phone_number":2348012345678,"juicebatch_error":`; !bytes.HasPrefix(failed, []byte(want)) {
		t.Errorf("failed.ndjson = %s; want the original object with juicebatch_error", failed)
	}
}

func TestStdinSameIDGoesInFileOrder(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	in := `{"id":"s-1","email":"one@example.com"}
{"id":"s-2","email":"two@example.com"}
{"id":"s-1","email":"three@example.com"}
{"id":"s-1","email":"three@example.com"}
`
	cfg := h.config("-")
	cfg.Stdin = strings.NewReader(in)
	cfg.Concurrency = 4
	if _, err := batch.Apply(context.Background(), cfg); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	rows := h.results(cfg)
	// The fourth row equals what the third applied: unchanged, not sent.
	if got, want := outcomes(rows), []string{"updated", "updated", "updated", "unchanged"}; !slices.Equal(got, want) {
		t.Fatalf("outcomes = %v; want %v", got, want)
	}
	if rows[0][5] == rows[2][5] {
		t.Errorf("rows 1 and 3 (different bodies for s-1) share key %s", rows[0][5])
	}
	var s1 []string
	for _, s := range h.seen() {
		if s.Path == "/customers/s-1" {
			s1 = append(s1, s.Key)
		}
	}
	if want := []string{rows[0][5], rows[2][5]}; !slices.Equal(s1, want) {
		t.Errorf("keys sent for s-1 in order %v; want %v (file order)", s1, want)
	}
	if c, _ := h.sb.Customer("s-1"); c.Email != "three@example.com" {
		t.Errorf("s-1 email = %q; want the later row's", c.Email)
	}
	if _, err := os.Stat(filepath.Join(cfg.ReportDir, report.FailedNDJSONName)); err != nil {
		t.Errorf("failed.ndjson for stdin input: %v", err)
	}
}

func TestPaceGetsNo429AtTheServersLimit(t *testing.T) {
	h := newHarness(t, harnessOpts{fake: true, sandbox: sandbox.Options{PerMinute: 10}})
	var b strings.Builder
	b.WriteString("id,email\n")
	for i := range 25 {
		fmt.Fprintf(&b, "p-%d,p%d@example.com\n", i, i)
	}
	cfg := h.config(h.file("in.csv", b.String()))
	cfg.Rate = ratelimit.Rate{N: 10, Per: time.Minute}
	cfg.Concurrency = 3
	start := h.clock.Now()
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Summary.Outcomes["updated"] != 25 || res.Summary.RateLimited != 0 || h.sb.Stats().RateLimited != 0 {
		t.Errorf("updated %d, client saw %d 429s, server sent %d; want 25, 0, 0",
			res.Summary.Outcomes["updated"], res.Summary.RateLimited, h.sb.Stats().RateLimited)
	}
	// 25 requests at 10 a minute need at least two full minutes.
	if took := h.clock.Since(start); took < 2*time.Minute {
		t.Errorf("25 requests at 10/min took %v of (fake) time; want ≥ 2m", took)
	}
}

func Test429HonoursRetryAfterWithoutSpendingRetries(t *testing.T) {
	// A server that sends no X-RateLimit-* word (only Retry-After on its
	// 429s), so that the pacer cannot avoid the 429s this test is about.
	var h *harness
	silent := func(w http.ResponseWriter, r *http.Request, _ int) bool {
		rec := httptest.NewRecorder()
		h.sb.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			if !strings.HasPrefix(http.CanonicalHeaderKey(k), "X-Ratelimit-") {
				w.Header()[k] = v
			}
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return true
	}
	h = newHarness(t, harnessOpts{fake: true, sandbox: sandbox.Options{PerMinute: 3}, wrap: silent})
	var b strings.Builder
	b.WriteString("id,email\n")
	for i := range 7 {
		fmt.Fprintf(&b, "r-%d,r%d@example.com\n", i, i)
	}
	cfg := h.config(h.file("in.csv", b.String()))
	cfg.Rate = ratelimit.Rate{N: 10, Per: time.Second} // far faster than the server allows
	cfg.MaxRetries = 0                                 // a 429 must not need one
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Summary.Outcomes["updated"] != 7 {
		t.Fatalf("outcomes %v; want all 7 updated", res.Summary.Outcomes)
	}
	if res.Summary.RateLimited == 0 || res.Summary.RateLimited != h.sb.Stats().RateLimited {
		t.Errorf("rate_limited = %d, server 429s = %d; want equal and > 0", res.Summary.RateLimited, h.sb.Stats().RateLimited)
	}
	// After the first 429 the pacer holds everyone for Retry-After, so the
	// server answers few of them.
	if res.Summary.RateLimited > 4 {
		t.Errorf("%d 429s; want the pause after the first to prevent most", res.Summary.RateLimited)
	}
}

func Test503ThenSuccessKeepsTheKey(t *testing.T) {
	failed := map[string]bool{}
	h := newHarness(t, harnessOpts{wrap: func(w http.ResponseWriter, r *http.Request, n int) bool {
		if !failed[r.URL.Path] {
			failed[r.URL.Path] = true
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"code":"unavailable","message":"try later"}}`)
			return true
		}
		return false
	}})
	cfg := h.config(h.file("in.csv", "id,email\nf-1,a@example.com\nf-2,b@example.com\n"))
	cfg.Concurrency = 1
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	rows := h.results(cfg)
	for _, r := range rows {
		if r[2] != "updated" || r[4] != "2" {
			t.Errorf("row %v; want updated after 2 attempts", r)
		}
	}
	keys := map[string][]string{}
	for _, s := range h.seen() {
		keys[s.Path] = append(keys[s.Path], s.Key)
	}
	for path, ks := range keys {
		if len(ks) != 2 || ks[0] != ks[1] {
			t.Errorf("%s sent with keys %v; want the same key twice", path, ks)
		}
	}
	// The budget counts every request sent, retries included.
	if res.Summary.Requests != 4 || res.Summary.Retries != 2 || res.Summary.Budget.Used != 4 {
		t.Errorf("requests %d, retries %d, budget used %d; want 4, 2, 4", res.Summary.Requests, res.Summary.Retries, res.Summary.Budget.Used)
	}
}

func TestDroppedConnectionIsRetriedAndReplayed(t *testing.T) {
	h := newHarness(t, harnessOpts{sandbox: sandbox.Options{DropAfterApply: 1, Seed: 7}})
	cfg := h.config(h.file("in.csv", "id,email\nd-1,a@example.com\nd-2,b@example.com\nd-3,c@example.com\n"))
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	st := h.sb.Stats()
	if res.Summary.Outcomes["updated"] != 3 || st.AppliedUpdates != 3 || st.DuplicateApplications != 0 || st.Replays != 3 {
		t.Errorf("outcomes %v, sandbox %+v; want 3 updated, 3 applied once each, 3 replays", res.Summary.Outcomes, st)
	}
	// Every request that left was one the run decided to send and counted:
	// the transport never re-sends on its own.
	if got := len(h.seen()); got != res.Summary.Requests || got != 6 {
		t.Errorf("server saw %d requests, summary says %d; want 6 and equal", got, res.Summary.Requests)
	}
}

func TestRejectedRowNamesFieldAndRequestID(t *testing.T) {
	h := newHarness(t, harnessOpts{sandbox: sandbox.Options{Customers: []sandbox.Customer{
		{ID: "x-1", Email: "taken@example.com"}, {ID: "x-2", Email: "free@example.com"},
	}}})
	cfg := h.config(h.file("in.csv", "id,email\nx-2,taken@example.com\n"))
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	rows := h.results(cfg)
	if rows[0][2] != "rejected" || rows[0][3] != "422" || !strings.Contains(rows[0][6], "email") ||
		!regexp.MustCompile(`\(request req_[0-9a-f]+\)`).MatchString(rows[0][6]) {
		t.Errorf("row = %q; want rejected 422 naming email and the request id", rows[0])
	}
	if res.Summary.ExitCode != batch.ExitRowsBad || res.Summary.Requests != 1 {
		t.Errorf("exit %d after %d requests; want 3 after 1 (422 is final)", res.Summary.ExitCode, res.Summary.Requests)
	}
}

func TestWrongKeyStopsAfterOneRequest(t *testing.T) {
	h := newHarness(t, harnessOpts{sandbox: sandbox.Options{Keys: []string{"test_other"}}})
	var b strings.Builder
	b.WriteString("id,email\n")
	for i := range 20 {
		fmt.Fprintf(&b, "k-%d,k%d@example.com\n", i, i)
	}
	cfg := h.config(h.file("in.csv", b.String()))
	cfg.Concurrency = 4
	res, err := batch.Apply(context.Background(), cfg)
	var authErr *batch.AuthError
	if !errors.As(err, &authErr) || authErr.Status != http.StatusUnauthorized {
		t.Fatalf("Apply error = %v; want an *AuthError 401", err)
	}
	if got := batch.ExitCode(res, err); got != batch.ExitFatal {
		t.Errorf("exit = %d; want 1", got)
	}
	if n := len(h.seen()); n != 1 {
		t.Errorf("server saw %d requests; want exactly 1 (a wrong key must not burn the day)", n)
	}
	if res == nil || res.Summary.Outcomes["pending"] != 20 || res.Summary.ExitCode != batch.ExitFatal {
		t.Errorf("report %+v; want 20 pending rows and exit 1 in summary.json", res)
	}
	if strings.Contains(h.logs.String(), testKey) || strings.Contains(err.Error(), testKey) {
		t.Errorf("the key leaked into logs or the error")
	}
}

func TestBudgetStopsThenNextRunContinues(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	in := h.file("in.csv", "id,email\nb-1,a@example.com\nb-2,b@example.com\nb-3,c@example.com\nb-4,d@example.com\n")
	cfg := h.config(in)
	cfg.DailyBudget = 2
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Summary.ExitCode != batch.ExitStopped || res.Summary.Outcomes["updated"] != 2 || res.Summary.Outcomes["pending"] != 2 {
		t.Fatalf("first run: exit %d outcomes %v; want 4 with 2 updated, 2 pending", res.Summary.ExitCode, res.Summary.Outcomes)
	}
	if res.Summary.Budget.Used != 2 || res.Summary.Budget.Left != 0 {
		t.Errorf("budget %+v; want 2 used, 0 left", res.Summary.Budget)
	}
	// The same day, the same budget: nothing left, nothing sent.
	res, err = batch.Apply(context.Background(), cfg)
	if err != nil || res.Summary.ExitCode != batch.ExitStopped || len(h.seen()) != 2 {
		t.Fatalf("second run: err %v exit %v, server saw %d requests; want exit 4 and still 2", err, res.Summary.ExitCode, len(h.seen()))
	}
	// A bigger budget: the run resumes; the first two rows are carried over.
	// Its figures are its own: the 2 rows it updated; the run's totals
	// count all 4.
	cfg.DailyBudget = 10
	res, err = batch.Apply(context.Background(), cfg)
	if err != nil || res.Summary.ExitCode != batch.ExitOK || res.Summary.Outcomes["updated"] != 2 || !res.Resumed {
		t.Fatalf("third run: err %v, %+v; want a resumed run with 2 updated now, exit 0", err, res)
	}
	if tot := res.Summary.RunTotals; tot == nil || tot.Outcomes["updated"] != 4 || tot.Requests != 4 || res.Summary.Requests != 2 {
		t.Errorf("third run: requests %d, run totals %+v; want 2 now and 4 requests, 4 updated in the run", res.Summary.Requests, tot)
	}
	if n := len(h.seen()); n != 4 {
		t.Errorf("server saw %d requests over three runs; want 4", n)
	}
}

func TestWaitSleepsUntilTheNextUTCDay(t *testing.T) {
	h := newHarness(t, harnessOpts{fake: true})
	h.clock.Advance(14*time.Hour + 59*time.Minute) // 23:59 UTC
	cfg := h.config(h.file("in.csv", "id,email\nw-1,a@example.com\nw-2,b@example.com\nw-3,c@example.com\n"))
	cfg.DailyBudget = 1
	cfg.Wait = true
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Summary.Outcomes["updated"] != 3 || res.Summary.ExitCode != batch.ExitOK {
		t.Fatalf("outcomes %v exit %d; want 3 updated, exit 0", res.Summary.Outcomes, res.Summary.ExitCode)
	}
	if want := "2026-11-29"; res.Summary.Budget.Day != want {
		t.Errorf("budget day %s; want %s (one request a day: 27th, 28th, 29th)", res.Summary.Budget.Day, want)
	}
}

func TestChangeDetectionAcrossRuns(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	first := h.file("day1.csv", "id,email,phone_number\nc-1,a@example.com,+2348031234567\nc-2,b@example.com,\n")
	cfg := h.config(first)
	if _, err := batch.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	// The next night's export: c-1 unchanged (only its email again), c-2 changed.
	cfg.Input = h.file("day2.csv", "id,email\nc-1,a@example.com\nc-2,new@example.com\n")
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := outcomes(h.results(cfg)), []string{"unchanged", "updated"}; !slices.Equal(got, want) || res.Summary.Requests != 1 {
		t.Errorf("day 2 outcomes %v after %d requests; want %v after 1", got, res.Summary.Requests, want)
	}
	cfg.Full = true
	cfg.NewRun = true
	res, err = batch.Apply(context.Background(), cfg)
	if err != nil || res.Summary.Requests != 2 {
		t.Errorf("--full sent %d requests (err %v); want 2", res.Summary.Requests, err)
	}
}

func TestSignalStopsFeedingAndReports(t *testing.T) {
	h := newHarness(t, harnessOpts{fake: true})
	var b strings.Builder
	b.WriteString("id,email\n")
	for i := range 10 {
		fmt.Fprintf(&b, "g-%d,g%d@example.com\n", i, i)
	}
	cfg := h.config(h.file("in.csv", b.String()))
	cfg.Rate = ratelimit.Rate{N: 1, Per: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the first request has been answered.
		for len(h.seen()) == 0 || h.sb.Stats().AppliedUpdates == 0 {
			h.clock.BlockUntilContext(context.Background(), 1)
		}
		cancel()
	}()
	res, err := batch.Apply(ctx, cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Summary.ExitCode != batch.ExitStopped || res.Stopped != "signal" {
		t.Errorf("exit %d stopped %q; want 4, signal", res.Summary.ExitCode, res.Stopped)
	}
	if o := res.Summary.Outcomes; o["updated"] < 1 || o["updated"]+o["pending"] != 10 {
		t.Errorf("outcomes %v; want ≥1 updated and the rest pending", o)
	}
}

func TestPlanSendsNothing(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	in := h.file("in.csv", "id,email,billing_address.line1,billing_address.city,billing_address.country\n"+
		"p-1,a@example.com,,,\np-2,b@example.com,1 Road,Leeds,UK\np-3,bad,,,\n")
	cfg := h.config(in)
	cfg.Key = "" // plan needs no key
	res, err := batch.Plan(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if len(h.seen()) != 0 {
		t.Fatalf("plan sent %d requests", len(h.seen()))
	}
	rows := h.results(cfg)
	if got, want := outcomes(rows), []string{"would_update", "would_update", "invalid"}; !slices.Equal(got, want) {
		t.Errorf("plan outcomes %v; want %v", got, want)
	}
	if want := `billing_address is replaced whole: billing_address.line2, billing_address.state, billing_address.zip_code sent as "" (cleared)`; rows[1][6] != want {
		t.Errorf("plan row 2 note %q; want %q", rows[1][6], want)
	}
	if rows[2][1] != "p-3" || !strings.Contains(rows[2][6], `in.csv:4: email: `) {
		t.Errorf("plan row 3 = %q; want id p-3 and the email error with its line", rows[2])
	}
	if p := res.Summary.Plan; p == nil || p.Requests != 2 || p.Days != 1 {
		t.Errorf("plan summary %+v; want 2 requests, 1 day", p)
	}
	if len(res.Samples) != 2 || !slices.Equal(res.Samples[1].ImpliedClears, []string{"billing_address.line2", "billing_address.state", "billing_address.zip_code"}) {
		t.Errorf("samples %+v; want 2, the second naming the address fields it clears", res.Samples)
	}
	// After an apply, plan sees the same file as unchanged.
	cfg.Key = testKey
	if _, err := batch.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Key = ""
	res, err = batch.Plan(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Outcomes["unchanged"] != 2 || res.Summary.Plan.Requests != 0 {
		t.Errorf("plan after apply: %v, %d requests; want 2 unchanged, 0 requests", res.Summary.Outcomes, res.Summary.Plan.Requests)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// checkGolden compares the report with testdata/golden/NAME, after masking
// what differs between runs (keys, times, run ids, temp paths).
func checkGolden(t *testing.T, name string, cfg batch.Config, extra map[string]string) {
	t.Helper()
	files := map[string]string{"results.csv": report.ResultsName, "summary.json": report.SummaryName}
	for k, v := range extra {
		files[k] = v
	}
	masks := []struct {
		re   *regexp.Regexp
		with string
	}{
		{regexp.MustCompile(`jb1-[0-9a-f]{32}`), "jb1-KEY"},
		{regexp.MustCompile(`"(started_at|finished_at)": "[^"]*"`), `"$1": "TIME"`},
		{regexp.MustCompile(`"run_id": "[^"]*"`), `"run_id": "RUN"`},
		{regexp.MustCompile(`"day": "[^"]*"`), `"day": "DAY"`},
		{regexp.MustCompile(`req_[0-9a-f]{24}`), "req_ID"},
		{regexp.MustCompile(regexp.QuoteMeta(filepath.Dir(cfg.Input)) + `/`), "DIR/"},
	}
	for golden, file := range files {
		got, err := os.ReadFile(filepath.Join(cfg.ReportDir, file))
		if err != nil {
			t.Fatalf("read %s: %v", file, err)
		}
		for _, m := range masks {
			got = m.re.ReplaceAll(got, []byte(m.with))
		}
		path := filepath.Join("testdata", "golden", name, golden)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read golden %s (run with -update to create): %v", path, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", file, path, got, want)
		}
	}
}

func TestRunIdentity(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	in := h.file("in.csv", "id,email\ni-1,a@example.com\ni-2,b@example.com\n")
	cfg := h.config(in)
	first, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if again.Summary.RunID != first.Summary.RunID || !again.Resumed {
		t.Errorf("same command on the same file: run %s (resumed %v); want %s resumed", again.Summary.RunID, again.Resumed, first.Summary.RunID)
	}
	// A changed file is a new run, and its rows are judged afresh.
	h.file("in.csv", "id,email\ni-1,a@example.com\ni-2,changed@example.com\n")
	changed, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Summary.RunID == first.Summary.RunID || changed.Resumed {
		t.Errorf("changed file resumed run %s; want a new run", changed.Summary.RunID)
	}
	if got, want := outcomes(h.results(cfg)), []string{"unchanged", "updated"}; !slices.Equal(got, want) {
		t.Errorf("changed file outcomes %v; want %v", got, want)
	}
	// An option that changes bodies is a new run too.
	cfg.EmptyClears = true
	opt, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if opt.Summary.RunID == changed.Summary.RunID {
		t.Errorf("--empty-clears resumed run %s; want a new run", opt.Summary.RunID)
	}
	// --new-run starts another generation of the same identity.
	cfg.NewRun = true
	fresh, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Summary.RunID != opt.Summary.RunID+".2" || fresh.Resumed {
		t.Errorf("--new-run gave run %s (resumed %v); want %s.2", fresh.Summary.RunID, fresh.Resumed, opt.Summary.RunID)
	}
}

func TestStaleInFlightKeyIsReusedAndCounted(t *testing.T) {
	release, arrived := make(chan struct{}), make(chan struct{})
	h := newHarness(t, harnessOpts{fake: true, wrap: func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n == 1 {
			close(arrived)
			<-release // the first request hangs until the run has given up on it
			return true
		}
		return false
	}})
	defer close(release)
	cfg := h.config(h.file("in.csv", "id,email\nz-1,a@example.com\n"))
	cfg.Grace = time.Second
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel() // like SIGTERM while the request is on the wire
	}()
	res, err := batch.Apply(ctx, cfg)
	if err != nil || res.Summary.Outcomes["pending"] != 1 {
		t.Fatalf("interrupted run: %v, %+v; want the row pending", err, res)
	}
	rows := h.results(cfg)
	key := rows[0][5]
	// Two days later the server has forgotten the key; the row is still
	// sent with it, and the run says so.
	h.clock.Advance(48 * time.Hour)
	res, err = batch.Apply(context.Background(), cfg)
	if err != nil || res.Summary.Outcomes["updated"] != 1 || res.StaleKeys != 1 {
		t.Fatalf("resumed run: %v, %+v; want updated and 1 stale key", err, res)
	}
	seen := h.seen()
	if got := seen[len(seen)-1].Key; got != key || key == "" {
		t.Errorf("resumed request key %q; want the original %q", got, key)
	}
	if !strings.Contains(h.logs.String(), "longer than the server keeps keys") {
		t.Errorf("no warning logged about the stale key")
	}
}
