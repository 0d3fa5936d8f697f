package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/juicebatch/juicebatch/sandbox"
)

// writeGzip writes content gzip-compressed to path.
func writeGzip(t *testing.T, path, content string) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestKilledInShard2ResumesExactly: apply over three gzip shards is killed
// (SIGKILL) while a request for a row of shard 2 is on the wire; the
// server applies that request after the process is gone. Re-running the
// same command sends nothing twice and loses nothing: every customer is
// applied exactly once, the one in flight is re-sent with its key (a
// replay), and the report has every row of every shard, in order, with
// its file and line.
func TestKilledInShard2ResumesExactly(t *testing.T) {
	dir := t.TempDir()
	// Shard 1: g-00..g-09. Shard 2: g-10..g-18 and g-03 again (merged with
	// shard 1's row, sent at its position in shard 2). Shard 3: g-19..g-28.
	shard := func(n int, ids ...int) string {
		var b strings.Builder
		b.WriteString("id,email\n")
		for _, i := range ids {
			fmt.Fprintf(&b, "g-%02d,g%02d.s%d@example.com\n", i, i, n)
		}
		p := filepath.Join(dir, fmt.Sprintf("export-%012d.csv.gz", n))
		writeGzip(t, p, b.String())
		return p
	}
	seq := func(from, to int) []int {
		var s []int
		for i := from; i <= to; i++ {
			s = append(s, i)
		}
		return s
	}
	shards := []string{
		shard(0, seq(0, 9)...),
		shard(1, append(seq(10, 14), append([]int{3}, seq(15, 18)...)...)...),
		shard(2, seq(19, 28)...),
	}
	const rows, customers = 30, 29

	sb, err := sandbox.New(sandbox.Options{Keys: []string{childKey}, CreateUnknown: true, PerMinute: 1 << 20, PerDay: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	// Shard 1 sends 9 requests (g-03 waits for its row in shard 2); the
	// 12th request is shard 2's third row, g-12. It is held until the
	// process has been killed, then applied.
	const gateAt = 12
	arrived, release, served := make(chan string, 1), make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	n := 0
	keys := map[string][]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		count := n
		keys[r.URL.Path] = append(keys[r.URL.Path], r.Header.Get("Idempotency-Key"))
		mu.Unlock()
		if count == gateAt {
			arrived <- r.URL.Path
			<-release
			defer close(served)
		}
		sb.ServeHTTP(w, r)
	}))
	defer srv.Close()
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	defer open()

	args := append([]string{"apply", "--base-url", srv.URL, "--state", filepath.Join(dir, "state.db"),
		"--report", filepath.Join(dir, "report"), "--rate", "100/s", "--concurrency", "1", "--no-progress"}, shards...)
	var stderr strings.Builder
	cmd := child(t, &stderr, args...)
	if path := <-arrived; path != "/customers/g-12" {
		t.Errorf("request %d went to %s; want /customers/g-12 (shard 2's third row)", gateAt, path)
	}
	cmd.Process.Kill()
	cmd.Wait()
	open()
	<-served // the server applied it; the process never saw the answer

	stderr.Reset()
	cmd = child(t, &stderr, args...)
	if code := exitCodeOf(cmd.Wait()); code != exitOK {
		t.Fatalf("re-run exit %d; want 0\n%s", code, stderr.String())
	}

	st := sb.Stats()
	if st.DuplicateApplications != 0 || st.AppliedUpdates != customers || st.Replays != 1 {
		t.Errorf("sandbox: %d applied, %d duplicate applications, %d replays; want %d, 0, 1 (stats %+v)",
			st.AppliedUpdates, st.DuplicateApplications, st.Replays, customers, st)
	}
	mu.Lock()
	for path, ks := range keys {
		want := 1
		if path == "/customers/g-12" {
			want = 2 // in flight at the kill: re-sent, with its key
		}
		if len(ks) != want || ks[0] != ks[len(ks)-1] {
			t.Errorf("%s: sent %d times with keys %q; want %d, one key", path, len(ks), ks, want)
		}
	}
	if len(keys) != customers {
		t.Errorf("%d customers received requests; want %d", len(keys), customers)
	}
	mu.Unlock()
	if c, _ := sb.Customer("g-03"); c.Email != "g03.s1@example.com" {
		t.Errorf("g-03 = %+v; want shard 2's email (the later row wins)", c)
	}

	recs := readResults(t, filepath.Join(dir, "report"))
	if len(recs) != rows {
		t.Fatalf("results.csv has %d rows; want %d", len(recs), rows)
	}
	for i, rec := range recs {
		file, line := rec[len(rec)-2], rec[len(rec)-1]
		wantFile, wantLine := shards[i/10], strconv.Itoa(i%10+2)
		if rec[0] != strconv.Itoa(i+1) || rec[2] != "updated" || file != wantFile || line != wantLine {
			t.Errorf("results line %d = %q; want row %d updated, %s line %s", i+1, rec, i+1, filepath.Base(wantFile), wantLine)
		}
	}
}
