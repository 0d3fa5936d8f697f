package report

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HTMLName is the name of the report's web page.
const HTMLName = "report.html"

// MaxListedRows is how many problem rows (or differing rows) report.html
// lists; the rest are only counted, so a run of a million bad rows still
// gives a page a browser opens at once.
const MaxListedRows = 500

// MaxChartDays is how many UTC days a chart shows at most: the most recent
// ones. A migration at 1000 requests a day can span years of a 1M-row file;
// a bar a day stays readable up to about a quarter.
const MaxChartDays = 92

// Page is what report.html shows. It is command-agnostic: apply and plan
// fill the run, its chart and problem rows; plan adds Samples; verify
// adds Differences; status fills Runs and a chart per API key. Every part
// that is empty is left out of the page.
//
// Every string may come from the input (ids, errors, file names) and is
// escaped for its context by html/template; none is ever put in a URL
// attribute, and the page carries a Content-Security-Policy that forbids
// scripts, so a hostile value can neither run nor load anything.
type Page struct {
	// Title heads the page; "" means one made from Run.
	Title string
	// Generated is when the page was made; zero means Run.FinishedAt.
	Generated time.Time
	// Run is the invocation this page reports; nil on a page of many runs.
	Run *RunInfo
	// Runs is a table of runs (status: every run in the state).
	Runs []RunInfo
	// Reasons groups the invalid and rejected rows (summary.json's
	// reasons); WarningReasons the warnings.
	Reasons        []Reason
	WarningReasons []Reason
	// Charts show requests per UTC day, one chart per API key.
	Charts []Chart
	// Problems are the rows that were invalid, rejected or failed.
	Problems RowList
	// Samples are plan's sample updates with their field changes.
	Samples []Change
	// Differences are verify's rows whose live record differs from the
	// input; DifferencesTotal counts them all when more were found than
	// listed (0 means len(Differences)).
	Differences      []Change
	DifferencesTotal int
}

// RunInfo is one run as the page shows it.
type RunInfo struct {
	ID      string
	Command string
	// Status is "running", "stopped" or "finished"; "" when not known.
	Status string
	Inputs []string
	// StartedAt is when the run (its first invocation) started.
	StartedAt time.Time
	// FinishedAt is zero while the run is not finished.
	FinishedAt time.Time
	// UpdatedAt is the run's last activity (status pages); may be zero.
	UpdatedAt time.Time
	ExitCode  int
	// ExitMeaning is the exit code's line of the documented table.
	ExitMeaning string
	// Outcomes are the rows per outcome in report order.
	Outcomes                                        []Count
	Requests, Reads, Retries, RateLimited, Warnings int
	// DailyBudget is the requests a day the run may send; with the pending
	// rows it gives the ETA.
	DailyBudget int
	// Budget is today's use of the key's budget; nil when not known.
	Budget *Budget
	// Plan is plan's estimate.
	Plan *Plan
}

// Count is how many rows ended with one outcome.
type Count struct {
	Outcome string
	Rows    int
}

// Chart is requests per UTC day, with the daily budget as a line.
type Chart struct {
	// Title says whose requests these are, e.g. the key's fingerprint.
	Title string
	// Budget is the daily budget drawn as a line; 0 draws none.
	Budget int
	// Days are in order, one per UTC day, at most MaxChartDays used.
	Days []Day
	// Note is shown under the chart.
	Note string
}

// Day is one UTC day of a chart.
type Day struct {
	Day    string // YYYY-MM-DD
	Writes int
	Reads  int
	// NotKept marks a day the state no longer holds figures for.
	NotKept bool
}

// RowList collects the first MaxListedRows rows given and counts them all.
// The zero RowList is empty and ready to use.
type RowList struct {
	Rows  []Result
	Total int
}

// Add counts r and keeps it while fewer than MaxListedRows are kept.
func (l *RowList) Add(r Result) {
	l.Total++
	if len(l.Rows) < MaxListedRows {
		l.Rows = append(l.Rows, r)
	}
}

// Change is one row's update field by field: plan's sample or verify's
// difference.
type Change struct {
	Row    int
	ID     string
	Fields []FieldChange
	// Note is shown under the fields (e.g. address keys cleared because
	// the address is replaced whole).
	Note string
}

// FieldChange is one field of a Change.
type FieldChange struct {
	Field string
	// Old is the value before; shown only when OldKnown (juicebatch's
	// state keeps digests of what it applied, not values).
	Old      string
	OldKnown bool
	New      string
	// Kind is the change in a word: one of the Change* constants, or
	// another word of the caller's.
	Kind string
}

