package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// hour is the length of the sliding read window.
const hour = time.Hour

// Query parameters of GET /customers, and the limits of its page size.
const (
	defaultLimit = 15
	maxLimit     = 100
)

// admitReadLocked counts a read against the key's sliding hour at now, or
// refuses it with a 429 that is not counted. Its header (X-RateLimit-*, and
// Retry-After on a 429) goes with the answer either way. s.mu must be held.
func (s *Server) admitReadLocked(key int, now time.Time) admission {
	recent := s.readLimits[key]
	cut := 0
	for cut < len(recent) && !recent[cut].After(now.Add(-hour)) {
		cut++
	}
	recent = recent[cut:]
	h := http.Header{}
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.readsPerHour))
	if n := len(recent); n >= s.readsPerHour {
		s.readLimits[key] = recent
		// Allowed once the (n-limit+1)-th oldest leaves the window.
		allowedAt := recent[n-s.readsPerHour].Add(hour)
		secs := ceilSeconds(allowedAt.Sub(now))
		h.Set("Retry-After", strconv.Itoa(secs))
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(allowedAt), 10))
		return admission{
			err: &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
				message: fmt.Sprintf("Rate limit exceeded: %d read requests per hour per API key; retry after %d s", s.readsPerHour, secs),
				typ:     typeRateLimit, retryAfter: secs},
			header: h,
		}
	}
	recent = append(recent, now)
	s.readLimits[key] = recent
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.readsPerHour-len(recent)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(ceilUnix(recent[0].Add(hour)), 10))
	return admission{header: h}
}

// serveRead answers GET /customers (list) or GET /customers/{seg}: auth,
// the read limit, then the request checks; see the package documentation.
func (s *Server) serveRead(w http.ResponseWriter, r *http.Request, list bool, seg, reqID string) {
	key, aerr := s.authenticate(r)
	if aerr != nil {
		s.writeRead(w, r, key, errAnswer(aerr, reqID, wwwAuthenticate()))
		return
	}
	s.mu.Lock()
	adm := s.admitReadLocked(key, s.clock.Now())
	if adm.err != nil {
		s.stats.ReadsRateLimited++
	} else {
		s.stats.Reads++
	}
	s.mu.Unlock()
	if adm.err != nil {
		s.writeRead(w, r, key, errAnswer(adm.err, reqID, adm.header))
		return
	}
	var a answer
	if list {
		a = s.list(r, reqID)
	} else {
		a = s.one(r, seg, reqID)
	}
	a.header = adm.header
	s.writeRead(w, r, key, a)
}

// writeRead writes a read answer and counts it by status.
func (s *Server) writeRead(w http.ResponseWriter, r *http.Request, key int, a answer) {
	s.mu.Lock()
	if s.stats.ReadsByStatus == nil {
		s.stats.ReadsByStatus = map[int]int{}
	}
	s.stats.ReadsByStatus[a.status]++
	s.mu.Unlock()
	s.write(w, r, false, key, a)
}

// one answers GET /customers/{id}: 400 id, 406, 400 parameters, 404.
func (s *Server) one(r *http.Request, seg, reqID string) answer {
	id, aerr := parseID(seg)
	if aerr == nil {
		aerr = checkAccept(r.Header)
	}
	var mask fieldMask
	if aerr == nil {
		mask, aerr = parseOneQuery(r.URL.RawQuery)
	}
	if aerr != nil {
		return errAnswer(aerr, reqID, nil)
	}
	s.mu.Lock()
	rec, ok := s.customers[id]
	var v readView
	if ok {
		v = rec.view(mask)
	}
	s.mu.Unlock()
	if !ok {
		return errAnswer(errNotFound(), reqID, nil)
	}
	return answer{status: http.StatusOK, body: mustJSON(struct {
		Data readView `json:"data"`
	}{v})}
}

