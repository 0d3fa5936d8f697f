package batch_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/ratelimit"
	"github.com/juicebatch/juicebatch/report"
	"github.com/juicebatch/juicebatch/sandbox"
)

// liveEnv is a sandbox that knows a fixed set of customers (unknown ids are
// 404, as in production), on a fake clock that moves on whenever the run
// waits, behind a swappable handler so a test can change the server's
// customers without changing its URL (and so the state's scope).
type liveEnv struct {
	t     *testing.T
	dir   string
	clock *clockwork.FakeClock
	srv   *httptest.Server
	mu    sync.Mutex
	sb    *sandbox.Server
	seen  []string            // "METHOD path" of every request, in arrival order
	gate  func(*http.Request) // when set, sees every request before the sandbox
	logs  *syncBuffer
}

func newLiveEnv(t *testing.T, seeds []sandbox.Customer) *liveEnv {
	t.Helper()
	e := &liveEnv{t: t, dir: t.TempDir(), logs: &syncBuffer{},
		clock: clockwork.NewFakeClockAt(time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC))}
	e.swap(seeds)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		sb := e.sb
		e.seen = append(e.seen, r.Method+" "+r.URL.Path)
		gate := e.gate
		e.mu.Unlock()
		if gate != nil {
			gate(r)
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e.clock.BlockUntilContext(ctx, 1) == nil {
			e.clock.Advance(50 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// swap replaces the server's customers (a new sandbox behind the same URL).
func (e *liveEnv) swap(seeds []sandbox.Customer) {
	e.t.Helper()
	sb, err := sandbox.New(sandbox.Options{Keys: []string{testKey}, Customers: seeds, PerMinute: 100000, PerDay: 1000000,
		Clock: e.clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		e.t.Fatalf("sandbox.New: %v", err)
	}
	e.mu.Lock()
	e.sb = sb
	e.mu.Unlock()
}

func (e *liveEnv) server() *sandbox.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sb
}

// config is a run at 10 updates a second, reads at the documented default.
func (e *liveEnv) config(input string) batch.Config {
	return batch.Config{
		Input: input, BaseURL: e.srv.URL, Key: testKey,
		Rate: ratelimit.Rate{N: 10, Per: time.Second}, Concurrency: 2, MaxRetries: 3,
		RetryBase: time.Millisecond, Timeout: 5 * time.Second,
		StatePath: filepath.Join(e.dir, "state", "juicebatch.db"), ReportDir: filepath.Join(e.dir, "report"),
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Rand:   func() float64 { return 0.5 }, Clock: e.clock,
	}
}

func (e *liveEnv) file(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// edit changes a record behind the client's back (POST /_sandbox/edit).
func (e *liveEnv) edit(id, field, value string) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"id": id, "set": map[string]string{field: value}})
	resp, err := http.Post(e.srv.URL+"/_sandbox/edit", "application/json", strings.NewReader(string(body)))
	if err != nil {
		e.t.Fatalf("edit %s: %v", id, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("edit %s: status %d", id, resp.StatusCode)
	}
}

// counts is what the server saw since the last call: writes (PATCH answers)
// and reads.
type counts struct{ writes, reads, dups int }

func statsOf(sb *sandbox.Server) counts {
	st := sb.Stats()
	w := 0
	for _, n := range st.RequestsByStatus {
		w += n
	}
	return counts{writes: w, reads: st.Reads, dups: st.DuplicateApplications}
}

func readResults(t *testing.T, cfg batch.Config) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(cfg.ReportDir, report.ResultsName))
	if err != nil {
		t.Fatalf("open results: %v", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read results: %v", err)
	}
	return recs[1:]
}

// seedCustomers are n customers c-001...; each row of a file built by
// exportCSV from the same index either holds the seed's values or others.
func seedCustomers(n int) []sandbox.Customer {
	out := make([]sandbox.Customer, n)
	for i := range out {
		out[i] = sandbox.Customer{
			ID: fmt.Sprintf("c-%03d", i+1), FirstName: "Ada", LastName: "Obi",
			Email: fmt.Sprintf("seed-%03d@example.com", i+1), PhoneNumber: fmt.Sprintf("+23480312%05d", i+1),
			BillingAddress: &sandbox.Address{Line1: fmt.Sprintf("%d Marina", i+1), City: "Lagos", Country: "NG"},
		}
	}
	return out
}

// exportCSV is a warehouse export of rows customers: email, phone and the
// address (line2, state and zip_code left empty, so sent as "" and equal to
// the seeds' nulls). email(i) gives row i's email.
func exportCSV(rows int, email func(i int) string) string {
	var b strings.Builder
	b.WriteString("id,email,phone_number,billing_address.line1,billing_address.city,billing_address.country\n")
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(&b, "c-%03d,%s,+23480312%05d,%d Marina,Lagos,nigeria\n", i, email(i), i, i)
	}
	return b.String()
}

