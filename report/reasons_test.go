package report

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReasons(t *testing.T) {
	type add struct {
		outcome, field, problem string
		row                     int
		example                 string
	}
	nigeria := func(row int) add {
		return add{"invalid", "phone_number", "not a valid number for NG", row,
			fmt.Sprintf("in.csv:%d: phone_number: not a valid number for NG: \"0803 %d\"", row+1, row)}
	}
	tests := []struct {
		name string
		adds []add
		n    int
		want []Reason
	}{
		{name: "none", n: 10, want: []Reason{}},
		{
			name: "grouped by field and problem, not by value; first row is the example",
			adds: []add{
				nigeria(17),
				{"rejected", "email", "has already been taken", 18, "422: email: has already been taken (request r1)"},
				nigeria(20), nigeria(31),
				{"invalid", "email", "not a valid email address", 40, `in.csv:41: email: not a valid email address: "x@"`},
				{"rejected", "email", "has already been taken", 41, "422: email: has already been taken (request r2)"},
			},
			n: 10,
			want: []Reason{
				{Outcome: "invalid", Field: "phone_number", Problem: "not a valid number for NG", Count: 3, ExampleRow: 17,
					Example: `in.csv:18: phone_number: not a valid number for NG: "0803 17"`},
				{Outcome: "rejected", Field: "email", Problem: "has already been taken", Count: 2, ExampleRow: 18,
					Example: "422: email: has already been taken (request r1)"},
				{Outcome: "invalid", Field: "email", Problem: "not a valid email address", Count: 1, ExampleRow: 40,
					Example: `in.csv:41: email: not a valid email address: "x@"`},
			},
		},
		{
			name: "the same problem under two outcomes is two reasons",
			adds: []add{{"invalid", "", "no fields to update", 1, "a"}, {"rejected", "", "no fields to update", 2, "b"}},
			n:    1,
			want: []Reason{{Outcome: "invalid", Problem: "no fields to update", Count: 1, ExampleRow: 1, Example: "a"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rs Reasons
			for _, a := range tc.adds {
				rs.Add(a.outcome, a.field, a.problem, a.row, a.example)
			}
			if diff := cmp.Diff(tc.want, rs.Top(tc.n)); diff != "" {
				t.Errorf("Top(%d) mismatch (-want +got):\n%s", tc.n, diff)
			}
		})
	}
}

// TestReasonsBounded: a report of ever-new problems keeps at most
// maxReasonGroups of them; the rest count as "other reasons".
func TestReasonsBounded(t *testing.T) {
	var rs Reasons
	for i := range maxReasonGroups + 5 {
		rs.Add("rejected", "email", fmt.Sprintf("problem %d", i), i+1, "x")
	}
	rs.Add("rejected", "email", "problem 0", 9999, "x")
	top := rs.Top(2)
	want := []Reason{
		{Outcome: "rejected", Problem: OtherReasons, Count: 5, ExampleRow: maxReasonGroups + 1, Example: "x"},
		{Outcome: "rejected", Field: "email", Problem: "problem 0", Count: 2, ExampleRow: 1, Example: "x"},
	}
	if diff := cmp.Diff(want, top); diff != "" {
		t.Errorf("Top(2) mismatch (-want +got):\n%s", diff)
	}
	if got := len(rs.groups); got != maxReasonGroups+1 {
		t.Errorf("%d groups kept; want %d", got, maxReasonGroups+1)
	}
}
