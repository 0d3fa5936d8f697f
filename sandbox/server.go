package sandbox

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Options configures a [Server]. Only Keys is required; the zero value of
// every other field is a sensible default.
type Options struct {
	// Keys are the accepted API keys (at least one; no white space or
	// control characters). Limits and Idempotency-Keys are kept per key.
	Keys []string
	// Customers seeds the store. nil seeds the one example customer of the
	// API document (id 6f7e1e7f-93d1-4fcc-b7a4-738f869615c8); an empty,
	// non-nil slice seeds none. Ids must pass [ValidID] and be unique;
	// values follow the rules of [LoadCustomers]. They are created in this
	// order, one second apart, ending a second before Clock's time at New,
	// so the read endpoints' created_at order is this order.
	Customers []Customer
	// CreateUnknown makes a PATCH to an unknown id create the customer
	// (then apply the update) instead of answering 404.
	CreateUnknown bool
	// PerMinute is the sliding 60 s window per API key; 0 means 10.
	PerMinute int
	// PerDay is the limit per API key per UTC day; 0 means 1000.
	PerDay int
	// ReadsPerHour is the sliding one-hour window of read requests
	// (GET /customers and GET /customers/{id}) per API key, apart from the
	// update limits; 0 means 1000.
	ReadsPerHour int
	// FailRate is the probability, in [0, 1], of answering 503 just before
	// applying an update. Nothing is applied or stored.
	FailRate float64
	// DropAfterApply is the probability, in [0, 1], of applying an update
	// (and storing its answer under its Idempotency-Key) and then closing
	// the connection without answering.
	DropAfterApply float64
	// Latency is added to every PATCH answer. It is waited on Clock and
	// ends early, without an answer, when the client goes away.
	Latency time.Duration
	// Seed seeds the fault rolls and request ids, so a run is reproducible
	// for the same order of requests.
	Seed int64
	// Clock is the time source of limits, idempotency expiry and Latency;
	// nil means the real clock.
	Clock clockwork.Clock
	// Logger receives one line per request (never the API key); nil
	// discards.
	Logger *slog.Logger
}

// Stats counts what the sandbox saw. GET /_sandbox/stats answers it as JSON.
type Stats struct {
	// RequestsByStatus counts answers to PATCH /customers/{id} by status
	// (401s and 429s included; GETs and dropped connections not).
	RequestsByStatus map[int]int `json:"requests_by_status"`
	// AppliedUpdates counts updates applied to a customer.
	AppliedUpdates int `json:"applied_updates"`
	// Replays counts stored answers replayed for an Idempotency-Key.
	Replays int `json:"replays"`
	// RateLimited counts 429 answers to PATCH (read 429s are in
	// ReadsRateLimited).
	RateLimited int `json:"rate_limited"`
	// DuplicateApplications counts, for each (customer id, canonical body)
	// applied more than once, the applications after the first.
	DuplicateApplications int `json:"duplicate_applications"`
	// DroppedConnections counts updates applied and then left unanswered
	// (Options.DropAfterApply).
	DroppedConnections int `json:"dropped_connections"`
	// Reads counts the read requests (GET /customers and
	// GET /customers/{id}) that counted against the read limit: every
	// answer to a valid API key except a 429, whatever its status (200,
	// 400, 404, 406). It is what the requests cost the key.
	Reads int `json:"reads"`
	// ReadsRateLimited counts read requests answered 429 (not counted in
	// Reads).
	ReadsRateLimited int `json:"reads_rate_limited"`
	// ReadsByStatus counts every read answer by status, 401s and 429s
	// included; absent until the first read.
	ReadsByStatus map[int]int `json:"reads_by_status,omitempty"`
	// Edits counts accepted POST /_sandbox/edit requests (changed a value
	// or not); they are neither updates nor reads.
	Edits int `json:"edits"`
}