// TestFiveNights is issue 12's nightly story against the sandbox: every
// write and read counted exactly, no duplicate application, and the
// server's final records equal a clean run's.
func TestFiveNights(t *testing.T) {
	const customers, rows = 330, 300
	e := newLiveEnv(t, seedCustomers(customers))
	maxReads := (customers+99)/100 + 2
	seedEmail := func(i int) string { return fmt.Sprintf("seed-%03d@example.com", i) }
	// Night 1: half the customers (odd rows) already hold their values.
	night1 := func(i int) string {
		if i%2 == 1 {
			return seedEmail(i)
		}
		return fmt.Sprintf("warehouse-%03d@Example.COM", i)
	}
	// Night 3: five rows changed.
	night3 := func(i int) string {
		if i <= 5 {
			return fmt.Sprintf("changed-%03d@example.com", i)
		}
		return night1(i)
	}
	f1 := e.file("night1.csv", exportCSV(rows, night1))
	f3 := e.file("night3.csv", exportCSV(rows, night3))

	night := func(name, input string, mutate func(*batch.Config), wantWrites int, wantReads func(int) bool, wantUnchanged int) {
		t.Helper()
		before := statsOf(e.server())
		cfg := e.config(input)
		if mutate != nil {
			mutate(&cfg)
		}
		res, err := batch.Apply(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: Apply: %v\n%s", name, err, e.logs.String())
		}
		after := statsOf(e.server())
		writes, reads := after.writes-before.writes, after.reads-before.reads
		t.Logf("%s: %d writes, %d reads, outcomes %v, %d unchanged by reading", name, writes, reads, res.Summary.Outcomes, res.UnchangedByRead)
		if writes != wantWrites || !wantReads(reads) || after.dups != 0 {
			t.Errorf("%s: server saw %d writes, %d reads, %d duplicate applications; want %d writes, no duplicates", name, writes, reads, after.dups, wantWrites)
		}
		s := res.Summary
		if s.Requests != writes || s.Reads != reads {
			t.Errorf("%s: summary requests %d reads %d; the server saw %d and %d", name, s.Requests, s.Reads, writes, reads)
		}
		// The outcomes of the whole run: a resumed run's invocation counts
		// only what it decided itself, the run's totals every row.
		outcomes := s.Outcomes
		if s.RunTotals != nil {
			outcomes = s.RunTotals.Outcomes
		}
		if s.ExitCode != 0 || outcomes["updated"]+outcomes["unchanged"] != rows {
			t.Errorf("%s: exit %d run outcomes %v; want 0 and every row updated or unchanged", name, s.ExitCode, outcomes)
		}
		if wantUnchanged >= 0 && res.UnchangedByRead != wantUnchanged {
			t.Errorf("%s: %d rows unchanged by reading; want %d", name, res.UnchangedByRead, wantUnchanged)
		}
	}
	exactly := func(n int) func(int) bool { return func(got int) bool { return got == n } }
	atMost := func(n int) func(int) bool { return func(got int) bool { return got >= 1 && got <= n } }

	night("night 1 (empty state, half already hold their values)", f1, nil, rows/2, atMost(maxReads), rows/2)
	night("night 2 (same file)", f1, nil, 0, exactly(0), -1)
	night("night 3 (five rows changed)", f3, nil, 5, exactly(0), 0)
	if err := os.RemoveAll(filepath.Join(e.dir, "state")); err != nil {
		t.Fatal(err)
	}
	night("night 4 (state lost)", f3, nil, 0, atMost(maxReads), rows)
	for i := 10; i < 15; i++ {
		e.edit(fmt.Sprintf("c-%03d", i), "email", fmt.Sprintf("app-edit-%03d@example.com", i))
	}
	night("night 5 (five records edited, auto)", f3, nil, 0, exactly(0), -1)
	night("night 5 (five records edited, --refresh all)", f3, func(c *batch.Config) { c.Refresh = batch.RefreshAll }, 5, atMost(maxReads), rows-5)

	// The server now holds what a clean run of night 3's file leaves.
	sb := e.server()
	for i, seed := range seedCustomers(customers) {
		got, ok := sb.Customer(seed.ID)
		want := seed
		if i < rows {
			want.Email = strings.Replace(night3(i+1), "Example.COM", "example.com", 1)
		}
		if !ok || got.Email != want.Email || got.PhoneNumber != want.PhoneNumber || *got.BillingAddress != *want.BillingAddress {
			t.Errorf("customer %s = %+v (found %v); want %+v", seed.ID, got, ok, want)
		}
	}
}

