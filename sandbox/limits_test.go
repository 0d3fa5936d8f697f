package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// limitStep is one request at a point on the fake clock and what it gets.
type limitStep struct {
	name      string
	at        time.Duration // since the clock's start
	key       string        // default testKey
	body      string        // default a valid update
	want      int
	remaining string // X-RateLimit-Remaining on counted answers
	reset     int64  // X-RateLimit-Reset, Unix seconds
	retry     int    // Retry-After and retry_after on 429s
}

func runLimitSteps(t *testing.T, e *env, start time.Time, steps []limitStep) {
	t.Helper()
	for _, st := range steps {
		if d := start.Add(st.at).Sub(e.clock.Now()); d > 0 {
			e.clock.Advance(d)
		}
		key, body := st.key, st.body
		if key == "" {
			key = testKey
		}
		if body == "" {
			body = `{"first_name":"Ada"}`
		}
		r := e.patch(exampleID, body, map[string]string{"Authorization": "Bearer " + key})
		if r.status != st.want {
			t.Fatalf("%s: PATCH at +%v = %d %s; want %d", st.name, st.at, r.status, r.body, st.want)
		}
		if got := r.header.Get("X-Ratelimit-Reset"); got != strconv.FormatInt(st.reset, 10) {
			t.Errorf("%s: X-RateLimit-Reset = %s; want %d", st.name, got, st.reset)
		}
		if st.want != http.StatusTooManyRequests {
			if got := r.header.Get("X-Ratelimit-Remaining"); got != st.remaining {
				t.Errorf("%s: X-RateLimit-Remaining = %q; want %q", st.name, got, st.remaining)
			}
			if got := r.header.Get("Retry-After"); got != "" {
				t.Errorf("%s: counted answer has Retry-After %q", st.name, got)
			}
			continue
		}
		if got := r.header.Get("Retry-After"); got != strconv.Itoa(st.retry) {
			t.Errorf("%s: Retry-After = %q; want %d", st.name, got, st.retry)
		}
		eb := r.errorBody(t)
		if eb.Error.Code != "rate_limited" || eb.Error.Type != "rate_limit_error" || eb.Error.RetryAfter != st.retry {
			t.Errorf("%s: 429 error = %+v; want rate_limited, rate_limit_error, retry_after %d", st.name, eb.Error, st.retry)
		}
		if got := r.header.Get("X-Ratelimit-Remaining"); got != "0" {
			t.Errorf("%s: 429 X-RateLimit-Remaining = %q; want 0", st.name, got)
		}
	}
}

func TestSlidingMinuteWindow(t *testing.T) {
	start := noon()
	const u = int64(1795780800) // 2026-11-27T12:00:00Z
	e := newEnv(t, Options{PerMinute: 3})
	runLimitSteps(t, e, start, []limitStep{
		{name: "first", at: 0, want: 200, remaining: "2", reset: u + 60},
		{name: "second", at: 10 * time.Second, want: 200, remaining: "1", reset: u + 60},
		{name: "a 422 counts too", at: 20 * time.Second, body: `{}`, want: 422, remaining: "0", reset: u + 60},
		{name: "fourth in the window", at: 30*time.Second + 500*time.Millisecond, want: 429, retry: 30, reset: u + 60},
		{name: "other key has its own window", at: 30*time.Second + 500*time.Millisecond, key: otherKey, want: 200, remaining: "2", reset: u + 91},
		{name: "just before the first leaves", at: 59*time.Second + 999*time.Millisecond, want: 429, retry: 1, reset: u + 60},
		{name: "first left: (t-60s, t] holds two", at: 60 * time.Second, want: 200, remaining: "0", reset: u + 70},
		{name: "full again, the second leaves at +70", at: 60 * time.Second, want: 429, retry: 10, reset: u + 70},
		{name: "at +80 only the request at +60 is in the window", at: 80 * time.Second, want: 200, remaining: "1", reset: u + 120},
	})
	st := e.srv.Stats()
	if st.RateLimited != 3 || st.RequestsByStatus[429] != 3 {
		t.Errorf("rate_limited = %d, requests_by_status[429] = %d; want 3 and 3", st.RateLimited, st.RequestsByStatus[429])
	}
}

func TestDayLimit(t *testing.T) {
	// 04:59 at +05:00 is 23:59 UTC: the day is the UTC day, not the
	// clock's zone's.
	start := time.Date(2026, 11, 28, 4, 59, 0, 0, time.FixedZone("PKT", 5*3600))
	const u = int64(1795823940) // 2026-11-27T23:59:00Z
	e := newEnv(t, Options{PerDay: 3, Clock: clockwork.NewFakeClockAt(start)})
	runLimitSteps(t, e, start, []limitStep{
		{name: "1", at: 0, want: 200, remaining: "9", reset: u + 60},
		{name: "2", at: 10 * time.Second, want: 200, remaining: "8", reset: u + 60},
		{name: "3", at: 20 * time.Second, want: 200, remaining: "7", reset: u + 60},
		{name: "day spent: wait until UTC midnight", at: 20 * time.Second, want: 429, retry: 40, reset: u + 60},
		{name: "half a second before midnight", at: 59*time.Second + 500*time.Millisecond, want: 429, retry: 1, reset: u + 60},
		{name: "new UTC day", at: 60 * time.Second, want: 200, remaining: "7", reset: u + 70},
	})
	r := e.patch(exampleID, `{"first_name":"Ada"}`, nil)
	if r.status != 200 {
		t.Fatalf("second request of the new day = %d; want 200", r.status)
	}
}