// Server is the sandbox API, an [http.Handler]. It is safe for concurrent
// use; one mutex guards its state and is never held while waiting.
type Server struct {
	keys          [][]byte
	createUnknown bool
	perMinute     int
	perDay        int
	readsPerHour  int
	failRate      float64
	dropRate      float64
	latency       time.Duration
	clock         clockwork.Clock
	log           *slog.Logger

	mu        sync.Mutex
	faults    *rand.Rand // fault rolls
	ids       *rand.Rand // request ids
	customers map[string]*record
	order     []*record         // every record, by created ascending
	emails    map[string]string // emailKey → customer id
	limits    map[int]*keyLimits
	idem      map[idemKey]*idemEntry
	idemQueue []idemExpiry
	applied   map[appliedKey]int
	stats     Stats

	// readLimits holds each key's counted reads in the sliding hour,
	// oldest first.
	readLimits map[int][]time.Time
}

// appliedKey identifies one update body applied to one customer.
type appliedKey struct {
	id   string
	gen  int // the record's edit generation
	body [32]byte
}

// New returns a Server for opts, or an error naming the option at fault.
// API keys never appear in its errors.
func New(opts Options) (*Server, error) {
	if len(opts.Keys) == 0 {
		return nil, errors.New("sandbox: no API keys given")
	}
	s := &Server{
		createUnknown: opts.CreateUnknown,
		perMinute:     opts.PerMinute,
		perDay:        opts.PerDay,
		readsPerHour:  opts.ReadsPerHour,
		failRate:      opts.FailRate,
		dropRate:      opts.DropAfterApply,
		latency:       opts.Latency,
		clock:         opts.Clock,
		log:           opts.Logger,
		faults:        rand.New(rand.NewPCG(uint64(opts.Seed), 1)),
		ids:           rand.New(rand.NewPCG(uint64(opts.Seed), 2)),
		customers:     map[string]*record{},
		emails:        map[string]string{},
		limits:        map[int]*keyLimits{},
		readLimits:    map[int][]time.Time{},
		idem:          map[idemKey]*idemEntry{},
		applied:       map[appliedKey]int{},
		stats:         Stats{RequestsByStatus: map[int]int{}},
	}
	for i, k := range opts.Keys {
		if k == "" || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return nil, fmt.Errorf("sandbox: API key %d of %d is empty or holds white space or control characters", i+1, len(opts.Keys))
		}
		s.keys = append(s.keys, []byte(k))
	}
	switch {
	case s.perMinute < 0:
		return nil, fmt.Errorf("sandbox: per-minute limit %d is negative", s.perMinute)
	case s.perMinute == 0:
		s.perMinute = 10
	}
	switch {
	case s.perDay < 0:
		return nil, fmt.Errorf("sandbox: per-day limit %d is negative", s.perDay)
	case s.perDay == 0:
		s.perDay = 1000
	}
	switch {
	case s.readsPerHour < 0:
		return nil, fmt.Errorf("sandbox: reads-per-hour limit %d is negative", s.readsPerHour)
	case s.readsPerHour == 0:
		s.readsPerHour = 1000
	}
	if !isProbability(s.failRate) {
		return nil, fmt.Errorf("sandbox: fail rate %v is not in [0, 1]", s.failRate)
	}
	if !isProbability(s.dropRate) {
		return nil, fmt.Errorf("sandbox: drop-after-apply rate %v is not in [0, 1]", s.dropRate)
	}
	if s.latency < 0 {
		return nil, fmt.Errorf("sandbox: latency %v is negative", s.latency)
	}
	if s.clock == nil {
		s.clock = clockwork.NewRealClock()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	seed := opts.Customers
	if seed == nil {
		seed = []Customer{exampleCustomer()}
	}
	if err := checkSeeds(seed); err != nil {
		return nil, fmt.Errorf("sandbox: customers: %w", err)
	}
	s.order = make([]*record, 0, len(seed))
	for i, t := range seedTimes(s.clock.Now(), len(seed)) {
		s.addLocked(seed[i].clone(), t)
	}
	return s, nil
}

func isProbability(p float64) bool { return p >= 0 && p <= 1 && !math.IsNaN(p) }

// Stats returns a copy of the counters GET /_sandbox/stats answers.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.RequestsByStatus = maps.Clone(s.stats.RequestsByStatus)
	st.ReadsByStatus = maps.Clone(s.stats.ReadsByStatus)
	return st
}

// Customer returns a copy of the customer with the given id.
func (s *Server) Customer(id string) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers[id]
	if !ok {
		return Customer{}, false
	}
	return c.Customer.clone(), true
}

