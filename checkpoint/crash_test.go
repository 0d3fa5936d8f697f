package checkpoint

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// helperEnv names the state file a helper process works on.
const helperEnv = "CHECKPOINT_TEST_HELPER_STATE"

// TestHelperProcess is not a test: TestKilledProcess runs the test binary
// again with helperEnv set, and this function then plays a juicebatch
// process that is killed in the middle of a run.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for TestKilledProcess")
	}
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	l := s.RunLog("r")
	for n := 1; n <= 3; n++ {
		if err := l.Intent(Attempt{Rows: []Row{inflight(n, fmt.Sprintf("key-%d", n))}, Fingerprint: "fp", Day: "2026-11-27", Budget: 10, At: day0}); err != nil {
			fmt.Println("intent:", err)
			os.Exit(2)
		}
	}
	done := inflight(1, "key-1")
	done.Status, done.Outcome = StatusDone, "updated"
	if err := l.Outcome([]Row{done}, nil); err != nil {
		fmt.Println("outcome:", err)
		os.Exit(2)
	}
	if err := l.Put(row(4)); err != nil { // buffered: lost by the kill
		fmt.Println("put:", err)
		os.Exit(2)
	}
	fmt.Println("ready")
	// Wait to be killed.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(3)
}

// TestKilledProcess: another process holding the file makes Open fail with
// ErrLocked; after that process is killed with SIGKILL, the file opens and
// holds every intent and outcome it made durable, and not its buffered rows.
func TestKilledProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper said %q, %v; want ready", line, err)
	}

	if s, err := Open(path, Options{LockTimeout: 200 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		if err == nil {
			s.Close()
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("Open while another process holds it = %v; want ErrLocked", err)
	}

	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = cmd.Wait()

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after SIGKILL = %v", err)
	}
	defer s.Close()
	want := map[int]struct {
		status RowStatus
		key    string
	}{
		1: {StatusDone, "key-1"},
		2: {StatusInFlight, "key-2"},
		3: {StatusInFlight, "key-3"},
	}
	for n := 1; n <= 4; n++ {
		got, ok, err := s.Row("r", n)
		if err != nil {
			t.Fatal(err)
		}
		w, wantOK := want[n]
		if ok != wantOK || got.Status != w.status || got.Key != w.key {
			t.Errorf("after SIGKILL, Row(r, %d) = %v %v %q; want found=%v %v %q", n, ok, got.Status, got.Key, wantOK, w.status, w.key)
		}
	}
	if used, err := s.QuotaUsed("fp", "2026-11-27"); used != 3 || err != nil {
		t.Errorf("after SIGKILL, QuotaUsed = %d, %v; want 3", used, err)
	}
}