// Kinds of FieldChange.
const (
	ChangeNew       = "new"      // nothing applied before
	ChangeChanged   = "changed"  // differs from what was applied or is live
	ChangeSame      = "same"     // equal to what was applied (sent anyway)
	ChangeReplaced  = "replaced" // part of a whole that changed (an address key)
	ChangeCleared   = "cleared"  // sent as "", which clears it
	ChangeDiffering = "differs"  // verify: live value differs
	ChangeMissing   = "missing"  // verify: not in the live record
)

// DayRange returns the UTC days from from to to, both included, as
// YYYY-MM-DD, keeping the last MaxChartDays; nil when to is before from.
func DayRange(from, to time.Time) []string {
	const layout = "2006-01-02"
	first := time.Date(from.UTC().Year(), from.UTC().Month(), from.UTC().Day(), 0, 0, 0, 0, time.UTC)
	last := time.Date(to.UTC().Year(), to.UTC().Month(), to.UTC().Day(), 0, 0, 0, 0, time.UTC)
	if last.Before(first) {
		return nil
	}
	if earliest := last.AddDate(0, 0, -(MaxChartDays - 1)); first.Before(earliest) {
		first = earliest
	}
	var days []string
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		days = append(days, d.Format(layout))
	}
	return days
}

// SummaryRun is the RunInfo of a summary: what report.html shows of a run
// when the caller gives nothing more.
func SummaryRun(s Summary) RunInfo {
	ri := RunInfo{
		ID: s.RunID, Command: s.Command, StartedAt: s.StartedAt, FinishedAt: s.FinishedAt,
		ExitCode: s.ExitCode, Requests: s.Requests, Reads: s.Reads, Retries: s.Retries,
		RateLimited: s.RateLimited, Warnings: s.Warnings, Plan: s.Plan,
	}
	// The page, like results.csv, describes the whole run: a resumed
	// invocation's own figures are in summary.json, its run's in RunTotals.
	outcomes := s.Outcomes
	if t := s.RunTotals; t != nil {
		outcomes = t.Outcomes
		ri.StartedAt, ri.Requests, ri.Retries, ri.RateLimited = t.StartedAt, t.Requests, t.Retries, t.RateLimited
	}
	if s.Input != "" {
		ri.Inputs = []string{s.Input}
	}
	if s.Budget.Day != "" {
		b := s.Budget
		ri.Budget = &b
	}
	var keys []string
	switch s.Command {
	case CommandApply:
		keys = ApplyOutcomes()
	case CommandPlan:
		keys = PlanOutcomes()
	case CommandVerify:
		keys = VerifyOutcomes()
	}
	for _, k := range keys {
		ri.Outcomes = append(ri.Outcomes, Count{k, outcomes[k]})
	}
	var extra []string
	for k := range outcomes {
		if !slices.Contains(keys, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		ri.Outcomes = append(ri.Outcomes, Count{k, outcomes[k]})
	}
	return ri
}

//go:embed html.tmpl
var pageTemplate string

// RenderHTML writes p as a self-contained page: inline CSS and SVG, no
// script, no external asset.
func RenderHTML(w io.Writer, p Page) error {
	t, err := template.New(HTMLName).Funcs(template.FuncMap{
		"num":  formatNum,
		"f1":   func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
		"half": func(v float64) float64 { return v / 2 },
		"when": formatWhen,
		"short": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04")
		},
		"pct":          formatPct,
		"outcomeClass": outcomeClass,
		"kindClass":    kindClass,
	}).Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("report: parse %s template: %w", HTMLName, err)
	}
	if err := t.Execute(w, newPageView(p)); err != nil {
		return fmt.Errorf("report: write %s: %w", HTMLName, err)
	}
	return nil
}

// pageView is the page with everything the template draws computed.
type pageView struct {
	Page
	Title            string
	Generated        time.Time
	Run              *runView
	Runs             []runView
	Charts           []chartView
	Reasons          []reasonView
	WarningReasons   []reasonView
	ProblemsMore     int
	Differences      []Change
	DifferencesMore  int
	DifferencesTotal int
}

func newPageView(p Page) pageView {
	v := pageView{Page: p, Title: p.Title, Generated: p.Generated}
	if p.Run != nil {
		rv := newRunView(*p.Run)
		v.Run = &rv
		if v.Title == "" {
			v.Title = "juicebatch " + p.Run.Command
			for i, in := range p.Run.Inputs {
				sep := ", "
				if i == 0 {
					sep = " "
				}
				v.Title += sep + filepath.Base(in)
			}
		}
		if v.Generated.IsZero() {
			v.Generated = p.Run.FinishedAt
		}
	}
	if v.Title == "" {
		v.Title = "juicebatch report"
	}
	for _, r := range p.Runs {
		v.Runs = append(v.Runs, newRunView(r))
	}
	for _, c := range p.Charts {
		v.Charts = append(v.Charts, newChartView(c))
	}
	v.Reasons = reasonViews(p.Reasons)
	v.WarningReasons = reasonViews(p.WarningReasons)
	v.ProblemsMore = max(0, p.Problems.Total-len(p.Problems.Rows))
	v.Differences = p.Differences
	if len(v.Differences) > MaxListedRows {
		v.Differences = v.Differences[:MaxListedRows]
	}
	v.DifferencesTotal = max(p.DifferencesTotal, len(p.Differences))
	v.DifferencesMore = v.DifferencesTotal - len(v.Differences)
	return v
}