// Timestamps returns the created_at and updated_at of the customer with
// the given id, as the read endpoints show them.
func (s *Server) Timestamps(id string) (created, updated time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers[id]
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	return c.created, c.updated, true
}

// answer is one response ready to write.
type answer struct {
	status    int
	body      []byte
	header    http.Header // added to the response
	requestID string      // set when it differs from the request's (replays)
	replayed  bool
}

func errAnswer(e *apiError, requestID string, h http.Header) answer {
	return answer{status: e.status, body: e.body(requestID), header: h}
}

// noKey marks a request that did not authenticate, in logs.
const noKey = -1

// ServeHTTP routes a request; see the package documentation for the rules.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := s.newRequestID()
	w.Header().Set("X-Request-Id", reqID)
	path := r.URL.EscapedPath()
	seg, isCustomers := strings.CutPrefix(path, "/customers/")
	switch {
	case path == "/_sandbox/stats":
		if r.Method != http.MethodGet {
			s.write(w, r, false, noKey, errAnswer(errMethod("GET"), reqID, http.Header{"Allow": {"GET"}}))
			return
		}
		s.write(w, r, false, noKey, answer{status: http.StatusOK, body: mustJSON(s.Stats())})
	case path == "/_sandbox/edit":
		if r.Method != http.MethodPost {
			s.write(w, r, false, noKey, errAnswer(errMethod("POST"), reqID, http.Header{"Allow": {"POST"}}))
			return
		}
		s.serveEdit(w, r, reqID)
	case path == "/customers":
		if r.Method != http.MethodGet {
			s.write(w, r, false, noKey, errAnswer(errMethod("GET"), reqID, http.Header{"Allow": {"GET"}}))
			return
		}
		s.serveRead(w, r, true, "", reqID)
	case !isCustomers || seg == "" || strings.Contains(seg, "/"):
		s.write(w, r, false, noKey, errAnswer(errRouteNotFound(), reqID, nil))
	case r.Method == http.MethodPatch:
		s.servePatch(w, r, seg, reqID)
	case r.Method == http.MethodGet:
		s.serveRead(w, r, false, seg, reqID)
	default:
		s.write(w, r, false, noKey, errAnswer(errMethod("GET, PATCH"), reqID, http.Header{"Allow": {"GET, PATCH"}}))
	}
}

// newRequestID draws the next request id from the seeded source.
func (s *Server) newRequestID() string {
	var b [12]byte
	s.mu.Lock()
	for i := range b {
		b[i] = byte(s.ids.Uint32())
	}
	s.mu.Unlock()
	return "req_" + hex.EncodeToString(b[:])
}

// authenticate returns the index of the request's API key, or a 401.
func (s *Server) authenticate(r *http.Request) (int, *apiError) {
	unauthorized := func(msg string) (int, *apiError) {
		return noKey, &apiError{status: http.StatusUnauthorized, code: "unauthorized", message: msg, typ: typeAuth}
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return unauthorized("Missing Authorization header; send Authorization: Bearer <API key>")
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return unauthorized("Authorization header must be: Bearer <API key>")
	}
	token = strings.TrimSpace(token)
	for i, k := range s.keys {
		if subtle.ConstantTimeCompare([]byte(token), k) == 1 {
			return i, nil
		}
	}
	return unauthorized("Invalid API key")
}

// wwwAuthenticate goes with every 401.
func wwwAuthenticate() http.Header { return http.Header{"Www-Authenticate": {"Bearer"}} }

// dataEnvelope is a success body: {"data": record}.
type dataEnvelope struct {
	Data Customer `json:"data"`
}

