package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/juicebatch/juicebatch/batch/api"
	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/ratelimit"
	"github.com/juicebatch/juicebatch/sandbox"
)

// The test binary doubles as the juicebatch binary: started with
// JUICEBATCH_TEST_AS_MAIN=1 it runs main with its arguments. So the tests
// below drive a real child process (real signals, real SIGKILL) without a
// separate build.
func TestMain(m *testing.M) {
	if os.Getenv("JUICEBATCH_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

const childKey = "test_child_key_SECRET"

// child starts the CLI as a child process.
func child(t *testing.T, stderr io.Writer, args ...string) *exec.Cmd {
	t.Helper()
	if len(args) > 0 && args[0] == "apply" {
		// The servers here create unknown customers on a write: these
		// runs test writes, without reads (see invoke).
		args = append([]string{args[0], "--refresh", "none"}, args[1:]...)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "JUICEBATCH_TEST_AS_MAIN=1", "JUICEBATCH_API_KEY="+childKey)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	return cmd
}

func exitCodeOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// crashInput has 40 customers, two of them on two rows each.
func crashInput(t *testing.T, dir string) (string, int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,first_name,email,phone_number\n")
	rows := 0
	for i := range 40 {
		fmt.Fprintf(&b, "k-%02d,Name%c,k%02d@example.com,+23480312345%02d\n", i, 'a'+rune(i%26), i, i)
		rows++
		if i == 7 || i == 23 {
			fmt.Fprintf(&b, "k-%02d,,k%02d.later@example.com,\n", i, i)
			rows++
		}
	}
	p := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, rows
}

// runFinished reports whether the newest run in the state at path is
// finished (its report written).
func runFinished(t *testing.T, path string) bool {
	t.Helper()
	store, err := checkpoint.Open(path, checkpoint.Options{ReadOnly: true})
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatalf("open the state after a kill: %v", err)
	}
	defer store.Close()
	runs, err := store.Runs()
	if err != nil {
		t.Fatalf("read the runs after a kill: %v", err)
	}
	return len(runs) > 0 && runs[0].Status == checkpoint.StatusFinished
}

// TestKilledAtRandomMomentsResumesExactly kills the real binary with
// SIGKILL at random moments, against a sandbox that fails requests and
// drops connections after applying, and checks that the end state is a
// clean run's, that no update was applied twice, and that the report
// accounts for every row once.
func TestKilledAtRandomMomentsResumesExactly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts many child processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 42))

	dir := t.TempDir()
	in, nrows := crashInput(t, dir)
	faulty, err := sandbox.New(sandbox.Options{
		Keys: []string{childKey}, CreateUnknown: true, PerMinute: 1 << 20, PerDay: 1 << 20,
		FailRate: 0.15, DropAfterApply: 0.15, Seed: int64(seed),
	})
	if err != nil {
		t.Fatal(err)
	}
	arrivals := make(chan struct{}, 1024)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrivals <- struct{}{}:
		default:
		}
		faulty.ServeHTTP(w, r)
	}))
	defer srv.Close()
	args := []string{"apply", "--base-url", srv.URL, "--state", filepath.Join(dir, "state.db"),
		"--report", filepath.Join(dir, "report"), "--rate", "100/s", "--concurrency", "3",
		"--max-retries", "50", "--no-progress", "--log-format", "json", in}

	kills, code := 0, -1
	var lastErr strings.Builder
	for attempt := 0; attempt < 40; attempt++ {
		lastErr.Reset()
		for len(arrivals) > 0 {
			<-arrivals
		}
		cmd := child(t, &lastErr, args...)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// A random moment while it sends: after 1 to 4 more requests reach
		// the server, and up to 30 ms later (before, during or after the
		// answer, the outcome's commit, the next intent).
		want := 1 + rng.IntN(4)
		var exited bool
		for n := 0; n < want && !exited; {
			select {
			case <-arrivals:
				n++
			case err := <-done:
				code, exited = exitCodeOf(err), true
			}
		}
		if exited {
			break
		}
		select {
		case <-time.After(time.Duration(rng.IntN(30)) * time.Millisecond):
			cmd.Process.Kill()
			<-done
			kills++
			if runFinished(t, filepath.Join(dir, "state.db")) {
				// Killed after its report was written and the run marked
				// finished (on a loaded machine the 30 ms can reach past
				// the last request): another invocation would decide the
				// finished run's rows again, all unchanged.
				code = exitOK
				break
			}
			continue
		case err := <-done:
			code = exitCodeOf(err)
		}
		break
	}
	if code == -1 {
		// Every attempt was killed: let the last one finish.
		cmd := child(t, &lastErr, args...)
		code = exitCodeOf(cmd.Wait())
	}
	before := faulty.Stats()
	t.Logf("%d kills before a run finished; sandbox after all runs: %+v", kills, before)
	if code != exitOK {
		t.Fatalf("final run exit %d; want 0\n%s", code, lastErr.String())
	}

	st := faulty.Stats()
	if st.DuplicateApplications != 0 {
		t.Errorf("duplicate_applications = %d; want 0 (stats %+v)", st.DuplicateApplications, st)
	}
	// Intent before effect: every request the server received was charged
	// to the day's budget in the state before it left. A kill after the
	// charge but before the send may charge up to one per worker more.
	received := 0
	for _, n := range st.RequestsByStatus {
		received += n
	}
	store, err := checkpoint.Open(filepath.Join(dir, "state.db"), checkpoint.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	used, err := store.QuotaUsed(api.Fingerprint(childKey), ratelimit.UTCDay(time.Now()))
	store.Close()
	if err != nil || used < received || used > received+3*kills {
		t.Errorf("state charged %d requests (err %v); the server received %d; want between %d and %d",
			used, err, received, received, received+3*kills)
	}

	// A clean run on a server without faults: the final records must match.
	clean, _ := sandbox.New(sandbox.Options{Keys: []string{childKey}, CreateUnknown: true, PerMinute: 1 << 20, PerDay: 1 << 20})
	cleanSrv := httptest.NewServer(clean)
	defer cleanSrv.Close()
	cleanDir := t.TempDir()
	cmd := child(t, io.Discard, "apply", "--base-url", cleanSrv.URL, "--state", filepath.Join(cleanDir, "state.db"),
		"--report", filepath.Join(cleanDir, "report"), "--rate", "100/s", "--no-progress", in)
	if c := exitCodeOf(cmd.Wait()); c != exitOK {
		t.Fatalf("clean run exit %d", c)
	}
	for i := range 40 {
		id := fmt.Sprintf("k-%02d", i)
		got, ok1 := faulty.Customer(id)
		want, ok2 := clean.Customer(id)
		if !ok1 || !ok2 || !equalCustomers(got, want) {
			t.Errorf("customer %s after kills = %+v; clean run = %+v", id, got, want)
		}
	}

	// The report: every row once, in order, all updated.
	f, err := os.Open(filepath.Join(dir, "report", "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs)-1 != nrows {
		t.Fatalf("results.csv has %d rows; want %d", len(recs)-1, nrows)
	}
	for i, rec := range recs[1:] {
		if rec[0] != strconv.Itoa(i+1) || rec[2] != "updated" {
			t.Errorf("results line %d = %q; want row %d updated", i+1, rec, i+1)
		}
	}
}

func equalCustomers(a, b sandbox.Customer) bool {
	if (a.BillingAddress == nil) != (b.BillingAddress == nil) {
		return false
	}
	if a.BillingAddress != nil && *a.BillingAddress != *b.BillingAddress {
		return false
	}
	a.BillingAddress, b.BillingAddress = nil, nil
	return a == b
}

// gatedServer lets the first `free` requests through to a sandbox and holds
// every later one until release is closed; arrived gets a value as each
// held request arrives.
type gatedServer struct {
	*httptest.Server
	sb      *sandbox.Server
	arrived chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGatedServer(t *testing.T, free int) *gatedServer {
	t.Helper()
	sb, err := sandbox.New(sandbox.Options{Keys: []string{childKey}, CreateUnknown: true, PerMinute: 1 << 20, PerDay: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedServer{sb: sb, arrived: make(chan struct{}, 100), release: make(chan struct{})}
	var mu sync.Mutex
	n := 0
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		held := n > free
		mu.Unlock()
		if held {
			g.arrived <- struct{}{}
			<-g.release
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { g.open(); g.Close() })
	return g
}

func (g *gatedServer) open() { g.once.Do(func() { close(g.release) }) }

func tenRows(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("id,email\n")
	for i := range 10 {
		fmt.Fprintf(&b, "s-%d,s%d@example.com\n", i, i)
	}
	p := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSIGTERMLetsInFlightFinishAndReports(t *testing.T) {
	dir := t.TempDir()
	g := newGatedServer(t, 1)
	cmd := child(t, io.Discard, "apply", "--base-url", g.URL, "--state", filepath.Join(dir, "state.db"),
		"--report", filepath.Join(dir, "report"), "--rate", "100/s", "--concurrency", "1", "--grace", "20s", "--no-progress", tenRows(t, dir))
	<-g.arrived // the second request is on the wire
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	g.open() // it finishes within the grace period
	if code := exitCodeOf(cmd.Wait()); code != exitStopped {
		t.Fatalf("exit %d; want %d", code, exitStopped)
	}
	recs := readResults(t, filepath.Join(dir, "report"))
	var got []string
	for _, r := range recs {
		got = append(got, r[2])
	}
	want := []string{"updated", "updated", "pending", "pending", "pending", "pending", "pending", "pending", "pending", "pending"}
	if !slices.Equal(got, want) {
		t.Errorf("outcomes %v; want %v", got, want)
	}
	// The run resumes where it stopped.
	cmd = child(t, io.Discard, "apply", "--base-url", g.URL, "--state", filepath.Join(dir, "state.db"),
		"--report", filepath.Join(dir, "report"), "--rate", "100/s", "--no-progress", filepath.Join(dir, "in.csv"))
	if code := exitCodeOf(cmd.Wait()); code != exitOK {
		t.Errorf("resumed run exit %d; want 0", code)
	}
	if st := g.sb.Stats(); st.AppliedUpdates != 10 || st.DuplicateApplications != 0 {
		t.Errorf("sandbox %+v; want 10 applied, no duplicates", st)
	}
}

func TestSecondSignalExitsAtOnce(t *testing.T) {
	dir := t.TempDir()
	g := newGatedServer(t, 0) // every request hangs
	pr, pw := io.Pipe()
	cmd := child(t, pw, "apply", "--base-url", g.URL, "--state", filepath.Join(dir, "state.db"),
		"--report", filepath.Join(dir, "report"), "--rate", "100/s", "--grace", "1h", "--no-progress", "--log-format", "json", tenRows(t, dir))
	<-g.arrived
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Wait until the child has taken the first signal (it logs so), then send
	// the second.
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "stopping: no new rows") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code := exitCodeOf(cmd.Wait())
	pw.Close()
	if code != exitStopped {
		t.Errorf("exit %d; want %d", code, exitStopped)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("second signal took %v to exit; want at once (grace was 1h)", took)
	}
	// Its intent was durable: the state shows the row in flight with its key.
	store, err := checkpoint.Open(filepath.Join(dir, "state.db"), checkpoint.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	runs, err := store.Runs()
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %v, %v", runs, err)
	}
	// With two workers and an unproven key, one request goes first: the
	// row it carries is in flight; no row is done.
	var inFlight []checkpoint.Row
	err = store.Rows(runs[0].ID, func(r checkpoint.Row) error {
		if r.Status == checkpoint.StatusInFlight && r.Key != "" {
			inFlight = append(inFlight, r)
		} else {
			t.Errorf("row %+v; want only in-flight rows", r)
		}
		return nil
	})
	if err != nil || len(inFlight) != 1 {
		t.Errorf("in-flight rows %+v (err %v); want exactly one, with its key", inFlight, err)
	}
}

func TestStateInUseAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	in := tenRows(t, dir)
	state := filepath.Join(dir, "juicebatch.db")
	held, err := checkpoint.Open(state, checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got := invoke(t, dir, map[string]string{"JUICEBATCH_API_KEY": childKey}, "apply", "--base-url", "http://127.0.0.1:1", in)
	held.Close()
	if got.code != exitFatal || !strings.Contains(got.stderr, "is in use by another juicebatch process") {
		t.Errorf("apply on a locked state = %d, %q; want 1 and 'in use'", got.code, got.stderr)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("locked state took %v to fail; want seconds", took)
	}
	if err := os.WriteFile(state, []byte("this is not a bbolt file, it is a CSV,,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got = invoke(t, dir, map[string]string{"JUICEBATCH_API_KEY": childKey}, "apply", "--base-url", "http://127.0.0.1:1", in)
	if got.code != exitFatal || !strings.Contains(got.stderr, "not a usable juicebatch state file") {
		t.Errorf("apply on a foreign file = %d, %q; want 1 and a clear message", got.code, got.stderr)
	}
}

func readResults(t *testing.T, dir string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs[1:]
}

// TestStatusWhileApplyRuns: the running apply holds the state file's lock,
// so status shows the progress the apply keeps in its status file.
func TestStatusWhileApplyRuns(t *testing.T) {
	dir := t.TempDir()
	g := newGatedServer(t, 1) // the second request hangs
	state := filepath.Join(dir, "juicebatch.db")
	cmd := child(t, io.Discard, "apply", "--base-url", g.URL, "--state", state,
		"--report", filepath.Join(dir, "report"), "--rate", "100/s", "--concurrency", "1", "--no-progress", tenRows(t, dir))
	<-g.arrived
	got := invoke(t, dir, nil, "status")
	g.open()
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	want := fmt.Sprintf("is in use by a running apply (pid %d)", cmd.Process.Pid)
	if got.code != exitOK || !strings.Contains(got.stdout, want) || !strings.Contains(got.stdout, "rows ") {
		t.Errorf("status during apply = %d\n%s%s\nwant exit 0 and %q", got.code, got.stdout, got.stderr, want)
	}
	// Once the apply is gone, status reads the state itself.
	got = invoke(t, dir, nil, "status")
	if got.code != exitOK || !strings.Contains(got.stdout, "stopped") {
		t.Errorf("status after apply = %d\n%s%s\nwant the stopped run", got.code, got.stdout, got.stderr)
	}
}