// runView is a run with its outcome bar and ETA.
type runView struct {
	RunInfo
	Rows     int
	Bar      []segment
	Duration string
	ETA      string
	ETADays  int    // the ETA in days; 0 when none
	Tone     string // "ok", "warn", "stop", "bad": the status badge's colour
	Verdict  string // the status badge's words
}

// segment is one outcome's part of a bar, in a 0–1000 wide box.
type segment struct {
	Outcome string
	Rows    int
	X, W    float64
	Class   string
	Share   float64 // 0–100
}

func newRunView(r RunInfo) runView {
	v := runView{RunInfo: r}
	for _, c := range r.Outcomes {
		v.Rows += c.Rows
	}
	x := 0.0
	for _, c := range r.Outcomes {
		s := segment{Outcome: c.Outcome, Rows: c.Rows, Class: outcomeClass(c.Outcome)}
		if v.Rows > 0 {
			s.Share = 100 * float64(c.Rows) / float64(v.Rows)
			s.W = 10 * s.Share
		}
		s.X = x
		x += s.W
		v.Bar = append(v.Bar, s)
	}
	if !r.StartedAt.IsZero() {
		end := r.FinishedAt
		if end.IsZero() {
			end = r.UpdatedAt
		}
		if !end.IsZero() && !end.Before(r.StartedAt) {
			v.Duration = formatDuration(end.Sub(r.StartedAt))
		}
	}
	pending := 0
	for _, c := range r.Outcomes {
		if c.Outcome == "pending" {
			pending = c.Rows
		}
	}
	if pending > 0 && r.DailyBudget > 0 {
		days := (pending + r.DailyBudget - 1) / r.DailyBudget
		v.ETADays = days
		v.ETA = fmt.Sprintf("about %s at %s requests a day (%s rows pending; fewer if some turn out unchanged)",
			plural(days, "day"), formatNum(r.DailyBudget), formatNum(pending))
	}
	v.Tone, v.Verdict = verdict(r)
	return v
}

// verdict is the status badge of a run, from its exit code (the
// documented table: 0 ok, 1 fatal, 2 usage, 3 rows bad, 4 stopped).
func verdict(r RunInfo) (tone, words string) {
	if r.Status == "running" {
		return "stop", "running"
	}
	switch r.ExitCode {
	case 0:
		return "ok", "finished: every row done"
	case 3:
		return "warn", "finished: some rows need attention"
	case 4:
		return "stop", "stopped early: run again to resume"
	}
	return "bad", "failed: the run could not go on"
}

// outcomeClass is the CSS class of an outcome's colour. The class comes
// from this fixed set, never from the input.
func outcomeClass(o string) string {
	switch o {
	case "updated":
		return "o-upd"
	case "unchanged":
		return "o-unc"
	case "would_update":
		return "o-wou"
	case "invalid":
		return "o-inv"
	case "rejected":
		return "o-rej"
	case "failed":
		return "o-fai"
	case "pending":
		return "o-pen"
	}
	return "o-oth"
}

// kindClass is the CSS class of a FieldChange's kind, from a fixed set.
func kindClass(k string) string {
	switch k {
	case ChangeNew:
		return "k-new"
	case ChangeChanged, ChangeDiffering, ChangeReplaced:
		return "k-changed"
	case ChangeSame:
		return "k-same"
	case ChangeCleared, ChangeMissing:
		return "k-cleared"
	}
	return "k-other"
}

// reasonView is a reason with its share bar.
type reasonView struct {
	Reason
	Class string
	W     float64 // 0–100, relative to the largest group
}

func reasonViews(rs []Reason) []reasonView {
	top := 0
	for _, r := range rs {
		top = max(top, r.Count)
	}
	out := make([]reasonView, 0, len(rs))
	for _, r := range rs {
		v := reasonView{Reason: r, Class: outcomeClass(r.Outcome)}
		if r.Outcome == "warning" || r.Outcome == "" {
			v.Class = "o-wrn"
		}
		if top > 0 {
			v.W = 100 * float64(r.Count) / float64(top)
		}
		out = append(out, v)
	}
	return out
}

// Chart geometry, in the SVG's own units.
const (
	chartW      = 960.0
	chartH      = 240.0
	chartLeft   = 56.0
	chartRight  = 12.0
	chartTop    = 14.0
	chartBottom = 34.0
)