// servePatch runs the checks in the documented order, then processes the
// update.
func (s *Server) servePatch(w http.ResponseWriter, r *http.Request, seg, reqID string) {
	key, aerr := s.authenticate(r)
	if aerr != nil {
		s.reply(w, r, key, errAnswer(aerr, reqID, wwwAuthenticate()))
		return
	}

	s.mu.Lock()
	adm := s.admitLocked(key, s.clock.Now())
	if adm.err != nil {
		s.stats.RateLimited++
	}
	s.mu.Unlock()
	if adm.err != nil {
		s.reply(w, r, key, errAnswer(adm.err, reqID, adm.header))
		return
	}
	maps.Copy(w.Header(), adm.header)

	req, aerr := s.checkPatch(w, r, seg)
	if aerr != nil {
		s.reply(w, r, key, errAnswer(aerr, reqID, nil))
		return
	}
	if req.idemKey == "" {
		s.process(w, r, key, req, reqID, idemKey{}, nil)
		return
	}

	ik := idemKey{apiKey: key, key: req.idemKey}
	s.mu.Lock()
	s.pruneIdemLocked(s.clock.Now())
	e := s.idem[ik]
	switch {
	case e == nil:
		e = &idemEntry{fingerprint: req.fingerprint}
		s.idem[ik] = e
	case e.fingerprint != req.fingerprint:
		s.mu.Unlock()
		s.reply(w, r, key, errAnswer(&apiError{status: http.StatusUnprocessableEntity, code: "idempotency_key_reused",
			message: "This Idempotency-Key was used with another request body; use a new key for another update",
			typ:     typeInvalid}, reqID, nil))
		return
	case !e.done:
		s.mu.Unlock()
		s.reply(w, r, key, errAnswer(&apiError{status: http.StatusConflict, code: "idempotency_conflict",
			message: "A request with this Idempotency-Key is still being processed; retry later",
			typ:     typeInvalid}, reqID, http.Header{"Retry-After": {"1"}}))
		return
	default:
		s.stats.Replays++
		a := answer{status: e.status, body: e.body, requestID: e.requestID, replayed: true,
			header: http.Header{"Idempotent-Replayed": {"true"}}}
		s.mu.Unlock()
		s.reply(w, r, key, a)
		return
	}
	s.mu.Unlock()
	// Whatever happens next (503, client gone, a panic), an entry that did
	// not get its answer stored is released so the key can be retried.
	defer func() {
		s.mu.Lock()
		if !e.done && s.idem[ik] == e {
			delete(s.idem, ik)
		}
		s.mu.Unlock()
	}()
	s.process(w, r, key, req, reqID, ik, e)
}

// checkPatch runs the request checks: 400 id, 415, 406, 400
// Idempotency-Key, 413, 400 JSON, 422 fields, 404 customer.
func (s *Server) checkPatch(w http.ResponseWriter, r *http.Request, seg string) (patchRequest, *apiError) {
	id, aerr := parseID(seg)
	if aerr != nil {
		return patchRequest{}, aerr
	}
	if aerr := checkContentType(r.Header); aerr != nil {
		return patchRequest{}, aerr
	}
	if aerr := checkAccept(r.Header); aerr != nil {
		return patchRequest{}, aerr
	}
	ikey := r.Header.Get("Idempotency-Key")
	if aerr := checkIdempotencyKey(ikey); aerr != nil {
		return patchRequest{}, aerr
	}
	body, aerr := readBody(w, r)
	if aerr != nil {
		return patchRequest{}, aerr
	}
	upd, canonical, aerr := parseUpdate(body)
	if aerr != nil {
		return patchRequest{}, aerr
	}
	if !s.createUnknown {
		if _, ok := s.Customer(id); !ok {
			return patchRequest{}, errNotFound()
		}
	}
	return patchRequest{
		id:          id,
		upd:         upd,
		canonical:   canonical,
		fingerprint: fingerprint(http.MethodPatch, id, canonical),
		idemKey:     ikey,
	}, nil
}

// process waits the latency, rolls for a 503, applies the update, stores
// the answer under the Idempotency-Key (when e is not nil), and rolls for
// a dropped connection.
func (s *Server) process(w http.ResponseWriter, r *http.Request, key int, req patchRequest, reqID string, ik idemKey, e *idemEntry) {
	if !s.sleep(r.Context()) {
		s.logGone(r, key, reqID)
		return
	}
	s.mu.Lock()
	if s.failRate > 0 && s.faults.Float64() < s.failRate {
		s.mu.Unlock()
		s.write(w, r, true, key, errAnswer(&apiError{status: http.StatusServiceUnavailable, code: "service_unavailable",
			message: "The service is temporarily unavailable; retry with the same Idempotency-Key",
			typ:     typeAPI}, reqID, http.Header{"Retry-After": {"1"}}))
		return
	}
	status, body := s.applyLocked(req, reqID)
	if e != nil && storable(status) {
		s.storeLocked(ik, e, status, body, reqID, s.clock.Now())
	}
	drop := status == http.StatusOK && s.dropRate > 0 && s.faults.Float64() < s.dropRate
	if drop {
		s.stats.DroppedConnections++
	}
	s.mu.Unlock()
	if drop {
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "sandbox request dropped after apply",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("key", keyLabel(key)), slog.String("request_id", reqID))
		// The server closes the connection without answering.
		panic(http.ErrAbortHandler)
	}
	s.write(w, r, true, key, answer{status: status, body: body})
}

