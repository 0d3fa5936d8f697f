package ratelimit

import (
	"net/http"
	"testing"
	"time"
)

func TestParseWord(t *testing.T) {
	now := time.Date(2026, time.December, 1, 21, 0, 0, 0, time.UTC) // Unix 1796158800
	const nowUnix = "1796158800"
	if got := now.Unix(); got != 1796158800 {
		t.Fatalf("test clock is Unix %d", got)
	}
	type kv = map[string]string
	tests := []struct {
		name string
		h    kv
		want Word
	}{
		{"no headers", kv{}, Word{}},
		{"unix timestamp", kv{"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "1796158842"},
			Word{Window: Budget{Limit: 10, Remaining: 3, HasRemaining: true, Reset: now.Add(42 * time.Second)}}},
		{"seconds from now", kv{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "42"},
			Word{Window: Budget{HasRemaining: true, Reset: now.Add(42 * time.Second)}}},
		{"fractional seconds", kv{"X-RateLimit-Reset": "1.5"},
			Word{Window: Budget{Reset: now.Add(1500 * time.Millisecond)}}},
		{"fractional timestamp", kv{"X-RateLimit-Reset": "1796158842.25"},
			Word{Window: Budget{Reset: now.Add(42250 * time.Millisecond)}}},
		{"just below the timestamp threshold is seconds", kv{"X-RateLimit-Reset": "999999999"},
			Word{Window: Budget{Reset: now.Add(999999999 * time.Second)}}},
		{"the threshold is a timestamp", kv{"X-RateLimit-Reset": "1000000000"},
			Word{Window: Budget{Reset: time.Unix(1e9, 0).UTC()}}},
		{"timestamp in the past kept", kv{"X-RateLimit-Reset": "1796158700"},
			Word{Window: Budget{Reset: now.Add(-100 * time.Second)}}},
		{"now is a timestamp too", kv{"X-RateLimit-Reset": nowUnix}, Word{Window: Budget{Reset: now}}},
		{"white space", kv{"X-RateLimit-Remaining": " 4 ", "X-RateLimit-Limit": "\t10"},
			Word{Window: Budget{Limit: 10, Remaining: 4, HasRemaining: true}}},
		{"garbage ignored one by one",
			kv{"X-RateLimit-Limit": "ten", "X-RateLimit-Remaining": "-1", "X-RateLimit-Reset": "soon"}, Word{}},
		{"remaining garbage, reset kept", kv{"X-RateLimit-Remaining": "3.5", "X-RateLimit-Reset": "10"},
			Word{Window: Budget{Reset: now.Add(10 * time.Second)}}},
		{"NaN and negative resets", kv{"X-RateLimit-Reset": "NaN", "X-RateLimit-Reset-Day": "-5"}, Word{}},
		{"milliseconds are garbage", kv{"X-RateLimit-Reset": "1796158842000"}, Word{}},
		{"infinite reset", kv{"X-RateLimit-Reset": "+Inf"}, Word{}},
		{"huge remaining", kv{"X-RateLimit-Remaining": "99999999999999999999999"}, Word{}},
		{"empty values", kv{"X-RateLimit-Remaining": "", "X-RateLimit-Reset": ""}, Word{}},
		{"day suffix", kv{"X-RateLimit-Limit-Day": "1000", "X-RateLimit-Remaining-Day": "0", "X-RateLimit-Reset-Day": "1796169600"},
			Word{Day: Budget{Limit: 1000, HasRemaining: true, Reset: time.Date(2026, time.December, 2, 0, 0, 0, 0, time.UTC)}}},
		{"day infix", kv{"X-RateLimit-Day-Limit": "1000", "X-RateLimit-Day-Remaining": "7", "X-RateLimit-Day-Reset": "3600"},
			Word{Day: Budget{Limit: 1000, Remaining: 7, HasRemaining: true, Reset: now.Add(time.Hour)}}},
		{"suffix wins over infix", kv{"X-RateLimit-Remaining-Day": "5", "X-RateLimit-Day-Remaining": "9"},
			Word{Day: Budget{Remaining: 5, HasRemaining: true}}},
		{"lower-case names", kv{"x-ratelimit-remaining": "2", "x-ratelimit-reset-day": "60"},
			Word{Window: Budget{Remaining: 2, HasRemaining: true}, Day: Budget{Reset: now.Add(time.Minute)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.h {
				h.Set(k, v)
			}
			got := ParseWord(h, now)
			if !sameBudget(got.Window, tt.want.Window) || !sameBudget(got.Day, tt.want.Day) {
				t.Errorf("ParseWord(%v) = %+v; want %+v", tt.h, got, tt.want)
			}
		})
	}
}

func sameBudget(a, b Budget) bool {
	return a.Limit == b.Limit && a.Remaining == b.Remaining && a.HasRemaining == b.HasRemaining && a.Reset.Equal(b.Reset)
}

func TestHold(t *testing.T) {
	reset := t0.Add(30 * time.Second)
	at := t0.Add(10 * time.Second)
	tests := []struct {
		name string
		b    Budget
		used int
		at   time.Time
		want time.Time
	}{
		{"nothing said", Budget{}, 0, at, at},
		{"remaining left", Budget{Remaining: 2, HasRemaining: true, Reset: reset}, 0, at, at},
		{"remaining left after those in flight", Budget{Remaining: 2, HasRemaining: true, Reset: reset}, 1, at, at},
		{"in flight use up the rest", Budget{Remaining: 2, HasRemaining: true, Reset: reset}, 2, at, reset},
		{"none left", Budget{Remaining: 0, HasRemaining: true, Reset: reset}, 0, at, reset},
		{"more sent than said", Budget{Remaining: 1, HasRemaining: true, Reset: reset}, 5, at, reset},
		{"reset reached", Budget{Remaining: 0, HasRemaining: true, Reset: reset}, 0, reset, reset},
		{"reset passed", Budget{Remaining: 0, HasRemaining: true, Reset: reset}, 3, reset.Add(time.Second), reset.Add(time.Second)},
		{"no reset to wait for", Budget{Remaining: 0, HasRemaining: true}, 0, at, at},
		{"reset without remaining", Budget{Reset: reset}, 9, at, at},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Hold(tt.b, tt.used, tt.at); !got.Equal(tt.want) {
				t.Errorf("Hold(%+v, %d, t0+%v) = t0+%v; want t0+%v", tt.b, tt.used, tt.at.Sub(t0), got.Sub(t0), tt.want.Sub(t0))
			}
		})
	}
}

