package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Commands whose summary [Writer.Commit] knows how to complete.
const (
	CommandApply  = "apply"
	CommandPlan   = "plan"
	CommandVerify = "verify"
)

// ApplyOutcomes returns the outcomes of apply, in report order. The slice is
// new on every call.
func ApplyOutcomes() []string {
	return []string{"updated", "unchanged", "invalid", "rejected", "failed", "pending"}
}

// PlanOutcomes returns the outcomes of plan, in report order. The slice is
// new on every call.
func PlanOutcomes() []string {
	return []string{"would_update", "unchanged", "invalid"}
}

// VerifyOutcomes returns the outcomes of verify, in report order. The slice
// is new on every call.
func VerifyOutcomes() []string {
	return []string{"match", "differs", "missing", "invalid"}
}

// Budget is the day's request budget for the run's API key.
type Budget struct {
	Day  string `json:"day"` // UTC day, YYYY-MM-DD
	Used int    `json:"used"`
	Left int    `json:"left"`
}

// Plan is what plan says apply would take. It appears only in plan's summary.
type Plan struct {
	// Requests is how many requests apply would send.
	Requests int `json:"requests"`
	// DailyBudget is the --daily-budget the estimate assumed.
	DailyBudget int `json:"daily_budget"`
	// Days is how many days of daily budget those requests take, rounded up;
	// today's remaining budget counts as day 1 when it is known.
	Days int `json:"days"`
}

// Summary is summary.json. Outcomes may leave out outcomes that did not
// occur; Commit writes them as 0.
type Summary struct {
	RunID   string `json:"run_id"`
	Command string `json:"command"` // CommandApply or CommandPlan
	Input   string `json:"input"`
	// StartedAt and FinishedAt are written in UTC, RFC 3339 to the second.
	StartedAt   time.Time      `json:"started_at"`
	FinishedAt  time.Time      `json:"finished_at"`
	Outcomes    map[string]int `json:"outcomes"`
	Requests    int            `json:"requests"`     // requests sent, retries included
	Retries     int            `json:"retries"`      // requests that were retries
	RateLimited int            `json:"rate_limited"` // 429 answers seen
	Reads       int            `json:"reads"`        // read requests sent (GET), apart from Requests
	Budget      Budget         `json:"budget"`
	ExitCode    int            `json:"exit_code"`
	Plan        *Plan          `json:"plan,omitempty"`

	Warnings int `json:"warnings"` // rows with a warning
	// Reasons groups the rows that were invalid or rejected by reason, most
	// frequent first; WarningReasons groups the warnings likewise.
	Reasons        []Reason `json:"reasons"`
	WarningReasons []Reason `json:"warning_reasons"`
	// RunTotals is the whole run so far, for an invocation that resumed
	// an earlier one's run; nil otherwise. Every other figure describes
	// this invocation alone.
	RunTotals *Totals `json:"run_totals,omitempty"`
	// Backlog is the changes still waiting for budget; nil when none are.
	Backlog *Backlog `json:"backlog,omitempty"`
}

// Totals are a run's counters over all its invocations so far.
type Totals struct {
	// StartedAt is when the run's first invocation started.
	StartedAt time.Time `json:"started_at"`
	// Outcomes counts every row of the run by outcome, as results.csv
	// lists them.
	Outcomes    map[string]int `json:"outcomes"`
	Requests    int            `json:"requests"`
	Retries     int            `json:"retries"`
	RateLimited int            `json:"rate_limited"`
	Reads       int            `json:"reads"`
}

// Backlog is what waits for the daily budget: changed rows that a run
// decided to send but could not send yet.
type Backlog struct {
	// Pending is how many customers have a change waiting.
	Pending int `json:"pending"`
	// OldestSince is since when the oldest of them has waited (UTC), and
	// OldestAgeSeconds how long that is at the summary's finish.
	OldestSince      time.Time `json:"oldest_since"`
	OldestAgeSeconds int64     `json:"oldest_age_seconds"`
	// Days is how many days of the daily budget the run's changes take,
	// the new ones and those that were already waiting: above 1 the
	// backlog does not drain at the current churn.
	Days float64 `json:"days"`
}

