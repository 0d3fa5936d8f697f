package ratelimit

import (
	"errors"
	"flag"
	"io"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Rate
	}{
		{"default form", "10/min", Rate{10, time.Minute}},
		{"sandbox pace", "600/min", Rate{600, time.Minute}},
		{"per second", "5/s", Rate{5, time.Second}},
		{"m is minute", "10/m", Rate{10, time.Minute}},
		{"per hour", "2/h", Rate{2, time.Hour}},
		{"sec", "1/sec", Rate{1, time.Second}},
		{"second", "3/second", Rate{3, time.Second}},
		{"minute", "4/minute", Rate{4, time.Minute}},
		{"hour", "5/hour", Rate{5, time.Hour}},
		{"plural", "6/minutes", Rate{6, time.Minute}},
		{"upper case unit", "7/MIN", Rate{7, time.Minute}},
		{"duration 1m", "100/1m", Rate{100, time.Minute}},
		{"duration 60s", "10/60s", Rate{10, time.Minute}},
		{"compound duration", "10/1m30s", Rate{10, 90 * time.Second}},
		{"sub-second duration", "1/500ms", Rate{1, 500 * time.Millisecond}},
		{"spaces", "  10 / min ", Rate{10, time.Minute}},
		{"plus sign", "+10/min", Rate{10, time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseRate(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseRateErrors(t *testing.T) {
	const hint = `; want N/UNIT such as "10/min", "5/s" or "100/90s"`
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", `invalid rate "": missing "/" between the count and the period` + hint},
		{"no unit", "10", `invalid rate "10": missing "/" between the count and the period` + hint},
		{"no count", "/min", `invalid rate "/min": missing the count before "/"` + hint},
		{"no period", "10/", `invalid rate "10/": missing the period after "/"` + hint},
		{"zero", "0/min", `invalid rate "0/min": count must be at least 1, got 0` + hint},
		{"negative", "-1/min", `invalid rate "-1/min": count must be at least 1, got -1` + hint},
		{"not a number", "ten/min", `invalid rate "ten/min": count "ten" is not a whole number` + hint},
		{"fraction", "1.5/min", `invalid rate "1.5/min": count "1.5" is not a whole number` + hint},
		{"count overflow", "99999999999999999999/min", `invalid rate "99999999999999999999/min": count 99999999999999999999 is too large` + hint},
		{"unknown unit", "10/fortnight", `invalid rate "10/fortnight": period "fortnight" is neither a unit (s, min, h) nor a Go duration` + hint},
		{"two slashes", "10/min/s", `invalid rate "10/min/s": period "min/s" is neither a unit (s, min, h) nor a Go duration` + hint},
		{"duration overflow", "10/9999999999h", `invalid rate "10/9999999999h": period "9999999999h" is neither a unit (s, min, h) nor a Go duration` + hint},
		{"zero period", "10/0s", `invalid rate "10/0s": period 0s must be positive` + hint},
		{"negative period", "10/-1m", `invalid rate "10/-1m": period -1m must be positive` + hint},
		{"faster than 1/ns", "2/1ns", `invalid rate "2/1ns": 2 requests per 1ns is more than one per nanosecond` + hint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if err == nil {
				t.Fatalf("ParseRate(%q) = %v, nil; want error %q", tt.in, got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("ParseRate(%q) error = %q; want %q", tt.in, err, tt.want)
			}
			if !errors.Is(err, ErrInvalidRate) {
				t.Errorf("ParseRate(%q) error %v does not wrap ErrInvalidRate", tt.in, err)
			}
		})
	}
}

func TestRateString(t *testing.T) {
	tests := []struct {
		name string
		in   Rate
		want string
	}{
		{"per minute", Rate{10, time.Minute}, "10/min"},
		{"per second", Rate{5, time.Second}, "5/s"},
		{"per hour", Rate{2, time.Hour}, "2/h"},
		{"slowed once", Rate{10, 75 * time.Second}, "10/1m15s"},
		{"sub-second", Rate{100, 500 * time.Millisecond}, "100/500ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.String()
			if got != tt.want {
				t.Fatalf("%#v.String() = %q; want %q", tt.in, got, tt.want)
			}
			back, err := ParseRate(got)
			if err != nil || back != tt.in {
				t.Errorf("ParseRate(%q) = %v, %v; want %v, nil (round trip)", got, back, err, tt.in)
			}
		})
	}
}

func TestRateInterval(t *testing.T) {
	tests := []struct {
		name string
		in   Rate
		want time.Duration
	}{
		{"10/min", Rate{10, time.Minute}, 6 * time.Second},
		{"5/s", Rate{5, time.Second}, 200 * time.Millisecond},
		{"600/min", Rate{600, time.Minute}, 100 * time.Millisecond},
		{"rounds down", Rate{3, 10 * time.Second}, 3333333333 * time.Nanosecond},
		{"zero value", Rate{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Interval(); got != tt.want {
				t.Errorf("%#v.Interval() = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestRateFlag(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	r := Rate{10, time.Minute}
	fs.Var(&r, "rate", "requests per period")
	if err := fs.Parse([]string{"--rate", "5/s"}); err != nil {
		t.Fatalf("Parse(--rate 5/s) = %v; want nil", err)
	}
	if want := (Rate{5, time.Second}); r != want {
		t.Errorf("after --rate 5/s, rate = %v; want %v", r, want)
	}
	// flag formats the error with %v, so only its text survives.
	const want = `invalid value "0/s" for flag -rate: invalid rate "0/s": count must be at least 1, got 0; want N/UNIT such as "10/min", "5/s" or "100/90s"`
	if err := fs.Parse([]string{"--rate", "0/s"}); err == nil || err.Error() != want {
		t.Errorf("Parse(--rate 0/s) = %v; want %s", err, want)
	}
	if want := (Rate{5, time.Second}); r != want {
		t.Errorf("after a rejected --rate, rate = %v; want %v unchanged", r, want)
	}
}