type chartView struct {
	Chart
	W, H                   float64
	Left, Right, Top, Base float64
	Bars                   []bar
	YTicks                 []tick
	XLabels                []tick
	BudgetY                float64
	Writes, Reads          int
	HasReads               bool
	NotKept                int
	ValueLabels            bool // few days: each bar's figure above it
}

type bar struct {
	X, Y, W, H float64
	Class      string
	Title      string
	Value      string // drawn above the bar when the chart has room
}

type tick struct {
	At    float64
	Label string
}

func newChartView(c Chart) chartView {
	if len(c.Days) > MaxChartDays {
		c.Days = c.Days[len(c.Days)-MaxChartDays:]
	}
	v := chartView{Chart: c, W: chartW, H: chartH, Left: chartLeft, Right: chartW - chartRight,
		Top: chartTop, Base: chartH - chartBottom}
	top := c.Budget
	for _, d := range c.Days {
		top = max(top, d.Writes, d.Reads)
		v.Writes += d.Writes
		v.Reads += d.Reads
		if d.Reads > 0 {
			v.HasReads = true
		}
		if d.NotKept {
			v.NotKept++
		}
	}
	step := niceStep(float64(max(top, 1)) / 4)
	ymax := step * math.Ceil(float64(max(top, 1))/step)
	plotH := v.Base - v.Top
	y := func(n int) float64 { return v.Base - plotH*float64(n)/ymax }
	for t := 0.0; t <= ymax+step/2; t += step {
		v.YTicks = append(v.YTicks, tick{At: v.Base - plotH*t/ymax, Label: formatNum(int(t))})
	}
	if c.Budget > 0 {
		v.BudgetY = y(c.Budget)
	}
	n := len(c.Days)
	if n == 0 {
		return v
	}
	// A slot a day, at most maxSlot wide so that a run of a few days does
	// not draw a few huge blocks; the days are centred.
	const maxSlot = 64.0
	slot := min((v.Right-v.Left)/float64(n), maxSlot)
	start := v.Left + ((v.Right-v.Left)-slot*float64(n))/2
	barW := slot * 0.7
	if v.HasReads {
		barW = slot * 0.38
	}
	// A day with requests gets a bar at least 2 units high, so 5 requests
	// under a budget of 1000 still show.
	h := func(n int) float64 {
		if n == 0 {
			return 0
		}
		return max(v.Base-y(n), 2)
	}
	v.ValueLabels = n <= 31
	labelEvery := max(1, int(math.Ceil(float64(n)/12)))
	for i, d := range c.Days {
		x0 := start + slot*float64(i) + slot*0.15
		if d.NotKept {
			v.Bars = append(v.Bars, bar{X: start + slot*float64(i), Y: v.Top, W: slot, H: plotH, Class: "nk",
				Title: d.Day + ": not kept in the state any more"})
		} else {
			title := fmt.Sprintf("%s: %s writes", d.Day, formatNum(d.Writes))
			if v.HasReads {
				title += fmt.Sprintf(", %s reads", formatNum(d.Reads))
			}
			v.Bars = append(v.Bars, bar{X: x0, Y: v.Base - h(d.Writes), W: barW, H: h(d.Writes), Class: "wr", Title: title,
				Value: formatNum(d.Writes)})
			if v.HasReads {
				v.Bars = append(v.Bars, bar{X: x0 + barW + slot*0.02, Y: v.Base - h(d.Reads), W: barW, H: h(d.Reads), Class: "rd",
					Title: title, Value: formatNum(d.Reads)})
			}
		}
		if i%labelEvery == 0 {
			label := d.Day
			if len(label) == len("2006-01-02") {
				label = label[5:]
			}
			v.XLabels = append(v.XLabels, tick{At: start + slot*(float64(i)+0.5), Label: label})
		}
	}
	return v
}

// niceStep rounds x up to 1, 2 or 5 times a power of ten.
func niceStep(x float64) float64 {
	if x <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// formatNum writes n with thin thousands separators: 1,234,567.
func formatNum(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatPct(v float64) string {
	switch {
	case v == 0:
		return "0%"
	case v < 0.1:
		return "<0.1%"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + "%"
}

func formatWhen(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	days := int(d / (24 * time.Hour))
	d -= time.Duration(days) * 24 * time.Hour
	h, m, s := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh %dm", days, h, m)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return formatNum(n) + " " + word + "s"
}

// WriteHTMLFile writes p to path (mode 0644) through a temporary file in
// the same directory, renamed over path once complete, so a reader never
// sees half a page.
func WriteHTMLFile(path string, p Page) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("report: create %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(publicMode); err != nil {
		f.Close()
		return fmt.Errorf("report: create %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := RenderHTML(bw, p); err != nil {
		f.Close()
		return err
	}
	if err := finish(f, func() {}, bw.Flush); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("report: replace %s: %w", path, err)
	}
	return nil
}
