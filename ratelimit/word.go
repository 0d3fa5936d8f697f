package ratelimit

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Word is what one answer of the server said about the key's budgets: the
// X-RateLimit-* headers, read by ParseWord. It is the same for every
// endpoint (updates, reads): the caller feeds the words of each budget's
// answers to that budget's own Pacer with Heard.
type Word struct {
	// Window is the short window the Pacer's Rate models (the minute of
	// 10 a minute; the hour of 1000 an hour for reads).
	Window Budget
	// Day is the UTC day's budget, when the server sends the -Day
	// variants; the zero Budget when it does not.
	Day Budget
}

// Budget is one limit as the server reported it. A field the server did not
// send, or sent as garbage, keeps its zero value and its Has flag false, so
// a Budget read from no headers at all says nothing and changes nothing.
type Budget struct {
	// Limit is X-RateLimit-Limit: requests allowed in the window; 0 when
	// not said.
	Limit int
	// Remaining is X-RateLimit-Remaining: requests the server will still
	// accept before Reset, this answer's own request already counted.
	// HasRemaining says whether it was said (0 is a value).
	Remaining    int
	HasRemaining bool
	// Reset is X-RateLimit-Reset as an instant: when the server will
	// accept more again. Zero when not said.
	Reset time.Time
}

// Known reports whether b says anything the Pacer can act on: how many
// requests remain. A Limit or a Reset alone does not.
func (b Budget) Known() bool { return b.HasRemaining }

// Spent reports whether b says nothing more is accepted before its Reset,
// and that Reset: remaining 0 and a Reset after now.
func (b Budget) Spent(now time.Time) (time.Time, bool) {
	if b.HasRemaining && b.Remaining <= 0 && b.Reset.After(now) {
		return b.Reset, true
	}
	return time.Time{}, false
}

// unixFrom is the smallest X-RateLimit-Reset taken as a Unix timestamp:
// 10^9 seconds, 2001-09-09. A seconds-from-now value that large would be 31
// years, and a timestamp below it is in the past of any server now running,
// so the magnitude decides the form without ambiguity. unixTo bounds the
// timestamps accepted (10^11 s is the year 5138): a larger number is more
// likely milliseconds, which nothing documents, and is read as garbage.
const (
	unixFrom = 1e9
	unixTo   = 1e11
)

// Header names, in the order they are tried. The -Day variants come in two
// spellings in the wild (X-RateLimit-Remaining-Day and
// X-RateLimit-Day-Remaining); both are read, the first found wins.
var (
	dayLimitNames     = []string{"X-RateLimit-Limit-Day", "X-RateLimit-Day-Limit"}
	dayRemainingNames = []string{"X-RateLimit-Remaining-Day", "X-RateLimit-Day-Remaining"}
	dayResetNames     = []string{"X-RateLimit-Reset-Day", "X-RateLimit-Day-Reset"}
)

// ParseWord reads the rate-limit headers of one answer received at now:
//
//   - X-RateLimit-Limit, X-RateLimit-Remaining: whole numbers ≥ 0.
//   - X-RateLimit-Reset: a number of seconds (fractions allowed), read as a
//     Unix timestamp when it is at least 10^9 (the provider documents a Unix
//     timestamp for its GET endpoints) and as seconds from now below that
//     (the form other servers use). A timestamp in the past is kept as it
//     is: the budget has already reset.
//   - The same three with -Day (X-RateLimit-Remaining-Day, also spelled
//     X-RateLimit-Day-Remaining, and so on) for the UTC day's budget.
//
// Each header is read on its own: an absent or unreadable one (negative,
// not a number, NaN, too large) leaves its field unset and the others
// stand. ParseWord is pure and never fails.
func ParseWord(h http.Header, now time.Time) Word {
	return Word{
		Window: Budget{
			Limit:        count(h.Get("X-RateLimit-Limit")),
			Remaining:    count(h.Get("X-RateLimit-Remaining")),
			HasRemaining: isCount(h.Get("X-RateLimit-Remaining")),
			Reset:        reset(h.Get("X-RateLimit-Reset"), now),
		},
		Day: Budget{
			Limit:        count(first(h, dayLimitNames)),
			Remaining:    count(first(h, dayRemainingNames)),
			HasRemaining: isCount(first(h, dayRemainingNames)),
			Reset:        reset(first(h, dayResetNames), now),
		},
	}
}

// first is the value of the first of names that h holds.
func first(h http.Header, names []string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// count is v as a whole number ≥ 0, or 0 when it is not one.
func count(v string) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func isCount(v string) bool {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	return err == nil && n >= 0
}

// reset reads a reset header (see ParseWord), or the zero time.
func reset(v string, now time.Time) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 || math.IsNaN(n) || n >= unixTo {
		return time.Time{}
	}
	if n >= unixFrom {
		sec, frac := math.Modf(n)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).In(now.Location())
	}
	return now.Add(time.Duration(math.Round(n * float64(time.Second))))
}

// Hold is the earliest instant at or after at that a request may leave by
// the server's word b, the word of the answer to an earlier request after
// which used more requests have left (they are on their way or answered
// without a word, so the server may have counted them since): with
// Remaining − used requests still allowed before Reset, the request goes at
// at; with none left, it waits for Reset. The requests the server allows
// thus go at the local pace, and the first one beyond them waits for the
// reset instead of provoking a 429.
//
// A word without Remaining, or without a Reset to wait for, holds nothing:
// then there is no instant to wait for, and a 429, should it come, says
// how long. A Reset at or before at holds nothing either: the word is
// spent. Hold is pure.
func Hold(b Budget, used int, at time.Time) time.Time {
	if !b.HasRemaining || b.Reset.IsZero() || !at.Before(b.Reset) {
		return at
	}
	if b.Remaining-used > 0 {
		return at
	}
	return b.Reset
}

// shareMargin is the part of what the other clients leave that the Pacer
// takes: 95 %. Taking all of it would fill the server's window at every
// moment, so the first request of another client after each of ours would
// meet a full window and a 429 (and ours the same after each of theirs);
// with 5 % left over, the two paces slide past one another with room to
// spare, and 95 % is still above the 90 % of what others leave that the
// contract asks to use.
const shareMargin = 0.95

// Others estimates the requests other clients spent in the window of an
// answer that reported limit and remaining, when ours of our own requests
// lie in that window (this answer's request included): what the server
// counted and we did not send. It is never below 0: a server that counts
// less than we sent (a window just slid) tells nothing about others. Pure.
func Others(limit, remaining, ours int) int {
	return max(limit-remaining-ours, 0)
}

// ShareFactor is the part of the configured pace (n requests a window) the
// Pacer keeps when other clients spent others of the server's limit in the
// last window: 1 when others is 0, and else 95 % of what they leave,
// (limit − others) × 0.95 / n, at most 1 (a configured pace below what is
// left is already slow enough) and at least 1/n (one request a window, so
// that a word keeps coming and tells when the others stop). Pure.
func ShareFactor(n, limit, others int) float64 {
	if others <= 0 || n < 1 {
		return 1
	}
	f := float64(limit-others) * shareMargin / float64(n)
	return min(max(f, 1/float64(n)), 1)
}
