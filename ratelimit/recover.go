package ratelimit

const (
	// slowStep multiplies the pace factor on each 429 that counts (see
	// Pacer.Pause).
	slowStep = 0.8

	// minFactor is the slowest a 429 makes the pace: a quarter of the
	// configured rate.
	minFactor = 0.25

	// climbStep is added to the pace factor after every cleanRun answers
	// without a 429, up to 1: from one 429's 0.8 back to the configured
	// pace in 8 answers, under a minute at 10 a minute.
	climbStep = 0.05
	cleanRun  = 2
)

// Slowed is the pace factor after a 429 that counts: f × 0.8, never below
// a quarter. Pure.
func Slowed(f float64) float64 {
	return max(f*slowStep, minFactor)
}

// Climb is the pace factor and the count of clean answers after one more
// answer without a 429, from factor f with clean such answers since the
// last step: every second clean answer adds 0.05, up to 1 (additive
// increase after Slowed's multiplicative decrease). Pure.
func Climb(f float64, clean int) (float64, int) {
	if f >= 1 {
		return 1, 0
	}
	clean++
	if clean < cleanRun {
		return f, clean
	}
	// Rounded to a millionth so that steps from 0.8 land on 1 exactly,
	// not on 0.9999999999999999 and one step more.
	return min(roundFactor(f+climbStep), 1), 0
}

func roundFactor(f float64) float64 {
	const q = 1e6
	return float64(int64(f*q+0.5)) / q
}
