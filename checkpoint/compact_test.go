package checkpoint

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// compactCustomers is how many applied records fillState writes.
const compactCustomers = 3000

// fillState writes, in the file at path, a finished run whose rows are then
// deleted (leaving free pages), applied records for compactCustomers
// customers and a quota, and returns the applied records as read back.
func fillState(t *testing.T, path string) map[string]Applied {
	t.Helper()
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PutRun(Run{ID: "r1", Status: StatusFinished, StartedAt: day0}); err != nil {
		t.Fatal(err)
	}
	l := s.RunLog("r1")
	for n := 1; n <= 20000; n++ {
		if err := l.Put(row(n)); err != nil {
			t.Fatal(err)
		}
	}
	mustFlush(t, l)
	ids := make([]string, compactCustomers)
	for i := range ids {
		ids[i] = fmt.Sprintf("cus_%06d", i)
		u := &AppliedUpdate{Scope: "s", CustomerID: ids[i], At: day0, Raw: [32]byte{byte(i), byte(i >> 8), 7},
			Fields: map[string][32]byte{"email": {byte(i), 1}, "phone_number": {byte(i >> 8), 2}, "x_custom": {3}}}
		if err := l.Outcome(nil, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Intent(Attempt{Rows: []Row{inflight(1, "k")}, Fingerprint: "fp", Day: "2026-11-27", Budget: -1, At: day0}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRows("r1"); err != nil {
		t.Fatal(err)
	}
	want, err := s.AppliedMany("s", ids)
	if err != nil || len(want) != compactCustomers {
		t.Fatalf("AppliedMany = %d records, %v; want %d", len(want), err, compactCustomers)
	}
	return want
}

// checkState fails unless the store holds what fillState wrote.
func checkState(t *testing.T, s *Store, want map[string]Applied) {
	t.Helper()
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	got, err := s.AppliedMany("s", ids)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("applied records mismatch (-want +got):\n%s", diff)
	}
	if r, ok, err := s.GetRun("r1"); !ok || err != nil || r.Status != StatusFinished {
		t.Errorf("GetRun(r1) = %+v, %v, %v; want the finished run", r, ok, err)
	}
	if n := countRows(t, s, "r1"); n != 0 {
		t.Errorf("run r1 has %d rows; want 0 (deleted)", n)
	}
	if used, err := s.QuotaUsed("fp", "2026-11-27"); used != 1 || err != nil {
		t.Errorf("QuotaUsed = %d, %v; want 1", used, err)
	}
}

func TestCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	want := fillState(t, path)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.compactMin = 64 << 10 // the test's file is small
	before, err := s.Space()
	if err != nil {
		t.Fatal(err)
	}
	if before.FreeBytes*compactShare < before.UsedBytes {
		t.Fatalf("Space() before = %+v; the test wants a quarter of the file free", before)
	}
	did, err := s.MaybeCompact()
	if err != nil || !did {
		t.Fatalf("MaybeCompact() = %v, %v; want true, nil", did, err)
	}
	after, err := s.Space()
	if err != nil {
		t.Fatal(err)
	}
	if after.FileBytes > before.FileBytes-before.FreeBytes/2 || after.FreeBytes > 64<<10 {
		t.Errorf("Space() after Compact = %+v; before %+v: free pages not given back", after, before)
	}
	checkState(t, s, want)
	// Still usable, and what is written now is in the new file.
	if err := s.RunLog("r2").Outcome([]Row{row(1)}, &AppliedUpdate{Scope: "s", CustomerID: "new", Fields: map[string][32]byte{"email": {9}}, At: day0}); err != nil {
		t.Fatalf("Outcome after Compact = %v", err)
	}
	if did, err := s.MaybeCompact(); did || err != nil {
		t.Errorf("MaybeCompact() on a compact file = %v, %v; want false, nil", did, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open after Compact = %v", err)
	}
	defer s2.Close()
	checkState(t, s2, want)
	if _, ok, err := s2.Applied("s", "new"); !ok || err != nil {
		t.Errorf("Applied(s, new) written after Compact = %v, %v; want found", ok, err)
	}
	assertNoCopies(t, path)
}

// TestOpenDuringCompact: a Store opened by another goroutine while the file
// is compacted and replaced ends up on the new file, with what was written
// after the compaction. (Whether it waited on the old file's lock depends
// on timing; either way it must see the marker.)
func TestOpenDuringCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	want := fillState(t, path)
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	type opened struct {
		s   *Store
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		o, err := Open(path, Options{NoSync: true, LockTimeout: 30 * time.Second})
		ch <- opened{o, err}
	}()
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRun(Run{ID: "marker", StartedAt: day0}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	o := <-ch
	if o.err != nil {
		t.Fatalf("Open during Compact = %v", o.err)
	}
	defer o.s.Close()
	if _, ok, err := o.s.GetRun("marker"); !ok || err != nil {
		t.Errorf("the Store opened during Compact does not see what was written after it: GetRun = %v, %v", ok, err)
	}
	checkState(t, o.s, want)
}

// compactHelperEnv names the state file and the step a helper process is
// to be killed at.
const compactHelperEnv = "CHECKPOINT_TEST_COMPACT"

// TestCompactHelperProcess is not a test: TestCompactKilled runs the test
// binary again with compactHelperEnv set, and this function then compacts
// the file and stops at the step it is told, to be killed there.
func TestCompactHelperProcess(t *testing.T) {
	arg := os.Getenv(compactHelperEnv)
	if arg == "" {
		t.Skip("helper process for TestCompactKilled")
	}
	path, step, _ := strings.Cut(arg, "|")
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(2)
	}
	s.compactTx = 8 << 10 // many transactions, so "copying" is mid-copy
	s.compactHook = func(at string) {
		if at != step {
			return
		}
		fmt.Println("at", at)
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // wait to be killed
		os.Exit(3)
	}
	err = s.Compact()
	fmt.Println("compact returned:", err)
	os.Exit(4)
}

// TestCompactKilled: a process killed with SIGKILL at any step of Compact
// leaves a state file that opens, holds everything it held, and compacts;
// the stray copy is removed by that next compaction.
func TestCompactKilled(t *testing.T) {
	for _, step := range []string{"copying", "copied", "renamed"} {
		t.Run(step, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			want := fillState(t, path)
			cmd := exec.Command(os.Args[0], "-test.run=^TestCompactHelperProcess$")
			cmd.Env = append(os.Environ(), compactHelperEnv+"="+path+"|"+step)
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
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			_ = cmd.Wait()
			if line != "at "+step+"\n" {
				t.Fatalf("helper said %q, %v; want %q", line, err, "at "+step)
			}

			s, err := Open(path, Options{})
			if err != nil {
				t.Fatalf("Open after SIGKILL at %s = %v", step, err)
			}
			defer s.Close()
			checkState(t, s, want)
			if err := s.RunLog("r3").Outcome([]Row{row(1)}, nil); err != nil {
				t.Errorf("Outcome after SIGKILL at %s = %v", step, err)
			}
			if err := s.Compact(); err != nil {
				t.Fatalf("Compact after SIGKILL at %s = %v", step, err)
			}
			checkState(t, s, want)
			assertNoCopies(t, path)
		})
	}
}

// assertNoCopies fails if a compaction copy is left beside path.
func assertNoCopies(t *testing.T, path string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), compactPrefix) {
			t.Errorf("compaction copy %s left beside the state file", e.Name())
		}
	}
}
