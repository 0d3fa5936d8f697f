package batch

import (
	"regexp"
	"strings"

	"github.com/juicebatch/juicebatch/batch/normalize"
	"github.com/juicebatch/juicebatch/report"
)

// reasonTally counts, in the report pass, why rows were invalid or
// rejected and what they were warned about, from the texts the report
// writes: summary.json's reasons and the terminal summary come from the
// same lines as results.csv, also for rows an earlier invocation decided.
type reasonTally struct {
	reasons, warnings report.Reasons
	warned            int
}

func (t *reasonTally) add(res report.Result) {
	switch res.Outcome {
	case outInvalid:
		field, problem := invalidReason(res.Error)
		t.reasons.Add(res.Outcome, field, problem, res.Row, res.Error)
	case outRejected:
		field, problem := rejectedReason(res.Error)
		t.reasons.Add(res.Outcome, field, problem, res.Row, res.Error)
	}
	if res.Warnings == "" {
		return
	}
	t.warned++
	for _, w := range normalize.ParseWarnings(res.Warnings) {
		t.warnings.Add("", w.Field, w.Problem, res.Row, w.String())
	}
}

func (t *reasonTally) fill(s *report.Summary) {
	s.Warnings = t.warned
	s.Reasons = t.reasons.Top(report.TopReasons)
	s.WarningReasons = t.warnings.Top(report.TopReasons)
}

// rowErrorPrefix is the "FILE:LINE: " an input.RowError starts with.
var rowErrorPrefix = regexp.MustCompile(`^.*?:\d+: `)

// invalidReason splits an invalid row's text ("FILE:LINE: FIELD: REASON",
// see input.RowError) into its field and its problem. normalize writes
// every reason as PROBLEM or PROBLEM: DETAIL, where only the detail holds
// the row's own values (Go-quoted), so the problem is what comes before
// the first ": " that a quoted value follows: `not a valid email address:
// "bob@"` and `longer than 64 characters: 65 characters, "aaa…"` are each
// one reason however many rows have them.
func invalidReason(text string) (field, problem string) {
	rest := rowErrorPrefix.ReplaceAllString(text, "")
	if f, r, ok := strings.Cut(rest, ": "); ok && isFieldName(f) {
		field, rest = f, r
	}
	return field, problemOf(rest)
}

// isFieldName reports whether s looks like a field or column name rather
// than the start of a sentence.
func isFieldName(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \"'(")
}

// problemOf is reason without its detail: cut at the first ": " after
// which a quoted value comes. A reason without one ("...; missing: city")
// is its own problem.
func problemOf(reason string) string {
	for i := 0; ; {
		j := strings.Index(reason[i:], ": ")
		if j < 0 {
			return reason
		}
		if strings.Contains(reason[i+j+2:], `"`) {
			return reason[:i+j]
		}
		i += j + 2
	}
}

// serverPrefix is the status and code an api.Problem's text starts with
// ("422 validation_error: ").
var serverPrefix = regexp.MustCompile(`^\d{3}( [A-Za-z0-9_.-]+)?: `)

// requestSuffix is the request id an api.Problem's text ends with.
var requestSuffix = regexp.MustCompile(` \(request [^()]*\)$`)

// rejectedReason splits a rejected row's text (api.Problem's form,
// `422 validation_error: phone_number: Invalid phone number format
// (request req_42)`) into the field the server named, when it named one,
// and the problem without the request id, which differs on every row.
func rejectedReason(text string) (field, problem string) {
	rest := requestSuffix.ReplaceAllString(text, "")
	status := serverPrefix.FindString(rest)
	rest = rest[len(status):]
	if f, r, ok := strings.Cut(rest, ": "); ok && isFieldName(f) && !strings.Contains(r, "; ") {
		field, rest = f, r
	}
	if status == "" {
		return field, rest
	}
	return field, strings.TrimSuffix(status, ": ") + ": " + rest
}
