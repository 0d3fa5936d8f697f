package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/juicebatch/juicebatch/sandbox"
)

// TestReadsOnTheCommandLine is the README's worked example end to end: a
// lost state file costs reads, not writes; status shows the reads; verify
// sends no update and exits 0, then 3 after a record is edited.
func TestReadsOnTheCommandLine(t *testing.T) {
	const customers, rows = 330, 300
	seeds := make([]sandbox.Customer, customers)
	var file strings.Builder
	file.WriteString("id,email,phone_number\n")
	for i := range seeds {
		seeds[i] = sandbox.Customer{ID: fmt.Sprintf("c-%03d", i+1), FirstName: "Ada",
			Email: fmt.Sprintf("c%03d@example.com", i+1), PhoneNumber: fmt.Sprintf("+23480312%05d", i+1)}
		if i < rows {
			fmt.Fprintf(&file, "c-%03d,c%03d@example.com,+23480312%05d\n", i+1, i+1, i+1)
		}
	}
	sb, err := sandbox.New(sandbox.Options{Keys: []string{canary}, Customers: seeds, PerMinute: 1 << 20, PerDay: 1 << 20,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	in := filepath.Join(dir, "export.csv")
	if err := os.WriteFile(in, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"JUICEBATCH_API_KEY": canary}
	common := []string{"--base-url", srv.URL, "--read-rate", "100/s", "--rate", "100/s", "--no-progress", "--log-format", "json"}
	// The 300 rows are the first 300 of 330 customers: three pages of 100
	// find them all, and the fourth is never read.

	got := invoke(t, dir, env, append(append([]string{"apply"}, common...), "--refresh", "auto", in)...)
	if got.code != exitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", got.code, got.stdout, got.stderr)
	}
	for _, want := range []string{"300 unchanged", "requests 0 (", "reads 3 (apart from the update budget): 300 rows found unchanged by reading"} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("apply stdout lacks %q:\n%s", want, got.stdout)
		}
	}
	if !strings.Contains(got.stderr, `"method":"list pages"`) {
		t.Errorf("apply did not log its choice of list pages:\n%s", got.stderr)
	}
	var sum struct {
		Requests int `json:"requests"`
		Reads    int `json:"reads"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "report", "summary.json"))
	if err != nil || json.Unmarshal(b, &sum) != nil || sum.Requests != 0 || sum.Reads != 3 {
		t.Errorf("summary.json %s (%v); want requests 0, reads 3", b, err)
	}
	if st := sb.Stats(); st.Reads != 3 || len(st.RequestsByStatus) != 0 {
		t.Errorf("server saw %d reads and updates %v; want 3 reads, no update", st.Reads, st.RequestsByStatus)
	}

	got = invoke(t, dir, nil, "status", "--json")
	var status struct {
		Quota []struct {
			Key   string `json:"key"`
			Used  int    `json:"used"`
			Reads int    `json:"reads"`
		} `json:"quota"`
	}
	if err := json.Unmarshal([]byte(got.stdout), &status); err != nil || len(status.Quota) != 1 || status.Quota[0].Reads != 3 || status.Quota[0].Used != 0 {
		t.Errorf("status --json = %s (%v); want one key with 3 reads and 0 used", got.stdout, err)
	}
	if got = invoke(t, dir, nil, "status"); !strings.Contains(got.stdout, "READS") {
		t.Errorf("status table lacks a READS column:\n%s", got.stdout)
	}

	verify := append(append([]string{"verify"}, common...), "--state", filepath.Join(dir, "juicebatch.db"), "--report", filepath.Join(dir, "verify"), in)
	if got = invoke(t, dir, env, verify...); got.code != exitOK || !strings.Contains(got.stdout, "300 match") {
		t.Errorf("verify: exit %d; want 0 and 300 match\n%s\n%s", got.code, got.stdout, got.stderr)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/_sandbox/edit", strings.NewReader(`{"id":"c-007","set":{"email":"edited@example.com"}}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("edit: %v %v", resp, err)
	}
	resp.Body.Close()
	if got = invoke(t, dir, env, verify...); got.code != exitRowsBad || !strings.Contains(got.stdout, "299 match, 1 differs") {
		t.Errorf("verify after an edit: exit %d; want 3 and 1 differs\n%s\n%s", got.code, got.stdout, got.stderr)
	}
	results, _ := os.ReadFile(filepath.Join(dir, "verify", "results.csv"))
	if !strings.Contains(string(results), "7,c-007,differs,,,,email: edited@example.com → c007@example.com") {
		t.Errorf("results.csv does not name the differing field:\n%.600s", results)
	}
	if st := sb.Stats(); len(st.RequestsByStatus) != 0 {
		t.Errorf("verify sent updates: %v", st.RequestsByStatus)
	}

	// verify takes the inputs apply takes: the same rows as two gzip
	// shards give the same answer, and the report says where c-007 came from.
	lines := strings.SplitAfter(file.String(), "\n")
	header := lines[0]
	shards := []string{header + strings.Join(lines[1:6], ""), header + strings.Join(lines[6:], "")}
	var names []string
	for i, content := range shards {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		if _, err := zw.Write([]byte(content)); err != nil || zw.Close() != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, fmt.Sprintf("export-%d.csv.gz", i+1))
		if err := os.WriteFile(name, gz.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	verifyShards := append(append([]string{"verify"}, common...), "--state", filepath.Join(dir, "juicebatch.db"), "--report", filepath.Join(dir, "verify-shards"))
	if got = invoke(t, dir, env, append(verifyShards, names...)...); got.code != exitRowsBad || !strings.Contains(got.stdout, "299 match, 1 differs") {
		t.Errorf("verify of two gzip shards: exit %d; want 3 and 1 differs\n%s\n%s", got.code, got.stdout, got.stderr)
	}
	results, _ = os.ReadFile(filepath.Join(dir, "verify-shards", "results.csv"))
	if want := "7,c-007,differs,,,,email: edited@example.com → c007@example.com,," + names[1] + ",3"; !strings.Contains(string(results), want) {
		t.Errorf("results.csv of the shards lacks %q:\n%.600s", want, results)
	}
}
