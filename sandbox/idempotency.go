package sandbox

import (
	"net/http"
	"time"
)

// idemTTL is how long a stored answer is replayed.
const idemTTL = 24 * time.Hour

// idemKey scopes an Idempotency-Key to the API key (by its index in
// Options.Keys, so the key itself is not copied around).
type idemKey struct {
	apiKey int
	key    string
}

// idemEntry is one Idempotency-Key's request: in flight until done, then
// its stored answer until expires.
type idemEntry struct {
	fingerprint [32]byte
	done        bool
	status      int
	body        []byte
	requestID   string
	expires     time.Time
}

// idemExpiry queues stored entries by expiry so they can be dropped in
// order without scanning the map.
type idemExpiry struct {
	key     idemKey
	expires time.Time
}

// pruneIdemLocked forgets stored answers whose 24 h are over. s.mu must be
// held.
func (s *Server) pruneIdemLocked(now time.Time) {
	n := 0
	for n < len(s.idemQueue) && !now.Before(s.idemQueue[n].expires) {
		q := s.idemQueue[n]
		if e := s.idem[q.key]; e != nil && e.done && e.expires.Equal(q.expires) {
			delete(s.idem, q.key)
		}
		n++
	}
	// Reslicing is enough: append copies only the live part when it grows.
	s.idemQueue = s.idemQueue[n:]
}

// storeLocked turns an in-flight entry into a stored answer. s.mu must be
// held.
func (s *Server) storeLocked(k idemKey, e *idemEntry, status int, body []byte, requestID string, now time.Time) {
	e.done = true
	e.status = status
	e.body = body
	e.requestID = requestID
	e.expires = now.Add(idemTTL)
	s.idemQueue = append(s.idemQueue, idemExpiry{key: k, expires: e.expires})
}

// storable reports whether an answer with this status is kept under its
// Idempotency-Key: final answers only, not 409, 429 or 5xx.
func storable(status int) bool {
	return status < 500 && status != http.StatusConflict && status != http.StatusTooManyRequests
}
