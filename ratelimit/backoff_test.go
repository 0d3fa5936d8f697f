package ratelimit

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func fixed(v float64) func() float64 { return func() float64 { return v } }

func TestBackoff(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name     string
		attempt  int
		base     time.Duration
		maxDelay time.Duration
		rnd      func() float64
		want     time.Duration
	}{
		{"attempt 1, rnd 0: half of base", 1, s, 30 * s, fixed(0), 500 * time.Millisecond},
		{"attempt 1, rnd 0.5", 1, s, 30 * s, fixed(0.5), 750 * time.Millisecond},
		{"attempt 1, rnd 1: base", 1, s, 30 * s, fixed(1), s},
		{"attempt 2 doubles", 2, s, 30 * s, fixed(1), 2 * s},
		{"attempt 3", 3, s, 30 * s, fixed(1), 4 * s},
		{"attempt 5", 5, s, 30 * s, fixed(1), 16 * s},
		{"attempt 6 capped", 6, s, 30 * s, fixed(1), 30 * s},
		{"attempt 6 capped, rnd 0", 6, s, 30 * s, fixed(0), 15 * s},
		{"attempt 1000 no overflow", 1000, s, 30 * s, fixed(1), 30 * s},
		{"attempt MaxInt", math.MaxInt, s, 30 * s, fixed(0), 15 * s},
		{"attempt 0 counts as 1", 0, s, 30 * s, fixed(1), s},
		{"negative attempt counts as 1", -3, s, 30 * s, fixed(0), 500 * time.Millisecond},
		{"nil rnd: no jitter", 3, s, 30 * s, nil, 4 * s},
		{"rnd above 1 clamped", 1, s, 30 * s, fixed(7), s},
		{"rnd below 0 clamped", 1, s, 30 * s, fixed(-7), 500 * time.Millisecond},
		{"rnd NaN taken as 0", 1, s, 30 * s, fixed(math.NaN()), 500 * time.Millisecond},
		{"1ns base stays positive", 1, time.Nanosecond, s, fixed(0), time.Nanosecond},
		{"zero base taken as 1ns", 1, 0, s, fixed(0), time.Nanosecond},
		{"max below base taken as base", 4, 2 * s, s, fixed(1), 2 * s},
		{"odd step rounds the fixed half up", 1, 3 * time.Nanosecond, s, fixed(0), 2 * time.Nanosecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Backoff(tt.attempt, tt.base, tt.maxDelay, tt.rnd)
			if got != tt.want {
				t.Errorf("Backoff(%d, %v, %v, rnd) = %v; want %v", tt.attempt, tt.base, tt.maxDelay, got, tt.want)
			}
		})
	}
}

// TestBackoffBounds checks, for random attempts and random jitter, that the
// wait is positive, at most the cap, and within [d/2, d] of its step d.
func TestBackoffBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		attempt := rng.IntN(80) + 1
		base := time.Duration(rng.Int64N(int64(10*time.Second))) + 1
		maxDelay := base + time.Duration(rng.Int64N(int64(time.Hour)))
		got := Backoff(attempt, base, maxDelay, rng.Float64)
		step := maxDelay
		if attempt-1 < 63 && base <= maxDelay>>(attempt-1) {
			step = base << (attempt - 1)
		}
		if got <= 0 || got > maxDelay || got < step/2 || got > step {
			t.Fatalf("Backoff(%d, %v, %v, rnd) = %v; want in [%v, %v] and in (0, %v]",
				attempt, base, maxDelay, got, step/2, step, maxDelay)
		}
	}
}

// TestBackoffGrowth checks that with the same jitter, a later attempt never
// waits less than an earlier one.
func TestBackoffGrowth(t *testing.T) {
	for _, r := range []float64{0, 0.3, 0.999} {
		prev := time.Duration(0)
		for attempt := 1; attempt <= 70; attempt++ {
			got := Backoff(attempt, 100*time.Millisecond, time.Minute, fixed(r))
			if got < prev {
				t.Fatalf("Backoff(%d, 100ms, 1m, %v) = %v; want ≥ %v (attempt %d)", attempt, r, got, prev, attempt-1)
			}
			prev = got
		}
	}
}

func BenchmarkBackoff(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; b.Loop(); i++ {
		Backoff(i%8+1, time.Second, time.Minute, rng.Float64)
	}
}