// list answers GET /customers: 406, 400 parameters (a cursor naming no
// customer included), then one page.
func (s *Server) list(r *http.Request, reqID string) answer {
	if aerr := checkAccept(r.Header); aerr != nil {
		return errAnswer(aerr, reqID, nil)
	}
	q, aerr := parseListQuery(r.URL.RawQuery)
	if aerr != nil {
		return errAnswer(aerr, reqID, nil)
	}
	s.mu.Lock()
	page, aerr := s.pageLocked(q)
	s.mu.Unlock()
	if aerr != nil {
		return errAnswer(aerr, reqID, nil)
	}
	return answer{status: http.StatusOK, body: mustJSON(page)}
}

// listQuery is a checked GET /customers query.
type listQuery struct {
	limit                       int
	after, before               string // cursors: customer ids; at most one set
	email                       string // "" for no filter
	createdAfter, createdBefore time.Time
	hasAfter, hasBefore         bool // the created_* filters are set
	desc                        bool
}

// listPage is the answer of GET /customers.
type listPage struct {
	Data       []readView `json:"data"`
	Pagination pagination `json:"pagination"`
}

// pagination carries the cursors of a page: before is the first record's
// id when records precede the page in its order, after the last record's
// id when records follow it; null otherwise.
type pagination struct {
	Before *string `json:"before"`
	After  *string `json:"after"`
	Limit  int     `json:"limit"`
}

// pageLocked selects one page. Records are kept in created_at order, so a
// page costs two binary searches and the page itself, whatever the size of
// the store. s.mu must be held.
func (s *Server) pageLocked(q listQuery) (listPage, *apiError) {
	recs := s.order
	lo, hi := 0, len(recs)
	if q.hasAfter {
		lo = searchCreated(recs, q.createdAfter, false)
	}
	if q.hasBefore {
		hi = max(lo, searchCreated(recs, q.createdBefore, true))
	}
	recs = recs[lo:hi]
	if q.email != "" {
		// Emails are unique (case-insensitively), so the filter leaves at
		// most one record.
		recs = nil
		if id, ok := s.emails[emailKey(q.email)]; ok {
			if rec := s.customers[id]; rec.pos >= lo && rec.pos < hi {
				recs = []*record{rec}
			}
		}
	}
	n := len(recs)
	var a, b int // the page is recs[a:b], in ascending order
	cursor, param := q.after, "after"
	if q.before != "" {
		cursor, param = q.before, "before"
	}
	var at time.Time
	if cursor != "" {
		rec, ok := s.customers[cursor]
		if !ok {
			return listPage{}, errInvalidParams(fieldErrors{param: {"no customer has this id; pass the id of a record from an earlier page"}})
		}
		at = rec.created
	}
	// Going forward in the page's order is going up for asc, down for desc.
	forward := func(from int) (int, int) { return from, min(n, from+q.limit) }
	backward := func(to int) (int, int) { return max(0, to-q.limit), to }
	switch {
	case cursor == "" && !q.desc:
		a, b = forward(0)
	case cursor == "":
		a, b = backward(n)
	case q.after != "" && !q.desc, q.before != "" && q.desc:
		a, b = forward(searchCreated(recs, at, false))
	default: // after with desc, before with asc
		a, b = backward(searchCreated(recs, at, true))
	}
	views := make([]readView, 0, b-a)
	for _, rec := range recs[a:b] {
		views = append(views, rec.view(allFields))
	}
	// Records follow the page in its order (after) or precede it (before).
	moreAfter, moreBefore := b < n, a > 0
	if q.desc {
		slices.Reverse(views)
		moreAfter, moreBefore = a > 0, b < n
	}
	p := listPage{Data: views, Pagination: pagination{Limit: q.limit}}
	if len(views) > 0 {
		if moreAfter {
			id := views[len(views)-1].c.ID
			p.Pagination.After = &id
		}
		if moreBefore {
			id := views[0].c.ID
			p.Pagination.Before = &id
		}
	}
	return p, nil
}

