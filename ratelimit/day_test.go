package ratelimit

import (
	"math"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time.Parse(%q) = %v", s, err)
	}
	return v
}

func TestNextUTCDay(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"afternoon", "2026-11-27T13:45:00Z", "2026-11-28T00:00:00Z"},
		{"exactly midnight is not after itself", "2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z"},
		{"a nanosecond before midnight", "2026-11-27T23:59:59.999999999Z", "2026-11-28T00:00:00Z"},
		{"a nanosecond after midnight", "2026-11-28T00:00:00.000000001Z", "2026-11-29T00:00:00Z"},
		{"end of month", "2026-11-30T08:00:00Z", "2026-12-01T00:00:00Z"},
		{"end of year", "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"},
		{"leap day", "2028-02-28T12:00:00Z", "2028-02-29T00:00:00Z"},
		{"east of UTC, local date ahead", "2026-11-28T00:30:00+01:00", "2026-11-28T00:00:00Z"},
		{"west of UTC, local date behind", "2026-11-27T22:00:00-05:00", "2026-11-29T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, want := mustTime(t, tt.in), mustTime(t, tt.want)
			got := NextUTCDay(in)
			if !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("NextUTCDay(%s) = %s; want %s", in, got, want)
			}
		})
	}
}

func TestUTCDay(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"UTC", "2026-11-27T13:45:00Z", "2026-11-27"},
		{"midnight", "2026-11-28T00:00:00Z", "2026-11-28"},
		{"last nanosecond", "2026-11-27T23:59:59.999999999Z", "2026-11-27"},
		{"local evening is the next UTC day", "2026-11-27T23:30:00-05:00", "2026-11-28"},
		{"local morning is the previous UTC day", "2026-11-28T00:30:00+01:00", "2026-11-27"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := mustTime(t, tt.in)
			if got := UTCDay(in); got != tt.want {
				t.Errorf("UTCDay(%s) = %q; want %q", in, got, tt.want)
			}
		})
	}
}

func TestETA(t *testing.T) {
	const (
		h = time.Hour
		m = time.Minute
		s = time.Second
	)
	perMin := Rate{10, time.Minute}
	tests := []struct {
		name      string
		now       string
		remaining int
		rate      Rate
		left      int
		budget    int
		want      time.Duration
		wantQuota bool
	}{
		{"nothing left", "2026-11-27T20:00:00Z", 0, perMin, 400, 1000, 0, false},
		{"negative remaining", "2026-11-27T20:00:00Z", -4, perMin, 400, 1000, 0, false},
		{"fits today", "2026-11-27T20:00:00Z", 45, perMin, 400, 1000, 270 * s, false},
		{"exactly today's budget", "2026-11-27T20:00:00Z", 400, perMin, 400, 1000, 40 * m, false},
		// 400 today until 20:40, wait to Nov 28 00:00 (4h), 1000 on Nov 28,
		// wait to Nov 29 00:00 (28h), 1000 by 01:40 Nov 29.
		{"two day boundaries", "2026-11-27T20:00:00Z", 2400, perMin, 400, 1000, 29*h + 40*m, true},
		// As above plus 1000 on Nov 29 and 100 from Nov 30 00:00 to 00:10.
		{"three day boundaries", "2026-11-27T20:00:00Z", 2500, perMin, 400, 1000, 52*h + 10*m, true},
		{"budget already spent", "2026-11-27T20:00:00Z", 10, perMin, 0, 1000, 4*h + 1*m, true},
		{"negative budget left counts as 0", "2026-11-27T20:00:00Z", 10, perMin, -5, 1000, 4*h + 1*m, true},
		{"midnight is a new day", "2026-11-27T00:00:00Z", 1001, perMin, 1000, 1000, 24*h + 6*s, true},
		// 1/h fits 24 a day: the budget never binds, the run just goes on
		// past midnight.
		{"pace bound across midnight", "2026-11-27T20:00:00Z", 10, Rate{1, time.Hour}, 1000, 1000, 10 * h, false},
		// 1/min: 240 by midnight, 1000 on Nov 28 until 16:40, wait to
		// Nov 29 00:00, 260 by 04:20.
		{"budget binds on a later day", "2026-11-27T20:00:00Z", 1500, Rate{1, time.Minute}, 1000, 1000, 32*h + 20*m, true},
		{"no daily cap", "2026-11-27T20:00:00Z", 5000, perMin, 0, 0, 8*h + 20*m, false},
		{"saturates", "2026-11-27T20:00:00Z", math.MaxInt, Rate{1, time.Hour}, 1, 1, time.Duration(math.MaxInt64), true},
		{"saturates without cap", "2026-11-27T20:00:00Z", math.MaxInt, Rate{1, time.Hour}, 0, 0, time.Duration(math.MaxInt64), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := mustTime(t, tt.now)
			got, quota := ETA(now, tt.remaining, tt.rate, tt.left, tt.budget)
			if got != tt.want || quota != tt.wantQuota {
				t.Errorf("ETA(%s, %d, %v, %d, %d) = %v, %v; want %v, %v",
					tt.now, tt.remaining, tt.rate, tt.left, tt.budget, got, quota, tt.want, tt.wantQuota)
			}
		})
	}
}

func TestFormatETA(t *testing.T) {
	const (
		h = time.Hour
		m = time.Minute
		s = time.Second
	)
	tests := []struct {
		in   time.Duration
		want string
	}{
		{-5 * s, "0s"},
		{0, "0s"},
		{400 * time.Millisecond, "1s"},
		{45 * s, "45s"},
		{59*s + 400*time.Millisecond, "59s"},
		{59*s + 600*time.Millisecond, "1m"},
		{12 * m, "12m"},
		{12*m + 29*s, "12m"},
		{12*m + 31*s, "13m"},
		{59*m + 40*s, "1h"},
		{3 * h, "3h"},
		{3*h + 5*m, "3h 5m"},
		{23*h + 59*m + 40*s, "1d"},
		{2*24*h + 3*h, "2d 3h"},
		{52*h + 10*m, "2d 4h"},
		{48*h + 29*m, "2d"},
		{time.Duration(math.MaxInt64), "106751d 23h"},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			if got := FormatETA(tt.in); got != tt.want {
				t.Errorf("FormatETA(%v) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}
