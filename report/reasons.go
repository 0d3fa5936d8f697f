package report

import (
	"cmp"
	"slices"
)

// Reason is one kind of problem many rows can share, as summary.json's
// reasons and warning_reasons list them: rows are grouped by outcome,
// field and problem, never by their own values, so that 212 rows of
// "phone_number: not a valid number for NG" are one reason.
type Reason struct {
	// Outcome is "invalid" or "rejected" in reasons, "" in warning_reasons.
	Outcome string `json:"outcome"`
	// Field is the canonical field name the problem is about, "" when it
	// is about the row as a whole.
	Field string `json:"field"`
	// Problem is the reason without the row's own value.
	Problem string `json:"problem"`
	// Count is how many rows had it.
	Count int `json:"count"`
	// ExampleRow is the first such row; Example is that row's full error
	// or warning text.
	ExampleRow int    `json:"example_row"`
	Example    string `json:"example"`
}

// TopReasons is how many reasons summary.json lists in each list.
const TopReasons = 10

// maxReasonGroups bounds the memory a report of many different problems
// takes: once this many reasons are known, rows of any new one count
// under "other reasons" for their outcome.
const maxReasonGroups = 1000

// OtherReasons is the Problem under which rows count once
// maxReasonGroups reasons are known.
const OtherReasons = "other reasons"

type reasonKey struct{ outcome, field, problem string }

// Reasons counts rows by reason. The zero value is ready to use; it is not
// safe for concurrent use.
type Reasons struct {
	groups map[reasonKey]*Reason
}

// Add counts one row. Rows should come in row order, so that each reason's
// example is its first row.
func (rs *Reasons) Add(outcome, field, problem string, row int, example string) {
	if rs.groups == nil {
		rs.groups = make(map[reasonKey]*Reason)
	}
	k := reasonKey{outcome, field, problem}
	g := rs.groups[k]
	if g == nil && len(rs.groups) >= maxReasonGroups {
		k = reasonKey{outcome, "", OtherReasons}
		g = rs.groups[k]
	}
	if g == nil {
		g = &Reason{Outcome: k.outcome, Field: k.field, Problem: k.problem, ExampleRow: row, Example: example}
		rs.groups[k] = g
	}
	g.Count++
}

// Top returns the n most frequent reasons, most frequent first; ties go by
// the example row (then outcome, field and problem). It returns an empty, non-nil slice when there are none.
func (rs *Reasons) Top(n int) []Reason {
	out := make([]Reason, 0, len(rs.groups))
	for _, g := range rs.groups {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Reason) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if c := cmp.Compare(a.ExampleRow, b.ExampleRow); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Outcome, b.Outcome), cmp.Compare(a.Field, b.Field), cmp.Compare(a.Problem, b.Problem))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
