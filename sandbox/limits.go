package sandbox

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// window is the length of the sliding minute window.
const window = 60 * time.Second

// keyLimits is one API key's use: the times of its counted requests inside
// the sliding window, oldest first, and its count for one UTC day.
type keyLimits struct {
	recent []time.Time
	day    time.Time // UTC midnight starting the day counted
	used   int
}

// admission is the outcome of counting one request.
type admission struct {
	err    *apiError   // a 429, or nil when the request was counted
	header http.Header // X-RateLimit-* (and Retry-After on a 429)
}

// admitLocked counts a PATCH against the key's limits at now, or refuses
// it with a 429 that is not counted. s.mu must be held.
func (s *Server) admitLocked(key int, now time.Time) admission {
	l := s.limits[key]
	if l == nil {
		l = &keyLimits{}
		s.limits[key] = l
	}
	// Keep the requests in (now-60s, now].
	cut := 0
	for cut < len(l.recent) && !l.recent[cut].After(now.Add(-window)) {
		cut++
	}
	l.recent = l.recent[cut:]
	day := utcDay(now)
	if !day.Equal(l.day) {
		l.day, l.used = day, 0
	}

	var allowedAt time.Time
	var msg string
	limit := 0
	if n := len(l.recent); n >= s.perMinute {
		// The request is allowed once enough of the oldest have left the
		// window: the (n-perMinute+1)-th oldest at its time + 60 s.
		allowedAt = l.recent[n-s.perMinute].Add(window)
		msg = fmt.Sprintf("Rate limit exceeded: %d requests per minute per API key", s.perMinute)
		limit = s.perMinute
	}
	if l.used >= s.perDay {
		if next := day.Add(24 * time.Hour); next.After(allowedAt) {
			allowedAt = next
			msg = fmt.Sprintf("Rate limit exceeded: %d requests per day (UTC) per API key", s.perDay)
			limit = s.perDay
		}
	}
	h := http.Header{}
	if limit != 0 {
		secs := ceilSeconds(allowedAt.Sub(now))
		h.Set("Retry-After", strconv.Itoa(secs))
		h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(allowedAt), 10))
		return admission{
			err: &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
				message: fmt.Sprintf("%s; retry after %d s", msg, secs), typ: typeRateLimit, retryAfter: secs},
			header: h,
		}
	}

	l.recent = append(l.recent, now)
	l.used++
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.perMinute))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.perMinute-len(l.recent)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(l.recent[0].Add(window)), 10))
	return admission{header: h}
}

// utcDay is the UTC midnight starting t's UTC day.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ceilSeconds is d in whole seconds, rounded up, at least 1.
func ceilSeconds(d time.Duration) int {
	secs := int((d + time.Second - 1) / time.Second)
	return max(secs, 1)
}

// ceilUnix is t as Unix seconds, rounded up.
func ceilUnix(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}
