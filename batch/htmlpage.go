package batch

import (
	"slices"
	"time"

	"github.com/juicebatch/juicebatch/batch/normalize"
	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/report"
)

// ExitMeaning is the line of the exit-code table (README "Exit codes") for
// code, for people reading a report rather than a script.
func ExitMeaning(code int) string {
	switch code {
	case ExitOK:
		return "every row updated or unchanged"
	case ExitFatal:
		return "fatal: configuration, auth rejected, state locked, input unreadable"
	case ExitUsage:
		return "usage error"
	case ExitRowsBad:
		return "finished, but some rows are invalid, rejected or failed"
	case ExitStopped:
		return "stopped early (daily budget, signal); run again to resume"
	}
	return ""
}

// htmlPage is report.html's content for this run: the summary's figures,
// the problem rows the report pass collected, the key's requests per day
// over the run's days, and plan's samples.
func (r *runner) htmlPage(sum report.Summary, stopped bool, problems report.RowList, now time.Time) (report.Page, error) {
	run := report.SummaryRun(sum)
	run.ExitMeaning = ExitMeaning(sum.ExitCode)
	if r.cmd == report.CommandVerify {
		switch sum.ExitCode {
		case ExitOK:
			run.ExitMeaning = "every valid row matches the live record"
		case ExitRowsBad:
			run.ExitMeaning = "some rows differ from the live record, are missing there, or could not be read"
		}
	}
	run.DailyBudget = r.cfg.DailyBudget
	run.Status = "finished"
	if stopped {
		run.Status = "stopped"
		run.FinishedAt, run.UpdatedAt = time.Time{}, now
	}
	page := report.Page{Run: &run, Generated: now, Problems: problems}
	if r.cmd == report.CommandPlan {
		for _, s := range r.samples {
			page.Samples = append(page.Samples, report.Change{Row: s.Row, ID: s.ID, Fields: s.Fields, Note: impliedNote(s.ImpliedClears)})
		}
		return page, nil
	}
	if r.cmd == report.CommandVerify {
		r.mu.Lock()
		page.Differences = slices.Clone(r.differences)
		page.DifferencesTotal = r.diffTotal
		r.mu.Unlock()
		slices.SortFunc(page.Differences, func(a, b report.Change) int { return a.Row - b.Row })
		return page, nil // verify sends no update: no chart of writes
	}
	if r.fp == "" {
		return page, nil
	}
	quotas, err := r.store.Quotas()
	if err != nil {
		return page, &StateError{Err: err}
	}
	reads, err := r.store.Reads()
	if err != nil {
		return page, &StateError{Err: err}
	}
	page.Charts = []report.Chart{QuotaChart(r.fp, quotas, reads, r.run.StartedAt, now, r.cfg.DailyBudget)}
	return page, nil
}

// QuotaChart is the update requests (quotas) and read requests (reads)
// sent with key fp on each UTC day from from to to (at most
// report.MaxChartDays, the latest), with the update budget as the line.
// The state prunes quota days after 400 days, so days before the oldest one
// it holds are marked as no longer kept rather than drawn as zero.
func QuotaChart(fp string, quotas, reads []checkpoint.Quota, from, to time.Time, budget int) report.Chart {
	used, read := map[string]int{}, map[string]int{}
	for _, q := range reads {
		if q.Fingerprint == fp {
			read[q.Day] = q.Used
		}
	}
	oldest := ""
	for _, q := range quotas {
		if q.Fingerprint != fp {
			continue
		}
		used[q.Day] = q.Used
		if oldest == "" || q.Day < oldest {
			oldest = q.Day
		}
	}
	c := report.Chart{Title: "key " + fp, Budget: budget,
		Note: "Update and read requests sent with this key on each UTC day, by every run that used it (reads have a budget of their own)."}
	for _, d := range report.DayRange(from, to) {
		_, ok := used[d]
		c.Days = append(c.Days, report.Day{Day: d, Writes: used[d], Reads: read[d], NotKept: !ok && read[d] == 0 && (oldest == "" || d < oldest)})
	}
	return c
}

// sampleFields is a plan sample's fields with what each changes, judged by
// the digests of what was last applied (the state keeps no values). The
// address is shown key by key; the API replaces it whole, so each key is
// "replaced" when the address differs, and "cleared" when sent as "".
func sampleFields(body normalize.Body, applied checkpoint.Applied, known bool) []report.FieldChange {
	kind := map[string]string{}
	for _, fd := range body.Digests() {
		_, ok := applied.Fields[fd.Name]
		switch {
		case !known || !ok:
			kind[fd.Name] = report.ChangeNew
		case applied.Matches(fd.Name, fd.Sum):
			kind[fd.Name] = report.ChangeSame
		default:
			kind[fd.Name] = report.ChangeChanged
		}
	}
	var out []report.FieldChange
	add := func(name string, v *string) {
		if v == nil {
			return
		}
		fc := report.FieldChange{Field: name, New: *v, Kind: kind[name]}
		if *v == "" {
			fc.Kind = report.ChangeCleared
		}
		out = append(out, fc)
	}
	add("first_name", body.FirstName)
	add("last_name", body.LastName)
	add("email", body.Email)
	add("phone_number", body.Phone)
	if a := body.Address; a != nil {
		k := kind["billing_address"]
		if k == report.ChangeChanged {
			k = report.ChangeReplaced
		}
		for _, f := range [...]struct {
			name string
			v    string
		}{{"line1", a.Line1}, {"line2", a.Line2}, {"city", a.City}, {"state", a.State}, {"zip_code", a.ZipCode}, {"country", a.Country}} {
			fc := report.FieldChange{Field: "billing_address." + f.name, New: f.v, Kind: k}
			if f.v == "" {
				fc.Kind = report.ChangeCleared
			}
			out = append(out, fc)
		}
	}
	return out
}
