package ratelimit

import (
	"fmt"
	"math"
	"time"
)

const (
	day    = 24 * time.Hour
	maxDur = time.Duration(math.MaxInt64)
)

// NextUTCDay is the first 00:00 UTC strictly after t, in UTC: the instant at
// which the server's daily quota starts afresh.
func NextUTCDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}

// UTCDay is t's UTC date as "2006-01-02": the key of the day whose quota a
// request sent at t counts against.
func UTCDay(t time.Time) string {
	return t.UTC().Format(time.DateOnly)
}

// ETA estimates how long the remaining requests take from now. The model:
// one request every r.Interval(), the first at now; each UTC day may spend
// its budget (budgetLeftToday for now's day, dailyBudget for every later
// day); when a day's budget is spent the next request waits for the next
// 00:00 UTC. The result is the instant the last request's interval ends,
// minus now. quotaBound reports whether the daily budget (rather than the
// pace alone) makes the run wait for a new day.
//
// dailyBudget ≤ 0 means no daily cap; a negative budgetLeftToday counts as
// 0. remaining ≤ 0 gives 0. Results too long for a Duration saturate at its
// maximum. ETA is pure and costs O(1) however many days it spans.
func ETA(now time.Time, remaining int, r Rate, budgetLeftToday, dailyBudget int) (d time.Duration, quotaBound bool) {
	if remaining <= 0 {
		return 0, false
	}
	iv := max(r.Interval(), 0)
	if dailyBudget <= 0 {
		return mulDur(remaining, iv), false
	}
	left := max(budgetLeftToday, 0)
	perDay := math.MaxInt // requests the pace fits into a whole UTC day
	if iv > 0 {
		perDay = ceilDiv(day, iv)
	}
	for {
		t := now.Add(d)
		toMidnight := NextUTCDay(t).Sub(t)
		byTime := math.MaxInt // requests the pace fits before midnight
		if iv > 0 {
			byTime = ceilDiv(toMidnight, iv)
		}
		if remaining <= min(left, byTime) {
			return addDur(d, mulDur(remaining, iv)), quotaBound
		}
		if byTime <= left {
			// The day ends before its budget: go on past midnight.
			remaining -= byTime
			d = addDur(d, mulDur(byTime, iv))
		} else {
			// The budget ends before the day: wait for midnight.
			quotaBound = true
			remaining -= left
			d = addDur(d, toMidnight)
			if dailyBudget < perDay && remaining > dailyBudget {
				// Every whole day from here sends dailyBudget; skip them.
				days := (remaining - 1) / dailyBudget
				remaining -= days * dailyBudget
				d = addDur(d, mulDur(days, day))
			}
		}
		if d == maxDur {
			return maxDur, quotaBound
		}
		left = dailyBudget
		if dailyBudget >= perDay {
			// The pace can never spend a day's budget: no more waiting.
			return addDur(d, mulDur(remaining, iv)), quotaBound
		}
	}
}

// FormatETA writes d for a progress line, rounded to its two largest units:
// "45s", "12m", "3h 5m", "2d 3h" ("3h" and "2d" when the second unit is 0).
// A negative or zero d is "0s"; a positive d under half a second is "1s",
// so work that is not done never shows as 0s.
func FormatETA(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	if s := d.Round(time.Second); s < time.Minute {
		return fmt.Sprintf("%ds", max(s/time.Second, 1))
	}
	if m := d.Round(time.Minute); m < day {
		h, mm := m/time.Hour, m%time.Hour/time.Minute
		switch {
		case h == 0:
			return fmt.Sprintf("%dm", mm)
		case mm == 0:
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh %dm", h, mm)
	}
	h := d.Round(time.Hour)
	days, hh := h/day, h%day/time.Hour
	if hh == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd %dh", days, hh)
}

// ceilDiv is ⌈a/b⌉ for a ≥ 0, b > 0.
func ceilDiv(a, b time.Duration) int {
	return int((a + b - 1) / b)
}

// mulDur is n × d, saturating at maxDur (n ≥ 0, d ≥ 0).
func mulDur(n int, d time.Duration) time.Duration {
	if d > 0 && int64(n) > int64(maxDur/d) {
		return maxDur
	}
	return time.Duration(n) * d
}

// addDur is a + b, saturating at maxDur (a, b ≥ 0).
func addDur(a, b time.Duration) time.Duration {
	if a > maxDur-b {
		return maxDur
	}
	return a + b
}