// TestRememberedRejections: unknown ids cost their writes once; the next
// night sends nothing for them, --retry-rejected sends them, and with reads
// a remembered 404 is checked and sent once the customer exists.
func TestRememberedRejections(t *testing.T) {
	seeds := seedCustomers(5)
	e := newLiveEnv(t, seeds)
	csvText := exportCSV(5, func(i int) string { return fmt.Sprintf("new-%03d@example.com", i) }) +
		"x-1,x1@example.com,,,,\nx-2,x2@example.com,,,,\nx-3,x3@example.com,,,,\n"
	in := e.file("in.csv", csvText)

	run := func(name string, mutate func(*batch.Config)) (counts, [][]string) {
		t.Helper()
		before := statsOf(e.server())
		cfg := e.config(in)
		cfg.Refresh = batch.RefreshNone
		cfg.NewRun = true // the same file again, decided afresh
		if mutate != nil {
			mutate(&cfg)
		}
		if _, err := batch.Apply(context.Background(), cfg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		after := statsOf(e.server())
		return counts{writes: after.writes - before.writes, reads: after.reads - before.reads}, readResults(t, cfg)
	}
	unknown := func(rows [][]string) [][]string { return rows[5:] }

	c, rows := run("night 1", func(c *batch.Config) { c.NewRun = false })
	if c.writes != 8 {
		t.Fatalf("night 1: %d writes; want 8 (5 updates, 3 unknown ids)", c.writes)
	}
	for _, r := range unknown(rows) {
		if r[2] != "rejected" || r[3] != "404" {
			t.Errorf("night 1: row %v; want rejected 404", r)
		}
	}

	c, rows = run("night 2", nil)
	if c.writes != 0 || c.reads != 0 {
		t.Errorf("night 2: %d writes, %d reads; want none (updates unchanged, rejections remembered)", c.writes, c.reads)
	}
	for _, r := range unknown(rows) {
		if r[2] != "rejected" || r[3] != "404" || !strings.Contains(r[6], "rejected earlier (run ") || !strings.Contains(r[6], "not re-sent") {
			t.Errorf("night 2: row %v; want rejected 404, \"rejected earlier (run R, DATE); not re-sent\"", r)
		}
	}

	c, _ = run("--retry-rejected", func(c *batch.Config) { c.RetryRejected, c.Refresh = true, batch.RefreshAuto })
	if c.writes != 3 || c.reads != 0 {
		t.Errorf("--retry-rejected: %d writes, %d reads; want the 3 rejected rows sent again, unread", c.writes, c.reads)
	}

	// x-1 now exists: with reads, its remembered 404 is checked and the
	// update sent; x-2 and x-3 are read, still missing, and not written.
	e.swap(append(seedCustomers(5), sandbox.Customer{ID: "x-1", FirstName: "X", Email: "old-x1@example.com"}))
	c, rows = run("--refresh auto after x-1 appeared", func(c *batch.Config) { c.Refresh = batch.RefreshAuto })
	if c.writes != 1 || c.reads != 3 {
		// The 5 known rows are unchanged by the state's memory (auto reads
		// only what the state has no applied record of): x-1 is the one
		// write, after the three remembered 404s were read.
		t.Errorf("after x-1 appeared: %d writes, %d reads; want 1 write (x-1) and 3 reads (the remembered 404s)", c.writes, c.reads)
	}
	got := outcomes(unknown(rows))
	if want := "updated,rejected,rejected"; strings.Join(got, ",") != want {
		t.Errorf("after x-1 appeared: unknown ids %v; want %s", got, want)
	}
	for _, r := range unknown(rows)[1:] {
		// The read confirmed the remembered 404: the row still names the
		// run that first met it.
		if !strings.Contains(r[6], "rejected earlier (run ") || !strings.Contains(r[6], "still not found by a read") {
			t.Errorf("after x-1 appeared: row %v; want \"rejected earlier (run R, DATE) and still not found by a read\"", r)
		}
	}
	if cu, _ := e.server().Customer("x-1"); cu.Email != "x1@example.com" {
		t.Errorf("x-1 email %q; want the file's", cu.Email)
	}
}

// TestReadNotFoundRejectsWithoutAWrite: on an empty state auto reads every
// customer; one the server does not know is rejected (404) unsent.
func TestReadNotFoundRejectsWithoutAWrite(t *testing.T) {
	e := newLiveEnv(t, seedCustomers(3))
	in := e.file("in.csv", exportCSV(3, func(i int) string { return fmt.Sprintf("n-%d@example.com", i) })+"zz-9,z@example.com,,,,\n")
	cfg := e.config(in)
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := statsOf(e.server())
	if c.writes != 3 || c.reads != 4 {
		t.Errorf("%d writes, %d reads; want 3 writes (the known customers) and 4 single reads", c.writes, c.reads)
	}
	rows := readResults(t, cfg)
	if r := rows[3]; r[2] != "rejected" || r[3] != "404" || (r[4] != "" && r[4] != "0") || !strings.Contains(r[6], "not found") {
		t.Errorf("unknown customer row %v; want rejected 404 with no attempt", r)
	}
	if res.Summary.Reads != 4 || res.Summary.Requests != 3 {
		t.Errorf("summary reads %d requests %d; want 4 and 3", res.Summary.Reads, res.Summary.Requests)
	}
}

// TestVerify: after an apply every row matches; after five edits exactly
// those five differ and name the field, live → intended; nothing written,
// the state untouched.
func TestVerify(t *testing.T) {
	e := newLiveEnv(t, seedCustomers(20))
	in := e.file("in.csv", exportCSV(20, func(i int) string { return fmt.Sprintf("v-%03d@example.com", i) })+"bad,not-an-email,,,,\n")
	cfg := e.config(in)
	if _, err := batch.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	statePath := cfg.StatePath
	stateBefore, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(name string) (*batch.Result, [][]string, counts) {
		t.Helper()
		before := statsOf(e.server())
		vcfg := e.config(in)
		vcfg.ReportDir = filepath.Join(e.dir, "verify-"+name)
		res, err := batch.Verify(context.Background(), vcfg)
		if err != nil {
			t.Fatalf("%s: Verify: %v", name, err)
		}
		after := statsOf(e.server())
		return res, readResults(t, vcfg), counts{writes: after.writes - before.writes, reads: after.reads - before.reads}
	}
	res, rows, c := verify("clean")
	if c.writes != 0 || c.reads == 0 {
		t.Errorf("clean: %d writes, %d reads; want no write", c.writes, c.reads)
	}
	if got := res.Summary.Outcomes; got["match"] != 20 || got["invalid"] != 1 || res.Summary.ExitCode != 0 {
		t.Errorf("clean: outcomes %v exit %d; want 20 match, 1 invalid, exit 0", got, res.Summary.ExitCode)
	}
	for i := 3; i < 8; i++ {
		e.edit(fmt.Sprintf("c-%03d", i), "email", fmt.Sprintf("drift-%03d@example.com", i))
	}
	res, rows, c = verify("drift")
	if c.writes != 0 || res.Summary.ExitCode != 3 || res.Summary.Outcomes["differs"] != 5 || res.Summary.Outcomes["match"] != 15 {
		t.Errorf("drift: %d writes, outcomes %v, exit %d; want 0 writes, 5 differs, 15 match, exit 3", c.writes, res.Summary.Outcomes, res.Summary.ExitCode)
	}
	for i, r := range rows[:20] {
		n := i + 1
		if n >= 3 && n < 8 {
			want := fmt.Sprintf("email: drift-%03d@example.com → v-%03d@example.com", n, n)
			if r[2] != "differs" || r[6] != want {
				t.Errorf("row %d: %v; want differs with %q", n, r, want)
			}
		} else if r[2] != "match" {
			t.Errorf("row %d: %v; want match", n, r)
		}
	}
	// report.html lists the differing rows field by field, live and intended.
	page, err := os.ReadFile(filepath.Join(e.dir, "verify-drift", report.HTMLName))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Rows whose live record differs (5)", "3: some rows differ from the live record", "row 3 · id <span class=\"id\">c-003</span>",
		"drift-003@example.com", "v-007@example.com"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("verify's report.html lacks %q", want)
		}
	}
	stateAfter, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if string(stateAfter) != string(stateBefore) {
		t.Error("verify changed the state file")
	}
}

