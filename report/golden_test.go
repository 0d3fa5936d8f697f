package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenRun builds one report in a fresh directory and returns it.
type goldenRun struct {
	name   string
	format Format
	header []string
	write  func(t *testing.T, w *Writer)
	sum    Summary
}

func TestGolden(t *testing.T) {
	started := time.Date(2025, 3, 14, 1, 59, 26, 535_000_000, time.FixedZone("WAT", 3600))
	runs := []goldenRun{
		{
			name:   "apply-csv",
			format: CSV,
			header: []string{"Record ID", "email", "Phone", "billing_address.country"},
			write: func(t *testing.T, w *Writer) {
				mustResult(t, w, Result{Row: 1, ID: "cus_1", Outcome: "updated", HTTPStatus: 200, Attempts: 1, IdempotencyKey: "jb1-aaa"})
				mustResult(t, w, Result{Row: 2, ID: "cus_2", Outcome: "unchanged"})
				mustResult(t, w, Result{Row: 3, ID: "=HYPERLINK(\"http://x\")", Outcome: "invalid", Error: "id: not a safe path segment"})
				mustFailedCSV(t, w, []string{"=HYPERLINK(\"http://x\")", "a@b.co", "+2348012345678", "NG"}, "id: not a safe path segment")
				mustResult(t, w, Result{Row: 5, ID: "cus_5", Outcome: "rejected", HTTPStatus: 422, Attempts: 1, IdempotencyKey: "jb1-bbb",
					Error: "email: \"has already been taken\", request id req_9"})
				mustFailedCSV(t, w, []string{"cus_5", "taken@b.co", "-", "GB"}, "email: \"has already been taken\", request id req_9")
				mustResult(t, w, Result{Row: 6, ID: "cus_6", Outcome: "failed", HTTPStatus: 503, Attempts: 6, IdempotencyKey: "jb1-ccc",
					Error: "retries exhausted:\nservice unavailable"})
				mustFailedCSV(t, w, []string{"cus_6", "@me", "0801 234 5678", "Nigeria"}, "retries exhausted:\nservice unavailable")
				mustResult(t, w, Result{Row: 7, ID: "cus_7", Outcome: "pending", IdempotencyKey: "jb1-ddd"})
				mustResult(t, w, Result{Row: 8, ID: "cus_8", Outcome: "updated", HTTPStatus: 200, Attempts: 1, IdempotencyKey: "jb1-eee",
					Warnings: "last_name: contains punctuation, symbols or other characters: \",\" \".\" in \"Smith, Jr.\"\n" +
						"billing_address.line2: contains a line break (U+000A): \"Flat 3\\nBlock B\""})
			},
			sum: Summary{
				RunID: "run-0001", Command: CommandApply, Input: "customers.csv",
				StartedAt: started, FinishedAt: started.Add(90 * time.Minute),
				Outcomes: map[string]int{"updated": 1, "unchanged": 1, "invalid": 1, "rejected": 1, "failed": 1, "pending": 1},
				Requests: 9, Retries: 5, RateLimited: 2,
				Budget:   Budget{Day: "2025-03-14", Used: 9, Left: 991},
				ExitCode: 4,
				Warnings: 1,
				Reasons: []Reason{
					{Outcome: "invalid", Field: "id", Problem: "not a safe path segment", Count: 1, ExampleRow: 3,
						Example: "id: not a safe path segment"},
					{Outcome: "rejected", Field: "email", Problem: "\"has already been taken\"", Count: 1, ExampleRow: 5,
						Example: "email: \"has already been taken\", request id req_9"},
				},
				WarningReasons: []Reason{
					{Field: "last_name", Problem: "contains punctuation, symbols or other characters", Count: 1, ExampleRow: 8,
						Example: "last_name: contains punctuation, symbols or other characters: \",\" \".\" in \"Smith, Jr.\""},
					{Field: "billing_address.line2", Problem: "contains a line break (U+000A)", Count: 1, ExampleRow: 8,
						Example: "billing_address.line2: contains a line break (U+000A): \"Flat 3\\nBlock B\""},
				},
			},
		},
		{
			name:   "plan-ndjson",
			format: NDJSON,
			write: func(t *testing.T, w *Writer) {
				mustResult(t, w, Result{Row: 1, ID: "cus_1", Outcome: "would_update", IdempotencyKey: "jb1-eee"})
				mustResult(t, w, Result{Row: 3, ID: "cus_3", Outcome: "invalid", Error: "phone_number: not a valid number"})
				mustFailedNDJSON(t, w, []byte(`{"id":"cus_3","phone_number":"12","n":1.50e3,"juicebatch_error":"old"}`), "phone_number: not a valid number")
				mustResult(t, w, Result{Row: 4, Outcome: "invalid", Error: "line 4: invalid JSON"})
				mustFailedNDJSON(t, w, []byte("{\"id\": \"cus_4\",\n"), "line 4: invalid JSON")
			},
			sum: Summary{
				RunID: "run-0002", Command: CommandPlan, Input: "-",
				StartedAt: started, FinishedAt: started.Add(2 * time.Second),
				Outcomes: map[string]int{"would_update": 1, "invalid": 2},
				Budget:   Budget{Day: "2025-03-14", Used: 0, Left: 1000},
				ExitCode: 3,
				Plan:     &Plan{Requests: 1, DailyBudget: 1000, Days: 1},
			},
		},
	}
	for _, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := Create(dir, run.format, run.header)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			run.write(t, w)
			if err := w.Commit(run.sum); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			want := []string{ResultsName, run.format.failedName(), SummaryName}
			if got, all := listDir(t, dir), sorted(append([]string{HTMLName}, want...)); !equalStrings(got, all) {
				t.Fatalf("report directory holds %q; want %q", got, all)
			}
			for _, name := range want {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", "golden", run.name, name)
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				wantData, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("read golden file (run with -update to create it): %v", err)
				}
				if !bytes.Equal(got, wantData) {
					t.Errorf("%s differs from %s:\n got:\n%s\nwant:\n%s", name, golden, got, wantData)
				}
			}
		})
	}
}
