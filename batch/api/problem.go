package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Problem is a server error, read from whichever published shape the server
// used:
//
//	{"error": {"code", "message", "type", "details": {"field": ["reason"]}}}
//	{"error": {...}, "errors": [{"field": "...", "message": "..."}]}
//	{"errors": [{"field": "...", "message": "..."}]}
//	{"message": "..."} or a plain-text body
//
// plus a request_id, inside "error" or at the top level.
type Problem struct {
	Status    int
	Code      string
	Type      string
	Message   string
	Fields    []FieldProblem // sorted by field name
	RequestID string
}

// FieldProblem is one field the server objected to, and why.
type FieldProblem struct {
	Field   string
	Reasons []string
}

// String is the report's error cell: the status and code, what the server
// said, each field with its reasons, and the request id for support, e.g.
// `422 validation_error: phone_number: Invalid phone number format (request req_42)`.
func (p *Problem) String() string {
	var b strings.Builder
	if p.Status != 0 {
		b.WriteString(strconv.Itoa(p.Status))
	}
	if p.Code != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.Code)
	}
	var parts []string
	for _, f := range p.Fields {
		parts = append(parts, f.Field+": "+strings.Join(f.Reasons, "; "))
	}
	msg := p.Message
	// Field details usually say more than a generic message; keep the
	// message too unless it adds nothing.
	if len(parts) > 0 && !p.messageAddsToFields() {
		msg = ""
	}
	if msg != "" {
		parts = append([]string{msg}, parts...)
	}
	if len(parts) > 0 {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(strings.Join(parts, "; "))
	}
	if p.RequestID != "" {
		fmt.Fprintf(&b, " (request %s)", p.RequestID)
	}
	return b.String()
}

// messageAddsToFields reports whether the message says more than the field
// details beside it. "Validation failed" says nothing more, and neither
// does "Validation failed: email must be …" that only restates the details
// it comes with (the sandbox's shape): one line a field, said once.
func (p *Problem) messageAddsToFields() bool {
	lower := strings.ToLower(strings.TrimSpace(p.Message))
	if lower == "" || lower == "validation failed" || lower == "validation error" {
		return false
	}
	rest, ok := strings.CutPrefix(lower, "validation failed: ")
	if !ok {
		rest, ok = strings.CutPrefix(lower, "validation error: ")
	}
	if !ok {
		return true
	}
	for _, f := range p.Fields {
		if !strings.Contains(rest, strings.ToLower(f.Field)) {
			return true
		}
	}
	return false
}

// ParseProblem reads an error answer. It never fails: a body in no known
// shape becomes the message, shortened.
func ParseProblem(status int, body []byte) *Problem {
	p := &Problem{Status: status}
	var doc struct {
		Error     json.RawMessage `json:"error"`
		Errors    json.RawMessage `json:"errors"`
		Message   string          `json:"message"`
		Code      string          `json:"code"`
		RequestID string          `json:"request_id"`
		Details   json.RawMessage `json:"details"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		text := strings.TrimSpace(string(body))
		if text == "" {
			p.Message = http.StatusText(status)
		} else {
			p.Message = "non-JSON answer: " + snippet(body)
		}
		return p
	}
	p.Message, p.Code, p.RequestID = doc.Message, doc.Code, doc.RequestID
	fields := map[string][]string{}
	readDetails(doc.Details, fields)
	readErrorsArray(doc.Errors, fields)
	if len(doc.Error) > 0 {
		var inner struct {
			Code      string          `json:"code"`
			Message   string          `json:"message"`
			Type      string          `json:"type"`
			Details   json.RawMessage `json:"details"`
			Errors    json.RawMessage `json:"errors"`
			RequestID string          `json:"request_id"`
		}
		if json.Unmarshal(doc.Error, &inner) == nil {
			p.Code = firstNonEmpty(inner.Code, p.Code)
			p.Message = firstNonEmpty(inner.Message, p.Message)
			p.Type = inner.Type
			p.RequestID = firstNonEmpty(inner.RequestID, p.RequestID)
			readDetails(inner.Details, fields)
			readErrorsArray(inner.Errors, fields)
		} else {
			var s string
			if json.Unmarshal(doc.Error, &s) == nil {
				p.Message = firstNonEmpty(s, p.Message)
			}
		}
	}
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		p.Fields = append(p.Fields, FieldProblem{Field: f, Reasons: fields[f]})
	}
	if p.Message == "" && len(p.Fields) == 0 {
		p.Message = http.StatusText(status)
	}
	return p
}

// readDetails reads {"field": ["reason", ...]} or {"field": "reason"}.
func readDetails(raw json.RawMessage, into map[string][]string) {
	if len(raw) == 0 {
		return
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	for field, v := range m {
		var list []string
		if json.Unmarshal(v, &list) == nil {
			into[field] = append(into[field], list...)
			continue
		}
		var one string
		if json.Unmarshal(v, &one) == nil {
			into[field] = append(into[field], one)
		}
	}
}

// readErrorsArray reads [{"field": "...", "message": "..."}].
func readErrorsArray(raw json.RawMessage, into map[string][]string) {
	if len(raw) == 0 {
		return
	}
	var list []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &list) != nil {
		return
	}
	for _, e := range list {
		field := e.Field
		if field == "" {
			field = "(request)"
		}
		into[field] = append(into[field], e.Message)
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// maxWait bounds any wait the server asks for that this package will report
// as such; longer asks are still reported, capped, so a caller can treat
// "wait a day" as "the day's quota is gone".
const maxWait = 48 * time.Hour

// WaitHint reads how long the server wants the client to wait, from the
// first of: the Retry-After header (seconds or an HTTP date), a retry_after
// header, a retry_after member in the JSON body (top level or inside
// "error"), and X-RateLimit-Reset (a Unix timestamp; small values are taken
// as seconds from now). The bool is false when the server said nothing.
func WaitHint(h http.Header, body []byte, now time.Time) (time.Duration, bool) {
	if d, ok := parseSeconds(h.Get("Retry-After"), now); ok {
		return d, true
	}
	if d, ok := parseSeconds(h.Get("Retry_After"), now); ok { // canonicalised "retry_after"
		return d, true
	}
	if len(body) > 0 {
		var doc struct {
			RetryAfter json.Number `json:"retry_after"`
			Error      struct {
				RetryAfter json.Number `json:"retry_after"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &doc) == nil {
			for _, n := range []json.Number{doc.Error.RetryAfter, doc.RetryAfter} {
				if d, ok := parseSeconds(n.String(), now); ok {
					return d, true
				}
			}
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
			var d time.Duration
			if n > 1e9 { // a Unix timestamp, as the provider documents
				d = time.Unix(0, int64(n*float64(time.Second))).Sub(now)
			} else {
				d = time.Duration(n * float64(time.Second))
			}
			return clampWait(d), true
		}
	}
	return 0, false
}

func parseSeconds(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 || n != n { // negative or NaN
			return 0, false
		}
		if n > maxWait.Seconds() {
			return maxWait, true
		}
		return clampWait(time.Duration(n * float64(time.Second))), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return clampWait(t.Sub(now)), true
	}
	return 0, false
}

func clampWait(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d > maxWait:
		return maxWait
	}
	return d
}