// TestPlanRefreshShowsLiveDiffs: plan --refresh names, for each sample, the
// fields that differ from the live record, and counts rows found unchanged
// by reading.
func TestPlanRefreshShowsLiveDiffs(t *testing.T) {
	e := newLiveEnv(t, seedCustomers(6))
	in := e.file("in.csv", exportCSV(6, func(i int) string {
		if i <= 2 {
			return fmt.Sprintf("p-%03d@example.com", i)
		}
		return fmt.Sprintf("seed-%03d@example.com", i)
	}))
	cfg := e.config(in)
	res, err := batch.Plan(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c := statsOf(e.server()); c.writes != 0 || c.reads == 0 {
		t.Errorf("plan: %d writes, %d reads; want reads only", c.writes, c.reads)
	}
	if got := res.Summary.Outcomes; got["would_update"] != 2 || got["unchanged"] != 4 || res.UnchangedByRead != 4 {
		t.Errorf("plan outcomes %v, %d unchanged by reading; want 2 would_update, 4 unchanged by reading", got, res.UnchangedByRead)
	}
	if len(res.Samples) != 2 {
		t.Fatalf("samples %+v; want 2", res.Samples)
	}
	for i, sm := range res.Samples {
		want := fmt.Sprintf("email: seed-%03d@example.com → p-%03d@example.com", i+1, i+1)
		if len(sm.Diffs) != 1 || sm.Diffs[0] != want {
			t.Errorf("sample %d diffs %q; want [%q]", i, sm.Diffs, want)
		}
	}
}

// TestWritesDoNotWaitForReads: rows the state decides go to the writers
// while reads for other rows are outstanding. The server holds every read
// until the five writes that need none have arrived: if those writes waited
// for reads, the run would stall, and the held read gives up after 20 s.
func TestWritesDoNotWaitForReads(t *testing.T) {
	e := newLiveEnv(t, seedCustomers(10))
	known := exportCSV(5, func(i int) string { return fmt.Sprintf("first-%03d@example.com", i) })
	cfg := e.config(e.file("first.csv", known))
	cfg.Refresh = batch.RefreshNone
	if _, err := batch.Apply(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	// Rows 1-5 changed (the state has them: no read); rows 6-10 are new to
	// the state (auto reads them), and come first in the file.
	var b strings.Builder
	lines := strings.Split(strings.TrimSpace(exportCSV(10, func(i int) string { return fmt.Sprintf("second-%03d@example.com", i) })), "\n")
	b.WriteString(lines[0] + "\n")
	for _, l := range append(lines[6:], lines[1:6]...) {
		b.WriteString(l + "\n")
	}
	cfg = e.config(e.file("second.csv", b.String()))
	writes := make(chan struct{})
	var once sync.Once
	var patches atomic.Int32
	var stalled atomic.Bool
	e.mu.Lock()
	e.gate = func(r *http.Request) {
		switch r.Method {
		case http.MethodPatch:
			if patches.Add(1) == 5 {
				once.Do(func() { close(writes) })
			}
		case http.MethodGet:
			select {
			case <-writes:
			case <-time.After(20 * time.Second): // a failure guard, not a synchronization
				stalled.Store(true)
			}
		}
	}
	e.mu.Unlock()
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if stalled.Load() {
		t.Error("a read was held 20 s waiting for writes that needed no read: writes waited for reads")
	}
	if res.Summary.Outcomes["updated"] != 10 || res.Summary.Reads != 5 {
		t.Errorf("outcomes %v, %d reads; want 10 updated after 5 reads", res.Summary.Outcomes, res.Summary.Reads)
	}
}

// TestListingReadsNoPageItNeedsNot: rows whose customers are all on the
// listing's first page cost one read, however many workers wait for that
// page at once (a worker that waited for another's page looks again before
// reading the next).
func TestListingReadsNoPageItNeedsNot(t *testing.T) {
	e := newLiveEnv(t, seedCustomers(1000))
	cfg := e.config(e.file("in.csv", exportCSV(60, func(i int) string { return fmt.Sprintf("new-%03d@example.com", i) })))
	cfg.Concurrency = 8
	cfg.Rate = ratelimit.Rate{N: 1000, Per: time.Second}
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := statsOf(e.server()); got.reads != 1 || got.writes != 60 || res.Summary.Outcomes["updated"] != 60 {
		t.Errorf("60 rows on the first page of 1000 customers: %d reads, %d writes, %d updated; want 1 read, 60 writes, 60 updated (log:\n%s)",
			got.reads, got.writes, res.Summary.Outcomes["updated"], grepLines(e.logs.String(), "list"))
	}
}

// grepLines is the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestRunTotalsCountReads: a run the daily budget cut off, resumed the next
// day, reports each invocation's reads as its own and their sum in
// run_totals, as the server counted them.
func TestRunTotalsCountReads(t *testing.T) {
	e := newLiveEnv(t, seedCustomers(6))
	cfg := e.config(e.file("in.csv", exportCSV(6, func(i int) string { return fmt.Sprintf("new-%03d@example.com", i) })))
	cfg.Refresh = batch.RefreshAuto
	cfg.DailyBudget = 3
	first, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if first.Summary.Outcomes["pending"] == 0 || first.Summary.Reads == 0 {
		t.Fatalf("first invocation: %v, %d reads; want rows pending after some reads", first.Summary.Outcomes, first.Summary.Reads)
	}
	e.clock.Advance(24 * time.Hour) // the next UTC day: a new budget
	second, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tot := second.Summary.RunTotals
	if tot == nil {
		t.Fatal("second invocation has no run_totals; want the resumed run's")
	}
	if srv := statsOf(e.server()).reads; tot.Reads != first.Summary.Reads+second.Summary.Reads || tot.Reads != srv {
		t.Errorf("run_totals.reads = %d; want %d + %d, and the server's %d", tot.Reads, first.Summary.Reads, second.Summary.Reads, srv)
	}
}