func TestBothLimitsRetryAfterTheLater(t *testing.T) {
	start := time.Date(2026, 11, 27, 23, 59, 30, 0, time.UTC)
	const u = int64(1795823970) // 2026-11-27T23:59:30Z
	e := newEnv(t, Options{PerMinute: 2, PerDay: 2, Clock: clockwork.NewFakeClockAt(start)})
	runLimitSteps(t, e, start, []limitStep{
		{name: "1", at: 0, want: 200, remaining: "1", reset: u + 60},
		{name: "2", at: 0, want: 200, remaining: "0", reset: u + 60},
		{name: "day frees at +30 s, minute at +60 s", at: 0, want: 429, retry: 60, reset: u + 60},
		{name: "at midnight the minute still holds", at: 30 * time.Second, want: 429, retry: 30, reset: u + 60},
		{name: "both free", at: 60 * time.Second, want: 200, remaining: "1", reset: u + 120},
	})
	if r := e.patch(exampleID, `{"first_name":"Ada"}`, nil); r.status != 200 {
		t.Fatalf("second request of the new day = %d %s; want 200", r.status, r.body)
	}
	// Now both are spent; the day (next UTC midnight, 86370 s away) is
	// the later.
	r := e.patch(exampleID, `{"first_name":"Ada"}`, nil)
	if r.status != 429 || r.header.Get("Retry-After") != "86370" || !strings.Contains(r.errorBody(t).Error.Message, "per day") {
		t.Errorf("third request of the day = %d, Retry-After %q, %s; want 429, 86370, naming the day limit",
			r.status, r.header.Get("Retry-After"), r.body)
	}
}

func TestWhatCountsAgainstTheLimits(t *testing.T) {
	e := newEnv(t, Options{PerMinute: 3})
	// Not counted: GETs, stats, 401s.
	for range 5 {
		e.get("/customers/" + exampleID)
		e.stats()
		e.patch(exampleID, `{"first_name":"Ada"}`, map[string]string{"Authorization": "Bearer nope"})
	}
	// Counted: a replay, a validation error, a 404.
	steps := []struct {
		id, body, ikey string
		want           int
		remaining      string
	}{
		{exampleID, `{"first_name":"Ada"}`, "k1", 200, "2"},
		{exampleID, `{"first_name":"Ada"}`, "k1", 200, "1"}, // replay
		{"nobody", `{"first_name":"Ada"}`, "", 404, "0"},
	}
	for _, st := range steps {
		r := e.patch(st.id, st.body, map[string]string{"Idempotency-Key": st.ikey})
		if r.status != st.want || r.header.Get("X-Ratelimit-Remaining") != st.remaining {
			t.Fatalf("PATCH %s key %q = %d remaining %q; want %d remaining %q",
				st.id, st.ikey, r.status, r.header.Get("X-Ratelimit-Remaining"), st.want, st.remaining)
		}
		if r.header.Get("X-Ratelimit-Limit") != "3" {
			t.Errorf("X-RateLimit-Limit = %q; want 3", r.header.Get("X-Ratelimit-Limit"))
		}
	}
	if r := e.patch(exampleID, `{"first_name":"Ada"}`, nil); r.status != 429 {
		t.Errorf("fourth counted request = %d; want 429", r.status)
	}
}

func TestDefaultLimits(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.patch(exampleID, `{"first_name":"Ada"}`, nil)
	if r.header.Get("X-Ratelimit-Limit") != "10" || r.header.Get("X-Ratelimit-Remaining") != "9" {
		t.Errorf("default limit headers = %q/%q; want 10/9", r.header.Get("X-Ratelimit-Limit"), r.header.Get("X-Ratelimit-Remaining"))
	}
	for i := 2; i <= 10; i++ {
		if r := e.patch(exampleID, `{"first_name":"Ada"}`, nil); r.status != 200 {
			t.Fatalf("request %d = %d; want 200", i, r.status)
		}
	}
	if r := e.patch(exampleID, `{"first_name":"Ada"}`, nil); r.status != 429 || r.header.Get("Retry-After") != "60" {
		t.Errorf("11th request in a minute = %d, Retry-After %q; want 429, 60", r.status, r.header.Get("Retry-After"))
	}
}

func TestCeilSeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{0, 1},
		{-time.Second, 1},
		{time.Nanosecond, 1},
		{time.Second, 1},
		{time.Second + time.Nanosecond, 2},
		{29*time.Second + 500*time.Millisecond, 30},
		{24 * time.Hour, 86400},
	}
	for _, tt := range tests {
		if got := ceilSeconds(tt.d); got != tt.want {
			t.Errorf("ceilSeconds(%v) = %d; want %d", tt.d, got, tt.want)
		}
	}
}