func TestShare(t *testing.T) {
	tests := []struct {
		name                   string
		n, limit, remain, ours int
		wantOthers             int
		wantFactor             float64
	}{
		{"alone", 10, 10, 2, 8, 0, 1},
		{"alone, window not full", 10, 10, 7, 3, 0, 1},
		{"server counts fewer than we sent", 10, 10, 5, 7, 0, 1},
		{"another spends 2", 10, 10, 0, 8, 2, 0.76},
		{"another spends 5", 10, 10, 1, 4, 5, 0.475},
		{"others spend all", 10, 10, 0, 0, 10, 0.1},
		{"our pace below what is left", 5, 10, 2, 5, 3, 1},
		{"a limit below the pace", 10, 3, 0, 1, 2, 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Others(tt.limit, tt.remain, tt.ours)
			if o != tt.wantOthers {
				t.Errorf("Others(%d, %d, %d) = %d; want %d", tt.limit, tt.remain, tt.ours, o, tt.wantOthers)
			}
			if f := ShareFactor(tt.n, tt.limit, o); f < tt.wantFactor-1e-9 || f > tt.wantFactor+1e-9 {
				t.Errorf("ShareFactor(%d, %d, %d) = %v; want %v", tt.n, tt.limit, o, f, tt.wantFactor)
			}
		})
	}
}
