package ratelimit

import "time"

// Backoff is the wait before retry number attempt (1 for the first retry):
// exponential growth base × 2^(attempt-1), capped at maxDelay, with "equal
// jitter": for that step d it returns d/2 + rnd()·d/2, so attempt 1 waits
// between base/2 and base. Half of the step is kept so a retry never comes
// back at once; the random half keeps workers that failed together from
// retrying together.
//
// The result is always > 0 and ≤ maxDelay. An attempt below 1 counts as 1,
// a base ≤ 0 as 1ns, and a maxDelay below base as base. rnd should return a
// value in [0, 1) (math/rand/v2's Float64); values outside [0, 1] are
// clamped, and a nil rnd means no jitter (the full step d). Backoff is pure.
func Backoff(attempt int, base, maxDelay time.Duration, rnd func() float64) time.Duration {
	if base <= 0 {
		base = time.Nanosecond
	}
	if maxDelay < base {
		maxDelay = base
	}
	if attempt < 1 {
		attempt = 1
	}
	d := maxDelay
	if shift := attempt - 1; shift < 63 && base <= maxDelay>>shift {
		d = base << shift
	}
	r := 1.0
	if rnd != nil {
		r = rnd()
	}
	if !(r >= 0) { // also catches NaN
		r = 0
	}
	if r > 1 {
		r = 1
	}
	half := d / 2
	return d - half + time.Duration(r*float64(half))
}
