package normalize

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Warning is something a value suggests is wrong that the update endpoint
// does not forbid: the row is sent with the value as given, and the
// warning goes to the report. With [Options.StrictValues] the first
// warning of a row makes it invalid instead, with the same text.
//
// Warnings are grouped in the report's reasons by Field and Problem, so
// Problem never holds the row's own value (that is Detail) and never
// contains ": " (so that [ParseWarnings] can split the text again).
type Warning struct {
	// Field is the canonical field name ("first_name",
	// "billing_address.line2").
	Field string
	// Problem says what is suspect, without the value: "contains a line
	// break (U+000A)".
	Problem string
	// Detail quotes the value, and the offending characters when that
	// helps: `"," "." in "Smith, Jr."`.
	Detail string
}

// String is the warning as results.csv shows it: "FIELD: PROBLEM: DETAIL".
func (w Warning) String() string {
	var b strings.Builder
	if w.Field != "" {
		b.WriteString(w.Field)
		b.WriteString(": ")
	}
	b.WriteString(w.reason())
	return b.String()
}

// reason is the warning without its field: a RowError's Reason under
// --strict-values.
func (w Warning) reason() string {
	if w.Detail == "" {
		return w.Problem
	}
	return w.Problem + ": " + w.Detail
}

// warningSep separates the warnings of one row in [JoinWarnings]' text.
// Details are Go-quoted, so no warning holds a raw line break.
const warningSep = "\n"

// JoinWarnings returns the text of a row's warnings, one a line, in the
// order they were found; "" when there are none.
func JoinWarnings(ws []Warning) string {
	switch len(ws) {
	case 0:
		return ""
	case 1:
		return ws[0].String()
	}
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.String()
	}
	return strings.Join(parts, warningSep)
}

// ParseWarnings reads a JoinWarnings text back into warnings, for a
// report pass that keeps only the text. A line without a field is returned
// with its whole text as Problem.
func ParseWarnings(text string) []Warning {
	if text == "" {
		return nil
	}
	lines := strings.Split(text, warningSep)
	out := make([]Warning, 0, len(lines))
	for _, l := range lines {
		field, rest, ok := strings.Cut(l, ": ")
		if !ok || strings.ContainsAny(field, " \"") {
			out = append(out, Warning{Problem: l})
			continue
		}
		problem, detail, _ := strings.Cut(rest, ": ")
		out = append(out, Warning{Field: field, Problem: problem, Detail: detail})
	}
	return out
}

// controlWarning is the problem a value's first control character or
// byte-order mark makes, or "".
func controlWarning(t string) string {
	for _, r := range t {
		if isControl(r) {
			return "contains " + describeControl(r)
		}
		if r == byteOrderMark {
			return "contains a byte-order mark (U+FEFF; were two files joined?)"
		}
	}
	return ""
}

// The creation endpoint's name rule (POST /customers), which the update
// endpoint does not state: at most maxNameRunes letters, combining marks,
// spaces, hyphens and apostrophes.
const nameRule = "(the creation endpoint allows only letters, spaces, hyphens and apostrophes in names)"

// nameWarnings returns the warnings the creation endpoint's name rule
// gives for a trimmed, non-empty name: one for digits, one for
// punctuation, symbols and other characters, one for the length. Control
// characters are left out: clean warns about them already.
func nameWarnings(field, s string) []Warning {
	var digits bool
	var others []rune
	for _, r := range s {
		switch {
		case isNameChar(r), isControl(r), r == byteOrderMark:
		case unicode.IsDigit(r):
			digits = true
		default:
			if len(others) < 5 && !containsRune(others, r) {
				others = append(others, r)
			}
		}
	}
	var out []Warning
	if digits {
		out = append(out, Warning{Field: field, Problem: "contains a digit " + nameRule, Detail: quote(s)})
	}
	if len(others) > 0 {
		names := make([]string, len(others))
		for i, r := range others {
			names[i] = describeRune(r)
		}
		out = append(out, Warning{Field: field, Problem: "contains punctuation, symbols or other characters " + nameRule,
			Detail: strings.Join(names, " ") + " in " + quote(s)})
	}
	if n := utf8.RuneCountInString(s); n > maxNameRunes {
		out = append(out, Warning{Field: field, Problem: fmt.Sprintf("longer than %d characters (the creation endpoint's limit for names)", maxNameRunes),
			Detail: fmt.Sprintf("%d characters, %s", n, quote(s))})
	}
	return out
}

func containsRune(rs []rune, r rune) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}
