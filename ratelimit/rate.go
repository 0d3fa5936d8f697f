package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidRate is wrapped by every error ParseRate returns, so a caller can
// map a bad --rate value to a usage error with errors.Is.
var ErrInvalidRate = errors.New("invalid rate")

// rateExample is appended to every ParseRate error so the user sees a form
// that works.
const rateExample = `want N/UNIT such as "10/min", "5/s" or "100/90s"`

// Rate is a number of requests allowed per period: N requests in any window
// of length Per. The zero value is not a usable rate (ParseRate never returns
// it and NewPacer rejects it); Interval of the zero value is 0.
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate reads a rate written as N/UNIT, where N is a whole number ≥ 1 and
// UNIT is s, sec, second, m, min, minute, h or hour (plural and upper-case
// forms accepted) or a positive Go duration such as 1m, 60s or 1m30s:
// "10/min", "600/min", "5/s", "2/h", "100/1m", "10/90s". White space around
// the parts is ignored. Every error wraps ErrInvalidRate and names what was
// wrong.
func ParseRate(s string) (Rate, error) {
	bad := func(format string, args ...any) (Rate, error) {
		return Rate{}, fmt.Errorf("%w %q: %s; %s", ErrInvalidRate, s, fmt.Sprintf(format, args...), rateExample)
	}
	count, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return bad(`missing "/" between the count and the period`)
	}
	count, unit = strings.TrimSpace(count), strings.TrimSpace(unit)
	if count == "" {
		return bad(`missing the count before "/"`)
	}
	if unit == "" {
		return bad(`missing the period after "/"`)
	}
	n, err := strconv.Atoi(count)
	if errors.Is(err, strconv.ErrRange) {
		return bad("count %s is too large", count)
	}
	if err != nil {
		return bad("count %q is not a whole number", count)
	}
	if n < 1 {
		return bad("count must be at least 1, got %d", n)
	}
	per, ok := parsePeriod(unit)
	if !ok {
		return bad("period %q is neither a unit (s, min, h) nor a Go duration", unit)
	}
	if per <= 0 {
		return bad("period %s must be positive", unit)
	}
	if per/time.Duration(n) == 0 {
		return bad("%d requests per %s is more than one per nanosecond", n, per)
	}
	return Rate{N: n, Per: per}, nil
}

// parsePeriod reads a unit name or a Go duration.
func parsePeriod(unit string) (time.Duration, bool) {
	switch strings.ToLower(unit) {
	case "s", "sec", "secs", "second", "seconds":
		return time.Second, true
	case "m", "min", "mins", "minute", "minutes":
		return time.Minute, true
	case "h", "hr", "hrs", "hour", "hours":
		return time.Hour, true
	}
	d, err := time.ParseDuration(strings.ToLower(unit))
	if err != nil {
		return 0, false
	}
	return d, true
}

// String writes r in the form ParseRate reads back: "10/min", "5/s", "2/h",
// and "N/<Go duration>" for any other period, e.g. "10/1m15s".
func (r Rate) String() string {
	switch r.Per {
	case time.Second:
		return fmt.Sprintf("%d/s", r.N)
	case time.Minute:
		return fmt.Sprintf("%d/min", r.N)
	case time.Hour:
		return fmt.Sprintf("%d/h", r.N)
	}
	return fmt.Sprintf("%d/%s", r.N, r.Per)
}

// Set parses s into r, so that *Rate can serve as a flag.Value.
func (r *Rate) Set(s string) error {
	v, err := ParseRate(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Interval is the nominal time between two requests, Per/N, rounded down to
// the nanosecond. It is 0 when N < 1. The Pacer spaces requests slightly
// wider than this (see the package comment).
func (r Rate) Interval() time.Duration {
	if r.N < 1 {
		return 0
	}
	return r.Per / time.Duration(r.N)
}