// errInvalidParams is a 400 naming every query parameter at fault.
func errInvalidParams(fe fieldErrors) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_parameter",
		message: "Invalid query parameters: " + fe.summary(), typ: typeInvalid, details: fe}
}

// Reasons for query parameter errors.
const (
	reasonParamUnknown = "unknown query parameter"
	reasonParamTwice   = "must be given at most once"
	reasonLimit        = "must be a whole number from 1 to 100"
	reasonCursor       = "must be a customer id (the id of a record from an earlier page)"
	reasonTime         = "must be an ISO 8601 date-time such as 2026-11-27T12:00:00Z or a date such as 2026-11-27 (send a + in an offset as %2B)"
	reasonSort         = "must be created_at:asc or created_at:desc"
	reasonEmptyParam   = "must not be empty"
	reasonFields       = "must be a comma-separated list of: id, first_name, last_name, email, phone_number, billing_address, created_at, updated_at"
)

// queryValues parses a raw query strictly: a malformed query, an unknown
// parameter or a repeated one is an error. It returns each parameter's one
// value.
func queryValues(raw string, allowed []string, fe fieldErrors) map[string]string {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		fe.add("query", "is not a valid query string")
		return nil
	}
	out := map[string]string{}
	for k, vs := range vals {
		switch {
		case !slices.Contains(allowed, k):
			fe.add(k, reasonParamUnknown)
		case len(vs) > 1:
			fe.add(k, reasonParamTwice)
		default:
			out[k] = vs[0]
		}
	}
	return out
}

// parseOneQuery checks the query of GET /customers/{id}: only fields=.
func parseOneQuery(raw string) (fieldMask, *apiError) {
	fe := fieldErrors{}
	vals := queryValues(raw, []string{"fields"}, fe)
	mask := allFields
	if v, ok := vals["fields"]; ok {
		m, unknown, ok := parseFields(v)
		switch {
		case ok:
			mask = m
		case unknown != "":
			fe.add("fields", fmt.Sprintf("names an unknown field %q; it %s", unknown, reasonFields))
		default:
			fe.add("fields", reasonFields)
		}
	}
	if len(fe) > 0 {
		return 0, errInvalidParams(fe)
	}
	return mask, nil
}

// parseListQuery checks the query of GET /customers.
func parseListQuery(raw string) (listQuery, *apiError) {
	fe := fieldErrors{}
	vals := queryValues(raw, []string{"limit", "after", "before", "email", "created_after", "created_before", "sort"}, fe)
	q := listQuery{limit: defaultLimit, desc: true}
	for k, v := range vals {
		if v == "" {
			fe.add(k, reasonEmptyParam)
			continue
		}
		switch k {
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxLimit || strings.TrimLeft(v, "0123456789") != "" {
				fe.add(k, reasonLimit)
				continue
			}
			q.limit = n
		case "after", "before":
			if !ValidID(v) {
				fe.add(k, reasonCursor)
				continue
			}
			if k == "after" {
				q.after = v
			} else {
				q.before = v
			}
		case "email":
			q.email = v
		case "created_after", "created_before":
			t, ok := parseISO8601(v)
			if !ok {
				fe.add(k, reasonTime)
				continue
			}
			if k == "created_after" {
				q.createdAfter, q.hasAfter = t, true
			} else {
				q.createdBefore, q.hasBefore = t, true
			}
		case "sort":
			switch v {
			case "created_at:asc":
				q.desc = false
			case "created_at:desc":
				q.desc = true
			default:
				fe.add(k, reasonSort)
			}
		}
	}
	if q.after != "" && q.before != "" {
		fe.add("before", "cannot be combined with after")
	}
	if len(fe) > 0 {
		return listQuery{}, errInvalidParams(fe)
	}
	return q, nil
}

// parseISO8601 reads the ISO 8601 forms a client sends in practice: an
// RFC 3339 date-time (a fraction optional, Z or an offset), or a calendar
// date, meaning its midnight UTC.
func parseISO8601(v string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}
