package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func mustResult(t *testing.T, w *Writer, r Result) {
	t.Helper()
	if err := w.Result(r); err != nil {
		t.Fatalf("Result(%+v) = %v; want nil", r, err)
	}
}

func mustFailedCSV(t *testing.T, w *Writer, rec []string, msg string) {
	t.Helper()
	if err := w.FailedCSV(rec, msg); err != nil {
		t.Fatalf("FailedCSV(%q, %q) = %v; want nil", rec, msg, err)
	}
}

func mustFailedNDJSON(t *testing.T, w *Writer, line []byte, msg string) {
	t.Helper()
	if err := w.FailedNDJSON(line, msg); err != nil {
		t.Fatalf("FailedNDJSON(%q, %q) = %v; want nil", line, msg, err)
	}
}

// listDir returns the sorted names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names // os.ReadDir sorts by name
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }

// readCSV reads a whole CSV file, allowing records of any length.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return recs
}

// summaryFor returns a minimal valid summary for command.
func summaryFor(command string) Summary {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return Summary{RunID: "r", Command: command, Input: "in", StartedAt: at, FinishedAt: at}
}

func TestNeutralize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", "cus_1", "cus_1"},
		{"equals", "=1+1", "'=1+1"},
		{"plus phone", "+2348012345678", "'+2348012345678"},
		{"minus", "-5", "'-5"},
		{"lone minus", "-", "'-"},
		{"at", "@SUM(A1)", "'@SUM(A1)"},
		{"tab", "\tx", "'\tx"},
		{"carriage return", "\rx", "'\rx"},
		{"newline is not a trigger", "\nx", "\nx"},
		{"space before equals", " =x", " =x"},
		{"trigger inside", "a=b", "a=b"},
		{"already quoted", "'=x", "'=x"},
		{"apostrophe alone", "'", "'"},
		{"full-width equals", "＝x", "＝x"},
		{"utf8", "Ọlá", "Ọlá"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Neutralize(tt.in); got != tt.want {
				t.Errorf("Neutralize(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

// unneutralize is the reader's inverse rule, as the package doc states it.
func unneutralize(s string) string {
	if len(s) >= 2 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

func TestNeutralizeRoundTrip(t *testing.T) {
	for _, in := range []string{"", "x", "=x", "+1", "-", "@", "\t", "\r", "'", "'=x", "''=x", "'x"} {
		if got, want := unneutralize(Neutralize(in)), unneutralize(in); got != want {
			t.Errorf("unneutralize(Neutralize(%q)) = %q; want %q (what the reader makes of the original)", in, got, want)
		}
	}
}

func TestResultsCSV(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, CSV, []string{"id"})
	if err != nil {
		t.Fatal(err)
	}
	mustResult(t, w, Result{Row: 1, ID: "a,b", Outcome: "rejected", HTTPStatus: 422, Attempts: 2, IdempotencyKey: "k1",
		Error: "email: \"bad\",\nrequest id req_1", File: "export-000000000001.csv.gz", Line: 7})
	mustResult(t, w, Result{Row: 4, ID: "-1", Outcome: "invalid", Error: "=cmd|' /C calc'!A0", File: "=evil.csv"})
	mustResult(t, w, Result{Row: 5, ID: "c5", Outcome: "updated", HTTPStatus: 200, Attempts: 1, IdempotencyKey: "k5",
		Warnings: "last_name: contains punctuation: \"Smith, Jr.\"\nfirst_name: contains a digit: \"=2\""})
	if err := w.Commit(summaryFor(CommandApply)); err != nil {
		t.Fatal(err)
	}
	got := readCSV(t, filepath.Join(dir, ResultsName))
	want := [][]string{
		{"row", "id", "outcome", "http_status", "attempts", "idempotency_key", "error", "warnings", "file", "line"},
		{"1", "a,b", "rejected", "422", "2", "k1", "email: \"bad\",\nrequest id req_1", "", "export-000000000001.csv.gz", "7"},
		{"4", "'-1", "invalid", "", "", "", "'=cmd|' /C calc'!A0", "", "'=evil.csv", ""},
		{"5", "c5", "updated", "200", "1", "k5", "", "last_name: contains punctuation: \"Smith, Jr.\"\nfirst_name: contains a digit: \"=2\"", "", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results.csv read back (-want +got):\n%s", diff)
	}
}

func TestResultOrder(t *testing.T) {
	tests := []struct {
		name string
		rows []int
		bad  int // index in rows of the first Result that must fail; -1 for none
	}{
		{"increasing with gaps", []int{1, 2, 5, 9}, -1},
		{"row zero", []int{0}, 0},
		{"negative", []int{-3}, 0},
		{"repeated", []int{1, 2, 2}, 2},
		{"backwards", []int{1, 3, 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := Create(t.TempDir(), CSV, []string{"id"})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			for i, row := range tt.rows {
				err := w.Result(Result{Row: row, ID: "x", Outcome: "updated"})
				if i == tt.bad {
					if !errors.Is(err, ErrRowOrder) {
						t.Errorf("Result(row %d) after %v = %v; want ErrRowOrder", row, tt.rows[:i], err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Result(row %d) after %v = %v; want nil", row, tt.rows[:i], err)
				}
			}
		})
	}
}

func TestFailedCSVRoundTrip(t *testing.T) {
	header := []string{"id", "Notes", "phone_number", " JuiceBatch_Error ", "email"}
	records := [][]string{
		{"cus_1", "a, b and \"c\"", "+2348012345678", "old error", "a@b.co"},
		{"cus_2", "line one\nline two", "=cmd|' /C calc'!A0", "", "@x"},
		{"-5", "'=already", "\tTab", "", "\rcr"},
	}
	msgs := []string{"email: taken", "-leading minus\nand a newline", "id: \"-5\", bad"}

	dir := t.TempDir()
	w, err := Create(dir, CSV, header)
	if err != nil {
		t.Fatal(err)
	}
	for i, rec := range records {
		mustFailedCSV(t, w, rec, msgs[i])
	}
	if err := w.Commit(summaryFor(CommandApply)); err != nil {
		t.Fatal(err)
	}
	got := readCSV(t, filepath.Join(dir, FailedCSVName))
	// Written by hand: each cell as Neutralize must leave it, the existing
	// juicebatch_error column reused (its spelling kept) and no second one.
	want := [][]string{
		{"id", "Notes", "phone_number", " JuiceBatch_Error ", "email"},
		{"cus_1", "a, b and \"c\"", "'+2348012345678", "email: taken", "a@b.co"},
		{"cus_2", "line one\nline two", "'=cmd|' /C calc'!A0", "'-leading minus\nand a newline", "'@x"},
		{"'-5", "'=already", "'\tTab", "id: \"-5\", bad", "'\rcr"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed.csv read back (-want +got):\n%s", diff)
	}
	// Fed back through the reader's rule, the data cells are the input's.
	for i, rec := range records {
		for j, cell := range rec {
			if j == 3 {
				continue
			}
			if back := unneutralize(got[i+1][j]); back != unneutralize(cell) {
				t.Errorf("record %d cell %d read back as %q; want %q", i+1, j, back, unneutralize(cell))
			}
		}
	}
}

func TestFailedCSVShape(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		record []string
		want   [][]string // header line, then the record
	}{
		{
			name:   "column added",
			header: []string{"id", "email"},
			record: []string{"c1", "x"},
			want:   [][]string{{"id", "email", "juicebatch_error"}, {"c1", "x", "boom"}},
		},
		{
			name:   "short record padded to the error column",
			header: []string{"id", "email", "phone_number"},
			record: []string{"c1"},
			want:   [][]string{{"id", "email", "phone_number", "juicebatch_error"}, {"c1", "", "", "boom"}},
		},
		{
			name:   "long record keeps extras after the error",
			header: []string{"id", "email"},
			record: []string{"c1", "x", "extra1", "extra2"},
			want:   [][]string{{"id", "email", "juicebatch_error"}, {"c1", "x", "boom", "extra1", "extra2"}},
		},
		{
			name:   "existing column in the middle replaced",
			header: []string{"id", "juicebatch_error", "email"},
			record: []string{"c1", "old", "x"},
			want:   [][]string{{"id", "juicebatch_error", "email"}, {"c1", "boom", "x"}},
		},
		{
			name:   "existing column, short record padded",
			header: []string{"id", "email", "juicebatch_error"},
			record: []string{"c1"},
			want:   [][]string{{"id", "email", "juicebatch_error"}, {"c1", "", "boom"}},
		},
		{
			name:   "existing column, long record replaced in place",
			header: []string{"id", "juicebatch_error"},
			record: []string{"c1", "old", "extra"},
			want:   [][]string{{"id", "juicebatch_error"}, {"c1", "boom", "extra"}},
		},
		{
			name:   "duplicate error columns: first wins",
			header: []string{"juicebatch_error", "id", "JUICEBATCH_ERROR"},
			record: []string{"old1", "c1", "old2"},
			want:   [][]string{{"juicebatch_error", "id", "JUICEBATCH_ERROR"}, {"boom", "c1", "old2"}},
		},
		{
			name:   "header cells neutralized",
			header: []string{"id", "=bad"},
			record: []string{"c1", "x"},
			want:   [][]string{{"id", "'=bad", "juicebatch_error"}, {"c1", "x", "boom"}},
		},
		{
			// Every field is an extra: the error stays under its header.
			name:   "nil header",
			header: nil,
			record: []string{"c1"},
			want:   [][]string{{"juicebatch_error"}, {"boom", "c1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			header := slices.Clone(tt.header)
			record := slices.Clone(tt.record)
			w, err := Create(dir, CSV, header)
			if err != nil {
				t.Fatal(err)
			}
			mustFailedCSV(t, w, record, "boom")
			if err := w.Commit(summaryFor(CommandApply)); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(header, tt.header) || !slices.Equal(record, tt.record) {
				t.Errorf("Create/FailedCSV modified their arguments: header %q, record %q", header, record)
			}
			got := readCSV(t, filepath.Join(dir, FailedCSVName))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FailedCSV(%q) under header %q (-want +got):\n%s", tt.record, tt.header, diff)
			}
		})
	}
}

func TestFailedNDJSON(t *testing.T) {
	tests := []struct {
		name, line, msg, want string
	}{
		{
			name: "member added last, bytes kept",
			line: `{"id":"c1","n":1.50e+3,"z":0.10,"a":{"b":[1,2,{"c":"}"}]},"s":"\u00e9\"<&>"}`,
			msg:  "boom",
			want: `{"id":"c1","n":1.50e+3,"z":0.10,"a":{"b":[1,2,{"c":"}"}]},"s":"\u00e9\"<&>","juicebatch_error":"boom"}`,
		},
		{
			name: "white space kept",
			line: `{ "id" : "c1" , "x" : null }`,
			msg:  "boom",
			want: `{ "id" : "c1" , "x" : null,"juicebatch_error":"boom" }`,
		},
		{
			name: "line break trimmed",
			line: "{\"id\":\"c1\"}\r\n",
			msg:  "boom",
			want: `{"id":"c1","juicebatch_error":"boom"}`,
		},
		{
			name: "empty object",
			line: `{}`,
			msg:  "no id",
			want: `{"juicebatch_error":"no id"}`,
		},
		{
			name: "existing error last replaced",
			line: `{"id":"c1","juicebatch_error":"old"}`,
			msg:  "new",
			want: `{"id":"c1","juicebatch_error":"new"}`,
		},
		{
			name: "existing error first replaced",
			line: `{"juicebatch_error":"old", "id":"c1", "n":2}`,
			msg:  "new",
			want: `{"id":"c1", "n":2,"juicebatch_error":"new"}`,
		},
		{
			name: "existing error in the middle, other spelling, escaped key",
			line: `{"id":"c1", " JuiceBatch_Error":"old", "juicebatch\u005ferror":"old2", "n":2}`,
			msg:  "new",
			want: `{"id":"c1", "n":2,"juicebatch_error":"new"}`,
		},
		{
			name: "only an existing error",
			line: `{"juicebatch_error":"old"}`,
			msg:  "new",
			want: `{"juicebatch_error":"new"}`,
		},
		{
			name: "message escaped",
			line: `{"id":"c1"}`,
			msg:  "say \"hi\"\n\tto <a&b>",
			want: `{"id":"c1","juicebatch_error":"say \"hi\"\n\tto <a&b>"}`,
		},
		{
			name: "line breaks between tokens become spaces",
			line: "{\"id\":\n\"c1\"}",
			msg:  "boom",
			want: `{"id": "c1","juicebatch_error":"boom"}`,
		},
		{
			name: "leading BOM dropped",
			line: "\uFEFF{\"id\":\"c1\"}",
			msg:  "boom",
			want: `{"id":"c1","juicebatch_error":"boom"}`,
		},
		{
			name: "syntax error",
			line: `{"id": "c1",`,
			msg:  "line 3: unexpected end of JSON input",
			want: `{"juicebatch_error":"line 3: unexpected end of JSON input","juicebatch_input":"{\"id\": \"c1\","}`,
		},
		{
			name: "array",
			line: `[{"id":"c1"}]`,
			msg:  "not an object",
			want: `{"juicebatch_error":"not an object","juicebatch_input":"[{\"id\":\"c1\"}]"}`,
		},
		{
			name: "scalar",
			line: "42\n",
			msg:  "not an object",
			want: `{"juicebatch_error":"not an object","juicebatch_input":"42"}`,
		},
		{
			name: "trailing garbage",
			line: `{"id":"c1"} x`,
			msg:  "bad",
			want: `{"juicebatch_error":"bad","juicebatch_input":"{\"id\":\"c1\"} x"}`,
		},
		{
			name: "invalid UTF-8 in an object",
			line: "{\"id\":\"c1\",\"first_name\":\"Ad\xffe\"}",
			msg:  "first_name: invalid UTF-8",
			want: `{"juicebatch_error":"first_name: invalid UTF-8 (line is not valid UTF-8: juicebatch_input shows it with each invalid byte replaced by U+FFFD)",` +
				`"juicebatch_input":"{\"id\":\"c1\",\"first_name\":\"Ad\ufffde\"}"}`,
		},
		{
			name: "invalid UTF-8 and control bytes in garbage",
			line: "\x00\xc3(\u2028",
			msg:  "bad",
			want: `{"juicebatch_error":"bad (line is not valid UTF-8: juicebatch_input shows it with each invalid byte replaced by U+FFFD)",` +
				`"juicebatch_input":"\u0000\ufffd(\u2028"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Create(dir, NDJSON, []string{"ignored"})
			if err != nil {
				t.Fatal(err)
			}
			line := []byte(tt.line)
			mustFailedNDJSON(t, w, line, tt.msg)
			if string(line) != tt.line {
				t.Errorf("FailedNDJSON modified its line: %q", line)
			}
			if err := w.Commit(summaryFor(CommandApply)); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, FailedNDJSONName))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := strings.CutSuffix(string(data), "\n")
			if !ok || strings.ContainsAny(got, "\r\n") {
				t.Fatalf("failed.ndjson = %q; want one line ending in \\n", data)
			}
			if got != tt.want {
				t.Errorf("FailedNDJSON(%q, %q) wrote\n%s\nwant\n%s", tt.line, tt.msg, got, tt.want)
			}
			if !json.Valid([]byte(got)) || !utf8.ValidString(got) {
				t.Errorf("FailedNDJSON(%q) wrote invalid JSON or UTF-8: %q", tt.line, got)
			}
		})
	}
}

func TestFormatMismatch(t *testing.T) {
	csvW, err := Create(t.TempDir(), CSV, []string{"id"})
	if err != nil {
		t.Fatal(err)
	}
	defer csvW.Abort()
	if err := csvW.FailedNDJSON([]byte(`{}`), "x"); !errors.Is(err, ErrFormat) {
		t.Errorf("FailedNDJSON on a CSV report = %v; want ErrFormat", err)
	}
	ndW, err := Create(t.TempDir(), NDJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ndW.Abort()
	if err := ndW.FailedCSV([]string{"x"}, "x"); !errors.Is(err, ErrFormat) {
		t.Errorf("FailedCSV on an NDJSON report = %v; want ErrFormat", err)
	}
	if _, err := Create(t.TempDir(), Format(0), nil); !errors.Is(err, ErrFormat) {
		t.Errorf("Create(Format(0)) = %v; want ErrFormat", err)
	}
}

// writeFiles creates files with the given contents in dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readFiles returns every file in dir by name.
func readFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, name := range listDir(t, dir) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got[name] = string(data)
	}
	return got
}

func TestCommitReplacesEarlierReport(t *testing.T) {
	dir := t.TempDir()
	earlier := map[string]string{
		ResultsName:   "old results\n",
		FailedCSVName: "old failed\n",
		SummaryName:   "{\"run_id\": \"old\"}\n",
		"notes.txt":   "the user's own file\n",
		HTMLName:      "<p>old page</p>\n",
	}
	writeFiles(t, dir, earlier)

	w, err := Create(dir, NDJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustResult(t, w, Result{Row: 1, ID: "c1", Outcome: "invalid", Error: "e"})
	mustFailedNDJSON(t, w, []byte(`{"id":"c1"}`), "e")

	// Before Commit the earlier report is whole; only hidden temp files are new.
	mid := readFiles(t, dir)
	for name, data := range earlier {
		if mid[name] != data {
			t.Errorf("before Commit %s = %q; want the earlier %q", name, mid[name], data)
		}
	}
	for name := range mid {
		if _, ok := earlier[name]; !ok && !strings.HasPrefix(name, ".") {
			t.Errorf("before Commit, new visible file %s", name)
		}
	}

	if err := w.Commit(summaryFor(CommandApply)); err != nil {
		t.Fatal(err)
	}
	got := readFiles(t, dir)
	wantNames := []string{FailedNDJSONName, "notes.txt", HTMLName, ResultsName, SummaryName}
	if names := listDir(t, dir); !slices.Equal(names, wantNames) {
		t.Fatalf("after Commit the directory holds %q; want %q (stale failed.csv removed, no temp files)", names, wantNames)
	}
	if want := "row,id,outcome,http_status,attempts,idempotency_key,error,warnings,file,line\n1,c1,invalid,,,,e,,,\n"; got[ResultsName] != want {
		t.Errorf("results.csv = %q; want %q", got[ResultsName], want)
	}
	if want := `{"id":"c1","juicebatch_error":"e"}` + "\n"; got[FailedNDJSONName] != want {
		t.Errorf("failed.ndjson = %q; want %q", got[FailedNDJSONName], want)
	}
	if !strings.Contains(got[SummaryName], `"run_id": "r"`) {
		t.Errorf("summary.json = %q; want the new run_id", got[SummaryName])
	}
	if !strings.Contains(got[HTMLName], "<!DOCTYPE html>") || strings.Contains(got[HTMLName], "old page") {
		t.Errorf("report.html = %q; want the new page", got[HTMLName])
	}

	// The other way round: a CSV report replaces failed.ndjson.
	w, err = Create(dir, CSV, []string{"id"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(summaryFor(CommandPlan)); err != nil {
		t.Fatal(err)
	}
	wantNames = []string{FailedCSVName, "notes.txt", HTMLName, ResultsName, SummaryName}
	if names := listDir(t, dir); !slices.Equal(names, wantNames) {
		t.Fatalf("after the CSV Commit the directory holds %q; want %q", names, wantNames)
	}
	if data := readFiles(t, dir)[FailedCSVName]; data != "id,juicebatch_error\n" {
		t.Errorf("failed.csv with no failed row = %q; want only the header", data)
	}
}

func TestCreateMakesDirectoryAndModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	w, err := Create(dir, CSV, []string{"id"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(summaryFor(CommandApply)); err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{
		".":           0o755 | fs.ModeDir,
		ResultsName:   0o644,
		FailedCSVName: 0o600,
		SummaryName:   0o644,
	}
	for name, mode := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		// The umask may only take permissions away.
		if got := fi.Mode(); got&^mode != 0 || got&fs.ModeType != mode&fs.ModeType || got&0o600 != 0o600 {
			t.Errorf("mode of %s = %v; want %v", name, got, mode)
		}
	}
}

func TestAbort(t *testing.T) {
	dir := t.TempDir()
	earlier := map[string]string{ResultsName: "old\n", FailedCSVName: "old\n", SummaryName: "{}\n"}
	writeFiles(t, dir, earlier)
	w, err := Create(dir, CSV, []string{"id"})
	if err != nil {
		t.Fatal(err)
	}
	mustResult(t, w, Result{Row: 1, ID: "c1", Outcome: "updated"})
	mustFailedCSV(t, w, []string{"c1"}, "x")
	if err := w.Abort(); err != nil {
		t.Fatalf("Abort() = %v; want nil", err)
	}
	if diff := cmp.Diff(earlier, readFiles(t, dir)); diff != "" {
		t.Errorf("after Abort the directory differs from the earlier report (-want +got):\n%s", diff)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("second Abort() = %v; want nil", err)
	}
	if err := w.Result(Result{Row: 2}); !errors.Is(err, ErrClosed) {
		t.Errorf("Result after Abort = %v; want ErrClosed", err)
	}
	if err := w.FailedCSV([]string{"c"}, "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("FailedCSV after Abort = %v; want ErrClosed", err)
	}
	if err := w.Commit(summaryFor(CommandApply)); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Abort = %v; want ErrClosed", err)
	}
}

func TestAbortAfterCommit(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, CSV, []string{"id"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(summaryFor(CommandApply)); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Commit = %v; want nil", err)
	}
	want := []string{FailedCSVName, HTMLName, ResultsName, SummaryName}
	if got := listDir(t, dir); !slices.Equal(got, want) {
		t.Errorf("after Commit and Abort the directory holds %q; want %q", got, want)
	}
}

func TestCommitFailureLeavesNoTemps(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{SummaryName: "old\n"})
	w, err := Create(dir, CSV, []string{"id"})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Commit(summaryFor("bogus"))
	if err == nil || !strings.Contains(err.Error(), `unknown command "bogus"`) {
		t.Errorf("Commit(command bogus) = %v; want an unknown command error", err)
	}
	if got, want := listDir(t, dir), []string{SummaryName}; !slices.Equal(got, want) {
		t.Errorf("after a failed Commit the directory holds %q; want %q", got, want)
	}
	if err := w.Commit(summaryFor(CommandApply)); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after a failed Commit = %v; want ErrClosed", err)
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name         string
		command      string
		outcomes     map[string]int
		wantOutcomes string // the outcomes object, compacted, in file order
	}{
		{
			name:         "apply, nil outcomes",
			command:      CommandApply,
			wantOutcomes: `{"updated":0,"unchanged":0,"invalid":0,"rejected":0,"failed":0,"pending":0}`,
		},
		{
			name:         "apply, some outcomes and extras",
			command:      CommandApply,
			outcomes:     map[string]int{"failed": 2, "updated": 7, "zeta": 1, "alpha": 3},
			wantOutcomes: `{"updated":7,"unchanged":0,"invalid":0,"rejected":0,"failed":2,"pending":0,"alpha":3,"zeta":1}`,
		},
		{
			name:         "plan",
			command:      CommandPlan,
			outcomes:     map[string]int{"invalid": 1},
			wantOutcomes: `{"would_update":0,"unchanged":0,"invalid":1}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Create(dir, CSV, []string{"id"})
			if err != nil {
				t.Fatal(err)
			}
			before := maps.Clone(tt.outcomes)
			s := Summary{
				RunID: "r1", Command: tt.command, Input: "in.csv",
				StartedAt:  time.Date(2025, 6, 1, 23, 30, 0, 999_000_000, time.FixedZone("X", -5*3600)),
				FinishedAt: time.Date(2025, 6, 2, 4, 31, 2, 0, time.UTC),
				Outcomes:   tt.outcomes,
			}
			if err := w.Commit(s); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, tt.outcomes); diff != "" {
				t.Errorf("Commit modified Summary.Outcomes (-before +after):\n%s", diff)
			}
			data, err := os.ReadFile(filepath.Join(dir, SummaryName))
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(data, &raw); err != nil {
				t.Fatalf("summary.json is not a JSON object: %v\n%s", err, data)
			}
			if got := compact(t, raw["outcomes"]); got != tt.wantOutcomes {
				t.Errorf("outcomes = %s; want %s", got, tt.wantOutcomes)
			}
			if got, want := string(raw["started_at"]), `"2025-06-02T04:30:00Z"`; got != want {
				t.Errorf("started_at = %s; want %s", got, want)
			}
			if got, want := string(raw["finished_at"]), `"2025-06-02T04:31:02Z"`; got != want {
				t.Errorf("finished_at = %s; want %s", got, want)
			}
			if _, ok := raw["plan"]; ok {
				t.Errorf("summary.json has a plan member with Plan nil")
			}
			var back Summary
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatalf("Unmarshal summary.json into Summary: %v", err)
			}
			if want := time.Date(2025, 6, 2, 4, 30, 0, 0, time.UTC); !back.StartedAt.Equal(want) {
				t.Errorf("started_at read back = %v; want %v", back.StartedAt, want)
			}
		})
	}
}

// compact returns raw without white space, keys in their order.
func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestOutcomeListsAreFresh(t *testing.T) {
	a := ApplyOutcomes()
	a[0] = "changed"
	if got := ApplyOutcomes()[0]; got != "updated" {
		t.Errorf("ApplyOutcomes()[0] = %q after a caller changed its copy; want %q", got, "updated")
	}
	p := PlanOutcomes()
	p[0] = "changed"
	if got := PlanOutcomes()[0]; got != "would_update" {
		t.Errorf("PlanOutcomes()[0] = %q after a caller changed its copy; want %q", got, "would_update")
	}
}

func BenchmarkResult(b *testing.B) {
	w, err := Create(b.TempDir(), CSV, []string{"id"})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Abort()
	r := Result{ID: "cus_0123456789", Outcome: "rejected", HTTPStatus: 422, Attempts: 1,
		IdempotencyKey: "jb1-5f2b8c0d9e3a4b1c", Error: "email: \"has already been taken\", request id req_abc"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Row = i + 1
		if err := w.Result(r); err != nil {
			b.Fatal(err)
		}
	}
}
