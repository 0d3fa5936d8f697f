package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestSummaryGolden: the terminal summary groups invalid and rejected rows
// by reason, as summary.json does, and lists the warnings.
func TestSummaryGolden(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	many := make([]report.Reason, 0, 7)
	for i := range 7 {
		many = append(many, report.Reason{Outcome: "invalid", Field: "email", Problem: "not a valid email address",
			Count: 7 - i, ExampleRow: 100 + i})
	}
	tests := []struct {
		name string
		res  batch.Result
	}{
		{name: "reasons", res: batch.Result{ReportDir: "report", Summary: report.Summary{
			Command: report.CommandApply, StartedAt: at, FinishedAt: at,
			Outcomes: map[string]int{"updated": 40, "invalid": 215, "rejected": 3},
			Requests: 43, Budget: report.Budget{Day: "2026-12-01", Used: 43, Left: 957}, ExitCode: 3,
			Warnings: 4,
			Reasons: []report.Reason{
				{Outcome: "invalid", Field: "phone_number", Problem: "not a valid NG phone number", Count: 212, ExampleRow: 17},
				{Outcome: "rejected", Field: "email", Problem: "422 validation_error: has already been taken", Count: 3, ExampleRow: 40},
				{Outcome: "invalid", Problem: "no fields to update", Count: 3, ExampleRow: 2},
			},
			WarningReasons: []report.Reason{
				{Field: "last_name", Problem: "contains punctuation, symbols or other characters", Count: 3, ExampleRow: 5},
				{Field: "billing_address.line2", Problem: "contains a line break (U+000A)", Count: 1, ExampleRow: 9},
			},
		}}},
		{name: "more-reasons-than-shown", res: batch.Result{ReportDir: "report", Summary: report.Summary{
			Command: report.CommandApply, StartedAt: at, FinishedAt: at,
			Outcomes: map[string]int{"invalid": 28}, Budget: report.Budget{Day: "2026-12-01", Left: 1000}, ExitCode: 3,
			Reasons: many,
		}}},
		{name: "plan-sample-warnings", res: batch.Result{ReportDir: "report",
			Samples: []batch.Sample{{Row: 1, ID: "w-1", Body: `{"last_name":"Smith, Jr."}`,
				Warnings: []string{"row 1: last_name: contains punctuation: \"Smith, Jr.\"\nlast_name: x"}}},
			Summary: report.Summary{
				Command: report.CommandPlan, StartedAt: at, FinishedAt: at,
				Outcomes: map[string]int{"would_update": 1}, Budget: report.Budget{Day: "2026-12-01", Left: 1000},
				Plan: &report.Plan{Requests: 1, DailyBudget: 1000, Days: 1}, Warnings: 1,
				WarningReasons: []report.Reason{{Field: "last_name", Problem: "contains punctuation", Count: 1, ExampleRow: 1}},
			}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printSummary(&b, &tc.res)
			golden := filepath.Join("testdata", "golden", "summary-"+tc.name+".txt")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("printSummary differs from %s:\n got:\n%s\nwant:\n%s", golden, b.Bytes(), want)
			}
		})
	}
}