// applyLocked applies a checked update and returns the answer's status and
// body. s.mu must be held.
func (s *Server) applyLocked(req patchRequest, reqID string) (int, []byte) {
	c, exists := s.customers[req.id]
	if !exists {
		if !s.createUnknown {
			e := errNotFound()
			return e.status, e.body(reqID)
		}
		c = &record{Customer: Customer{ID: req.id}}
	}
	u := req.upd
	if u.email != nil && *u.email != "" {
		if owner, taken := s.emails[emailKey(*u.email)]; taken && owner != req.id {
			e := fieldError("email", reasonTaken)
			return e.status, e.body(reqID)
		}
	}
	now := s.clock.Now()
	if !exists {
		c = s.addLocked(c.Customer, now)
	}
	before := c.Customer.clone()
	if u.email != nil {
		if c.Email != "" && s.emails[emailKey(c.Email)] == c.ID {
			delete(s.emails, emailKey(c.Email))
		}
		c.Email = *u.email
		if c.Email != "" {
			s.emails[emailKey(c.Email)] = c.ID
		}
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.FirstName, u.firstName)
	set(&c.LastName, u.lastName)
	set(&c.PhoneNumber, u.phone)
	switch {
	case u.clearAddress:
		c.BillingAddress = nil
	case u.address != nil:
		a := *u.address
		c.BillingAddress = &a
	}

	if exists && !sameValues(before, c.Customer) {
		c.touch(now)
	}

	s.stats.AppliedUpdates++
	ak := appliedKey{id: req.id, gen: c.gen, body: sha256.Sum256(req.canonical)}
	s.applied[ak]++
	if s.applied[ak] > 1 {
		s.stats.DuplicateApplications++
	}
	return http.StatusOK, mustJSON(dataEnvelope{c.Customer.clone()})
}

// reply writes a PATCH answer after the latency; a client that leaves
// during the wait gets nothing.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, key int, a answer) {
	if !s.sleep(r.Context()) {
		s.logGone(r, key, w.Header().Get("X-Request-Id"))
		return
	}
	s.write(w, r, true, key, a)
}

// sleep waits the latency on the clock; it reports false when ctx ended
// first.
func (s *Server) sleep(ctx context.Context) bool {
	if s.latency <= 0 {
		return true
	}
	t := s.clock.NewTimer(s.latency)
	defer t.Stop()
	select {
	case <-t.Chan():
		return true
	case <-ctx.Done():
		return false
	}
}

// write sends a, records its status when patch is set, and logs it.
func (s *Server) write(w http.ResponseWriter, r *http.Request, patch bool, key int, a answer) {
	h := w.Header()
	maps.Copy(h, a.header)
	if a.requestID != "" {
		h.Set("X-Request-Id", a.requestID)
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	if patch {
		s.mu.Lock()
		s.stats.RequestsByStatus[a.status]++
		s.mu.Unlock()
	}
	// Log before answering, so a client that has its answer can read the
	// line (tests do).
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "sandbox request",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", a.status), slog.String("key", keyLabel(key)),
		slog.String("request_id", h.Get("X-Request-Id")), slog.Bool("replayed", a.replayed))
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body) // a client that left is not our error
}

func (s *Server) logGone(r *http.Request, key int, reqID string) {
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "sandbox request abandoned by the client",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.String("key", keyLabel(key)), slog.String("request_id", reqID))
}

// keyLabel names an API key in logs by its position, never its value.
func keyLabel(key int) string {
	if key == noKey {
		return "none"
	}
	return "key#" + strconv.Itoa(key+1)
}
