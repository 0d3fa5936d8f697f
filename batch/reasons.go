package batch

import (
	"regexp"
	"strconv"
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
// see input.RowError) into its field and its problem: the reason without
// the value it quotes at its end, which normalize's reasons always put
// last (`not a valid email address: "bob@"`).
func invalidReason(text string) (field, problem string) {
	rest := rowErrorPrefix.ReplaceAllString(text, "")
	if f, r, ok := strings.Cut(rest, ": "); ok && isFieldName(f) {
		field, rest = f, r
	}
	return field, stripQuotedValue(rest)
}

// isFieldName reports whether s looks like a field or column name rather
// than the start of a sentence.
func isFieldName(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \"'(")
}

// stripQuotedValue removes a trailing `: "…"` (a Go-quoted value) from a
// reason.
func stripQuotedValue(reason string) string {
	for i := strings.Index(reason, `: "`); i >= 0; {
		if q, err := strconv.QuotedPrefix(reason[i+2:]); err == nil && i+2+len(q) == len(reason) {
			return reason[:i]
		}
		j := strings.Index(reason[i+1:], `: "`)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return reason
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