// totalsJSON is Totals as summary.json writes it: times in UTC to the
// second, every outcome present in report order.
type totalsJSON struct {
	StartedAt   string        `json:"started_at"`
	Outcomes    outcomeCounts `json:"outcomes"`
	Requests    int           `json:"requests"`
	Retries     int           `json:"retries"`
	RateLimited int           `json:"rate_limited"`
	Reads       int           `json:"reads"`
}

type backlogJSON struct {
	Pending          int     `json:"pending"`
	OldestSince      string  `json:"oldest_since,omitempty"`
	OldestAgeSeconds int64   `json:"oldest_age_seconds"`
	Days             float64 `json:"days"`
}

// outcomeKeys is keys followed by the other outcomes of m, sorted.
func outcomeKeys(keys []string, m map[string]int) []string {
	var extra []string
	for k := range m {
		if !slices.Contains(keys, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	return append(slices.Clone(keys), extra...)
}

// outcomeCounts marshals as a JSON object in a chosen key order.
type outcomeCounts struct {
	keys   []string
	counts map[string]int
}

func (o outcomeCounts) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		appendString(&b, k)
		fmt.Fprintf(&b, ":%d", o.counts[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshalSummary returns summary.json's content for s.
func marshalSummary(s Summary) ([]byte, error) {
	var keys []string
	switch s.Command {
	case CommandApply:
		keys = ApplyOutcomes()
	case CommandPlan:
		keys = PlanOutcomes()
	case CommandVerify:
		keys = VerifyOutcomes()
	default:
		return nil, fmt.Errorf("report: write %s: unknown command %q", SummaryName, s.Command)
	}
	var extra []string
	for k := range s.Outcomes {
		if !slices.Contains(keys, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	keys = append(keys, extra...)

	// The field order here is summary.json's key order.
	out := struct {
		RunID       string        `json:"run_id"`
		Command     string        `json:"command"`
		Input       string        `json:"input"`
		StartedAt   string        `json:"started_at"`
		FinishedAt  string        `json:"finished_at"`
		Outcomes    outcomeCounts `json:"outcomes"`
		Requests    int           `json:"requests"`
		Retries     int           `json:"retries"`
		RateLimited int           `json:"rate_limited"`
		Reads       int           `json:"reads"`
		Warnings    int           `json:"warnings"`
		Reasons     []Reason      `json:"reasons"`
		WarnReasons []Reason      `json:"warning_reasons"`
		Budget      Budget        `json:"budget"`
		ExitCode    int           `json:"exit_code"`
		Plan        *Plan         `json:"plan,omitempty"`
		RunTotals   *totalsJSON   `json:"run_totals,omitempty"`
		Backlog     *backlogJSON  `json:"backlog,omitempty"`
	}{
		RunID:       s.RunID,
		Command:     s.Command,
		Input:       s.Input,
		StartedAt:   s.StartedAt.UTC().Format(time.RFC3339),
		FinishedAt:  s.FinishedAt.UTC().Format(time.RFC3339),
		Outcomes:    outcomeCounts{keys: keys, counts: s.Outcomes},
		Requests:    s.Requests,
		Retries:     s.Retries,
		RateLimited: s.RateLimited,
		Reads:       s.Reads,
		Warnings:    s.Warnings,
		Reasons:     nonNil(s.Reasons),
		WarnReasons: nonNil(s.WarningReasons),
		Budget:      s.Budget,
		ExitCode:    s.ExitCode,
		Plan:        s.Plan,
	}
	if t := s.RunTotals; t != nil {
		out.RunTotals = &totalsJSON{
			StartedAt: t.StartedAt.UTC().Format(time.RFC3339),
			Outcomes:  outcomeCounts{keys: outcomeKeys(keys[:len(keys)-len(extra)], t.Outcomes), counts: t.Outcomes},
			Requests:  t.Requests, Retries: t.Retries, RateLimited: t.RateLimited, Reads: t.Reads,
		}
	}
	if b := s.Backlog; b != nil {
		out.Backlog = &backlogJSON{Pending: b.Pending, OldestAgeSeconds: b.OldestAgeSeconds, Days: b.Days}
		if !b.OldestSince.IsZero() {
			out.Backlog.OldestSince = b.OldestSince.UTC().Format(time.RFC3339)
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("report: write %s: %w", SummaryName, err)
	}
	return b.Bytes(), nil
}

// nonNil makes an empty list marshal as [] rather than null.
func nonNil(rs []Reason) []Reason {
	if rs == nil {
		return []Reason{}
	}
	return rs
}
