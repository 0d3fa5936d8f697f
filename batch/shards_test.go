package batch_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/report"
)

// gzipBytes compresses s as a warehouse export shard is compressed.
func gzipBytes(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gzFile writes a gzip shard in the harness's directory.
func (h *harness) gzFile(name, content string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.WriteFile(p, gzipBytes(h.t, content), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// TestApplyGzipShards: three shards of one export, two gzipped and one
// plain, are one run: rows numbered across them, the file and line of each
// in results.csv, an id repeated across shards merged into one request,
// one header in failed.csv, and a re-run sends nothing.
func TestApplyGzipShards(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	shards := []string{
		h.gzFile("export-000000000000.csv.gz", "id,email,first_name\nc-1,one@example.com,Ada\nc-2,two@example.com,\n"),
		h.gzFile("export-000000000001.csv.gz", "id,email,first_name\nc-3,bob@,Bob\n\nc-4,four@example.com,\n"),
		h.file("export-000000000002.csv", "first_name,id,email\nAdaeze,c-1,\n"),
	}
	cfg := h.config("")
	cfg.Inputs = shards
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	rows := h.results(cfg)
	type line struct{ row, id, outcome, file, line string }
	var got []line
	for _, r := range rows {
		got = append(got, line{r[0], r[1], r[2], filepath.Base(r[len(r)-2]), r[len(r)-1]})
	}
	want := []line{
		{"1", "c-1", "updated", "export-000000000000.csv.gz", "2"},
		{"2", "c-2", "updated", "export-000000000000.csv.gz", "3"},
		{"3", "c-3", "invalid", "export-000000000001.csv.gz", "2"},
		{"4", "c-4", "updated", "export-000000000001.csv.gz", "4"},
		{"5", "c-1", "updated", "export-000000000002.csv", "2"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("results.csv:\n%v\nwant\n%v", got, want)
	}
	if !strings.HasPrefix(rows[2][6], shards[1]+":2: email: ") {
		t.Errorf("row 3's error %q does not name its shard and line", rows[2][6])
	}
	// c-1 occurs in shards 1 and 3: one request, with both rows' fields.
	var c1 int
	for _, s := range h.seen() {
		if s.Path == "/customers/c-1" {
			c1++
		}
	}
	if c1 != 1 || rows[0][5] == "" || rows[0][5] != rows[4][5] {
		t.Errorf("c-1: %d requests, keys %q and %q; want one request, one key for both rows", c1, rows[0][5], rows[4][5])
	}
	if c, _ := h.sb.Customer("c-1"); c.Email != "one@example.com" || c.FirstName != "Adaeze" {
		t.Errorf("c-1 = %+v; want the shards merged (email from shard 1, first name from shard 3)", c)
	}
	if st := h.sb.Stats(); st.AppliedUpdates != 3 || st.DuplicateApplications != 0 {
		t.Errorf("sandbox applied %d updates, %d duplicates; want 3, 0", st.AppliedUpdates, st.DuplicateApplications)
	}
	failed, err := os.ReadFile(filepath.Join(cfg.ReportDir, report.FailedCSVName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(failed), "id,email,first_name,juicebatch_error\nc-3,bob@,Bob,") || strings.Count(string(failed), "\n") != 2 {
		t.Errorf("failed.csv = %q; want one header and the invalid row", failed)
	}
	if res.Summary.Input != strings.Join(shards, ", ") {
		t.Errorf("summary input = %q; want every shard", res.Summary.Input)
	}

	// The same shards again: the same run, finished; nothing is sent.
	before := len(h.seen())
	res2, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if n := len(h.seen()) - before; n != 0 || res2.Summary.RunID != res.Summary.RunID {
		t.Errorf("re-run sent %d requests as run %s; want 0 as run %s", n, res2.Summary.RunID, res.Summary.RunID)
	}

	// Another order is another input: rows are numbered otherwise.
	cfg.Inputs = []string{shards[2], shards[0], shards[1]}
	res3, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("third Apply: %v", err)
	}
	if res3.Summary.RunID == res.Summary.RunID {
		t.Errorf("shards in another order resumed run %s; want a new run", res.Summary.RunID)
	}
}

// TestShardProblemsStopBeforeSending: a corrupt or cut-off shard, or one
// whose header maps to other fields, is found by the first pass, so
// nothing is sent at all.
func TestShardProblemsStopBeforeSending(t *testing.T) {
	const good = "id,email\nc-1,one@example.com\nc-2,two@example.com\n"
	body := strings.Repeat("c-9,nine@example.com\n", 2000)
	whole := gzipBytes(t, "id,email\n"+body)
	tests := []struct {
		name    string
		second  []byte
		ext     string
		wantErr string
		is      error
	}{
		{name: "cut off", second: whole[:len(whole)/2], ext: ".csv.gz",
			wantErr: "export-2.csv.gz: read: gzip data cut off (truncated) at compressed byte"},
		{name: "corrupt", second: func() []byte {
			b := bytes.Clone(whole)
			for i := len(b) / 2; i < len(b)/2+16; i++ {
				b[i] ^= 0x5a
			}
			return b
		}(), ext: ".csv.gz",
			wantErr: "export-2.csv.gz: read: gzip data corrupt at compressed byte"},
		{name: "checksum", second: func() []byte { b := bytes.Clone(whole); b[len(b)-5] ^= 1; return b }(), ext: ".csv.gz",
			wantErr: "export-2.csv.gz: read: gzip data corrupt at compressed byte " + strconv.Itoa(len(whole)) + ": gzip: invalid checksum"},
		{name: "other fields", second: gzipBytes(t, "id,phone_number\nc-3,+2348031234567\n"), ext: ".csv.gz",
			wantErr: "export-2.csv.gz:1: header maps to id, phone_number, but the header of", is: batch.ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{})
			second := filepath.Join(h.dir, "export-2"+tt.ext)
			if err := os.WriteFile(second, tt.second, 0o600); err != nil {
				t.Fatal(err)
			}
			cfg := h.config("")
			cfg.Inputs = []string{h.gzFile("export-1.csv.gz", good), second}
			_, err := batch.Apply(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Apply = %v; want an error containing %q", err, tt.wantErr)
			}
			var ie *batch.InputError
			if !errors.As(err, &ie) || batch.ExitCode(nil, err) != batch.ExitFatal {
				t.Errorf("Apply error %#v: want an *InputError, exit 1", err)
			}
			if n := len(h.seen()); n != 0 {
				t.Errorf("%d requests sent; want none", n)
			}
		})
	}
}

// TestMixedFormatsAreAUsageError: CSV and NDJSON shards together cannot be
// one input (exit 2), and stdin is read alone.
func TestMixedFormatsAreAUsageError(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	a := h.gzFile("a.csv.gz", "id,email\nc-1,one@example.com\n")
	b := h.file("b.ndjson", `{"id":"c-2","email":"two@example.com"}`+"\n")
	for _, inputs := range [][]string{{a, b}, {a, "-"}} {
		cfg := h.config("")
		cfg.Inputs = inputs
		_, err := batch.Plan(context.Background(), cfg)
		if !errors.Is(err, batch.ErrUsage) || batch.ExitCode(nil, err) != batch.ExitUsage {
			t.Errorf("Plan(%q) = %v; want a usage error (exit 2)", inputs, err)
		}
	}
}

// TestGzipNDJSONShardsPlan: plan reads gzip NDJSON shards as one input,
// numbering rows by line across them.
func TestGzipNDJSONShardsPlan(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cfg := h.config("")
	cfg.Inputs = []string{
		h.gzFile("data_0_0_0.ndjson.gz", `{"id":"n-1","email":"one@example.com"}`+"\n\n"+`{"id":"n-2","email":"two@example.com"}`+"\n"),
		h.gzFile("data_0_1_0.jsonl.gz", `{"id":"n-1","first_name":"Ngozi"}`+"\n"+`{"id":"n-3","email":"x"}`+"\n"),
	}
	res, err := batch.Plan(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	var got []string
	for _, r := range h.results(cfg) {
		got = append(got, r[0]+" "+r[1]+" "+r[2]+" "+filepath.Base(r[len(r)-2])+":"+r[len(r)-1])
	}
	want := []string{
		"1 n-1 would_update data_0_0_0.ndjson.gz:1",
		"3 n-2 would_update data_0_0_0.ndjson.gz:3",
		"4 n-1 would_update data_0_1_0.jsonl.gz:1",
		"5 n-3 invalid data_0_1_0.jsonl.gz:2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("results.csv:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if res.Summary.Plan.Requests != 2 {
		t.Errorf("plan would send %d requests; want 2 (n-1 merged across the shards, n-2)", res.Summary.Plan.Requests)
	}
	if len(h.seen()) != 0 {
		t.Errorf("plan sent %d requests", len(h.seen()))
	}
}

// TestStdinGzipCutOff: stdin has no first pass, so a cut-off gzip stream
// is met by the main pass: the rows before the break are sent and
// reported, the error names stdin and the compressed offset, and no half
// row is sent.
func TestStdinGzipCutOff(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	// Rows padded with digits that compress badly, so that the break
	// comes after stdin's first 64 KiB (which are read before any row).
	var b strings.Builder
	b.WriteString("id,email,notes\n")
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 120 {
		b.WriteString("s-" + strconv.Itoa(i) + ",s" + strconv.Itoa(i) + "@example.com,")
		for range 2000 {
			b.WriteByte(byte('0' + rnd.IntN(10)))
		}
		b.WriteByte('\n')
	}
	whole := gzipBytes(t, b.String())
	cfg := h.config("-")
	cfg.Stdin = bytes.NewReader(whole[:len(whole)*2/3])
	_, err := batch.Apply(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "stdin: read: gzip data cut off (truncated) at compressed byte") {
		t.Fatalf("Apply = %v; want stdin's gzip error", err)
	}
	rows := h.results(cfg)
	if len(rows) == 0 || len(rows) >= 120 {
		t.Fatalf("%d rows reported; want those before the break", len(rows))
	}
	sent := map[string]bool{}
	for _, s := range h.seen() {
		sent[s.Path] = true
	}
	for _, r := range rows {
		if r[2] != "updated" && r[2] != "pending" {
			t.Errorf("row %s: %s; want updated or pending", r[0], r[2])
		}
		if want := "s" + strings.TrimPrefix(r[1], "s-") + "@example.com"; r[2] == "updated" {
			if c, _ := h.sb.Customer(r[1]); c.Email != want {
				t.Errorf("%s = %+v; want email %s", r[1], c, want)
			}
		}
	}
	if got := outcomes(rows); !slices.Contains(got, "updated") {
		t.Errorf("outcomes %v; want the rows before the break sent", got)
	}
	if len(sent) > len(rows) {
		t.Errorf("%d customers were sent, %d rows reported", len(sent), len(rows))
	}
}

// TestEstimateRowsOfGzip: the row estimate that sizes the first pass and
// the memory limit reads a gzip file's decompressed lines against the
// stored bytes they took, not its compressed size against plain lines.
func TestEstimateRowsOfGzip(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	var b strings.Builder
	b.WriteString("id,email\n")
	const rows = 50000
	for i := range rows {
		b.WriteString("e-" + strconv.Itoa(i) + ",e" + strconv.Itoa(i) + "@example.com\n")
	}
	for _, p := range []string{h.file("plain.csv", b.String()), h.gzFile("packed.csv.gz", b.String())} {
		got, err := batch.EstimateRows(p)
		if err != nil || got < rows*3/4 || got > rows*4/3 {
			t.Errorf("EstimateRows(%s) = %d, %v; want about %d", filepath.Base(p), got, err, rows)
		}
	}
}

// TestStdinGzip: gzip on stdin is told by its magic bytes; the report pass
// reads the spool, which keeps the bytes as they came (compressed).
func TestStdinGzip(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cfg := h.config("-")
	cfg.Stdin = bytes.NewReader(gzipBytes(t, `{"id":"z-1","email":"one@example.com"}`+"\n"+`{"id":"z-2","email":"bad"}`+"\n"))
	if _, err := batch.Apply(context.Background(), cfg); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	var got []string
	for _, r := range h.results(cfg) {
		got = append(got, r[0]+" "+r[1]+" "+r[2]+" "+r[len(r)-2]+":"+r[len(r)-1])
	}
	if want := []string{"1 z-1 updated stdin:1", "2 z-2 invalid stdin:2"}; !slices.Equal(got, want) {
		t.Errorf("results.csv %q; want %q", got, want)
	}
	failed, err := os.ReadFile(filepath.Join(cfg.ReportDir, report.FailedNDJSONName))
	if err != nil || !strings.HasPrefix(string(failed), `{"id":"z-2","email":"bad","juicebatch_error":"stdin:2: email: `) {
		t.Errorf("failed.ndjson = %q, %v; want the invalid line as it was sent in", failed, err)
	}
}

// TestStdinGzipCutInItsHead: a gzip stream on stdin cut off within the
// bytes read to tell its format stops the run before anything is read,
// naming stdin and the offset.
func TestStdinGzipCutInItsHead(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	cfg := h.config("-")
	z := gzipBytes(t, `{"id":"z-1","email":"one@example.com"}`+"\n")
	cfg.Stdin = bytes.NewReader(z[:len(z)-10])
	_, err := batch.Apply(context.Background(), cfg)
	var ie *batch.InputError
	if !errors.As(err, &ie) || !strings.HasPrefix(err.Error(), "stdin: read: gzip data cut off (truncated) at compressed byte ") {
		t.Fatalf("Apply = %v; want an *InputError naming stdin and the offset", err)
	}
	if n := len(h.seen()); n != 0 {
		t.Errorf("%d requests sent; want none", n)
	}
}
