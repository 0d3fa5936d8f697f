package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// manyCustomers returns n customers c-0001 … in that load order, each with
// an email e0001@example.com …; every third has no phone and no address.
func manyCustomers(n int) []Customer {
	out := make([]Customer, n)
	for i := range out {
		c := Customer{ID: fmt.Sprintf("c-%04d", i+1), FirstName: "Ann", Email: fmt.Sprintf("e%04d@example.com", i+1)}
		if i%3 != 0 {
			c.PhoneNumber = "+2348031234567"
			c.BillingAddress = &Address{Line1: "1 Rd", City: "Lagos", Country: "NG"}
		}
		out[i] = c
	}
	return out
}

// createdAt is the created_at the sandbox gives the i-th (from 0) of n
// loaded customers with the clock at noon(): one second apart, the last a
// second before noon.
func createdAt(i, n int) string {
	return noon().Add(-time.Duration(n-i) * time.Second).Format(time.RFC3339)
}

// listed is a GET /customers answer, decoded.
type listed struct {
	Data []struct {
		ID        string `json:"id"`
		CreatedAt string `json:"created_at"`
		UpdatedAt string `json:"updated_at"`
	} `json:"data"`
	Pagination struct {
		Before *string `json:"before"`
		After  *string `json:"after"`
		Limit  *int    `json:"limit"`
	} `json:"pagination"`
}

func (l listed) ids() []string {
	out := make([]string, 0, len(l.Data))
	for _, d := range l.Data {
		out = append(out, d.ID)
	}
	return out
}

// list sends GET /customers?query and decodes a 200.
func (e *env) list(query string) listed {
	e.t.Helper()
	r := e.get("/customers?" + query)
	if r.status != http.StatusOK {
		e.t.Fatalf("GET /customers?%s = %d %s; want 200", query, r.status, r.body)
	}
	var l listed
	if err := json.Unmarshal(r.body, &l); err != nil {
		e.t.Fatalf("GET /customers?%s body %s: %v", query, r.body, err)
	}
	if l.Data == nil || l.Pagination.Limit == nil {
		e.t.Fatalf("GET /customers?%s body %s: want data (an array) and pagination.limit", query, r.body)
	}
	return l
}

func str(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

func TestListPagination(t *testing.T) {
	const n = 330
	e := newEnv(t, Options{Customers: manyCustomers(n), ReadsPerHour: 10_000})
	var asc []string
	for i := range n {
		asc = append(asc, fmt.Sprintf("c-%04d", i+1))
	}
	desc := slices.Clone(asc)
	slices.Reverse(desc)

	tests := []struct {
		sort  string // "" for the default
		limit int    // 0 for the default
		want  []string
	}{
		{"created_at:asc", 100, asc},
		{"created_at:desc", 100, desc},
		{"", 100, desc},
		{"created_at:asc", 0, asc},
		{"", 0, desc},
		{"created_at:asc", 33, asc},
		{"created_at:desc", 7, desc},
		{"created_at:asc", 1, asc[:5]}, // a short walk: five pages of one
	}
	for _, tt := range tests {
		limit := tt.limit
		if limit == 0 {
			limit = 15
		}
		t.Run(fmt.Sprintf("sort=%s limit=%d", tt.sort, tt.limit), func(t *testing.T) {
			base := url.Values{}
			if tt.sort != "" {
				base.Set("sort", tt.sort)
			}
			if tt.limit != 0 {
				base.Set("limit", strconv.Itoa(tt.limit))
			}
			short := len(tt.want) < n
			// Forward, following after from the first page.
			var got []string
			var pages []listed
			q := base
			for {
				l := e.list(q.Encode())
				if *l.Pagination.Limit != limit {
					t.Fatalf("page %d limit = %d; want %d", len(pages), *l.Pagination.Limit, limit)
				}
				wantBefore := "null"
				if len(pages) > 0 {
					wantBefore = l.Data[0].ID
				}
				if str(l.Pagination.Before) != wantBefore {
					t.Errorf("page %d before = %s; want %s", len(pages), str(l.Pagination.Before), wantBefore)
				}
				got = append(got, l.ids()...)
				pages = append(pages, l)
				if short && len(got) == len(tt.want) {
					break
				}
				if l.Pagination.After == nil {
					break
				}
				if a := *l.Pagination.After; a != l.Data[len(l.Data)-1].ID {
					t.Fatalf("page %d after = %s; want the last record's id %s", len(pages)-1, a, l.Data[len(l.Data)-1].ID)
				}
				q = cloneValues(base)
				q.Set("after", *l.Pagination.After)
				if len(pages) > n {
					t.Fatalf("more than %d pages", n)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("forward walk = %d ids %v…; want %d ids %v…", len(got), head(got), len(tt.want), head(tt.want))
			}
			if !short {
				if wantPages := (n + limit - 1) / limit; len(pages) != wantPages {
					t.Errorf("forward walk took %d pages; want %d", len(pages), wantPages)
				}
				for i, p := range pages {
					if i < len(pages)-1 && len(p.Data) != limit {
						t.Errorf("page %d has %d records; want %d", i, len(p.Data), limit)
					}
				}
			}
			// created_at follows the load order, one second apart.
			for _, d := range pages[0].Data {
				i := slices.Index(asc, d.ID)
				if want := createdAt(i, n); d.CreatedAt != want || d.UpdatedAt != want {
					t.Errorf("%s created_at, updated_at = %s, %s; want %s for both", d.ID, d.CreatedAt, d.UpdatedAt, want)
				}
			}
			if short {
				return
			}
			// Backward, following before from the last page: the same
			// pages, in reverse.
			last := pages[len(pages)-1]
			for i := len(pages) - 2; i >= 0; i-- {
				if last.Pagination.Before == nil {
					t.Fatalf("page %d before = null; want the first record's id", i+1)
				}
				q := cloneValues(base)
				q.Set("before", *last.Pagination.Before)
				l := e.list(q.Encode())
				if !slices.Equal(l.ids(), pages[i].ids()) {
					t.Fatalf("before=%s = %v; want page %d %v", *last.Pagination.Before, head(l.ids()), i, head(pages[i].ids()))
				}
				if str(l.Pagination.After) != l.Data[len(l.Data)-1].ID {
					t.Errorf("before=%s after = %s; want %s (records follow)", *last.Pagination.Before, str(l.Pagination.After), l.Data[len(l.Data)-1].ID)
				}
				last = l
			}
			if last.Pagination.Before != nil {
				t.Errorf("first page reached backward has before = %s; want null", *last.Pagination.Before)
			}
		})
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func head(ids []string) []string {
	return ids[:min(len(ids), 4)]
}

// TestListGet is a smoke test of both read endpoints on the wire.
func TestListGetOnTheWire(t *testing.T) {
	e := newEnv(t, Options{Customers: []Customer{
		{ID: "a", FirstName: "Ann", Email: "ann@example.com", BillingAddress: &Address{Line1: "1 Rd", City: "Lagos", Country: "NG"}},
		{ID: "b"},
	}})
	want := `{"data":[` +
		`{"id":"a","first_name":"Ann","last_name":null,"email":"ann@example.com","phone_number":null,` +
		`"billing_address":{"line1":"1 Rd","line2":null,"city":"Lagos","state":null,"zip_code":null,"country":"NG"},` +
		`"created_at":"2026-11-27T11:59:58Z","updated_at":"2026-11-27T11:59:58Z"},` +
		`{"id":"b","first_name":null,"last_name":null,"email":null,"phone_number":null,"billing_address":null,` +
		`"created_at":"2026-11-27T11:59:59Z","updated_at":"2026-11-27T11:59:59Z"}],` +
		`"pagination":{"before":null,"after":null,"limit":15}}` + "\n"
	if r := e.get("/customers?sort=created_at:asc"); r.status != http.StatusOK || string(r.body) != want {
		t.Errorf("GET /customers?sort=created_at:asc = %d %s; want 200 %s", r.status, r.body, want)
	}
	want = `{"data":{"id":"b","first_name":null,"last_name":null,"email":null,"phone_number":null,"billing_address":null,` +
		`"created_at":"2026-11-27T11:59:59Z","updated_at":"2026-11-27T11:59:59Z"}}` + "\n"
	if r := e.get("/customers/b"); r.status != http.StatusOK || string(r.body) != want {
		t.Errorf("GET /customers/b = %d %s; want 200 %s", r.status, r.body, want)
	}
}

func TestListParameterErrors(t *testing.T) {
	e := newEnv(t, Options{Customers: manyCustomers(3), ReadsPerHour: 10_000})
	tests := []struct {
		query   string
		field   string // the parameter details must name
		message string // part of the message
	}{
		{"limit=0", "limit", "limit must be a whole number from 1 to 100"},
		{"limit=101", "limit", "from 1 to 100"},
		{"limit=ten", "limit", "from 1 to 100"},
		{"limit=-1", "limit", "from 1 to 100"},
		{"limit=%2B5", "limit", "from 1 to 100"},
		{"limit=1.5", "limit", "from 1 to 100"},
		{"limit=", "limit", "limit must not be empty"},
		{"limit=10&limit=20", "limit", "limit must be given at most once"},
		{"sort=created_at", "sort", "sort must be created_at:asc or created_at:desc"},
		{"sort=email:asc", "sort", "created_at:asc or created_at:desc"},
		{"after=c-0001&before=c-0002", "before", "before cannot be combined with after"},
		{"after=nobody", "after", "after no customer has this id"},
		{"before=nobody", "before", "before no customer has this id"},
		{"after=a.b", "after", "after must be a customer id"},
		{"created_after=yesterday", "created_after", "created_after must be an ISO 8601 date-time"},
		{"created_before=2026-11-27T12:00:00+01:00", "created_before", "send a + in an offset as %2B"},
		{"created_after=2026-13-01", "created_after", "ISO 8601"},
		{"email=", "email", "email must not be empty"},
		{"page=2", "page", "page unknown query parameter"},
		{"fields=id", "fields", "fields unknown query parameter"},
		{"limit=%zz", "query", "query is not a valid query string"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := e.get("/customers?" + tt.query)
			if r.status != http.StatusBadRequest {
				t.Fatalf("GET /customers?%s = %d %s; want 400", tt.query, r.status, r.body)
			}
			eb := r.errorBody(t)
			if eb.Error.Code != "invalid_parameter" || eb.Error.Type != "invalid_request_error" ||
				len(eb.Error.Details[tt.field]) == 0 || !strings.Contains(eb.Error.Message, tt.message) || eb.Error.RequestID == "" {
				t.Errorf("GET /customers?%s error = %+v; want invalid_parameter naming %s, message with %q, a request id",
					tt.query, eb.Error, tt.field, tt.message)
			}
		})
	}
	t.Run("every bad parameter is named", func(t *testing.T) {
		eb := e.get("/customers?limit=0&sort=up&x=1").errorBody(t)
		for _, f := range []string{"limit", "sort", "x"} {
			if len(eb.Error.Details[f]) == 0 {
				t.Errorf("details %v; want %s named", eb.Error.Details, f)
			}
		}
	})
	for _, q := range []string{"limit=1", "limit=100", "limit=007", "sort=created_at:asc", "sort=created_at:desc", "after=c-0002", "before=c-0002"} {
		t.Run("accepted "+q, func(t *testing.T) { e.list(q) })
	}
}

func TestListFilters(t *testing.T) {
	const n = 10 // created 11:59:50 … 11:59:59
	e := newEnv(t, Options{Customers: manyCustomers(n), ReadsPerHour: 10_000})
	ids := func(nums ...int) []string {
		out := []string{}
		for _, i := range nums {
			out = append(out, fmt.Sprintf("c-%04d", i))
		}
		return out
	}
	tests := []struct {
		query      string
		want       []string
		wantBefore string
		wantAfter  string
	}{
		{"email=e0004@example.com", ids(4), "null", "null"},
		{"email=E0004@Example.COM", ids(4), "null", "null"},
		{"email=nobody@example.com", ids(), "null", "null"},
		{"sort=created_at:asc&created_after=2026-11-27T11:59:57Z", ids(9, 10), "null", "null"},
		{"sort=created_at:asc&created_before=2026-11-27T11:59:52Z", ids(1, 2), "null", "null"},
		{"sort=created_at:asc&created_after=2026-11-27T11:59:52Z&created_before=2026-11-27T11:59:56Z", ids(4, 5, 6), "null", "null"},
		{"created_after=2026-11-27T11:59:52Z&created_before=2026-11-27T11:59:56Z", ids(6, 5, 4), "null", "null"},
		{"sort=created_at:asc&created_after=2026-11-27T12:59:55.5%2B01:00", ids(7, 8, 9, 10), "null", "null"},
		{"sort=created_at:asc&created_after=2026-11-27", ids(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), "null", "null"},
		{"created_before=2026-11-27", ids(), "null", "null"},
		{"created_after=2026-11-27T11:59:56Z&created_before=2026-11-27T11:59:52Z", ids(), "null", "null"},
		// Cursors within filters: pages of two of 4…8.
		{"sort=created_at:asc&limit=2&created_after=2026-11-27T11:59:52Z&created_before=2026-11-27T11:59:58Z", ids(4, 5), "null", "c-0005"},
		{"sort=created_at:asc&limit=2&created_after=2026-11-27T11:59:52Z&created_before=2026-11-27T11:59:58Z&after=c-0005", ids(6, 7), "c-0006", "c-0007"},
		{"sort=created_at:asc&limit=2&created_after=2026-11-27T11:59:52Z&created_before=2026-11-27T11:59:58Z&after=c-0007", ids(8), "c-0008", "null"},
		{"limit=2&created_after=2026-11-27T11:59:52Z&created_before=2026-11-27T11:59:58Z&after=c-0007", ids(6, 5), "c-0006", "c-0005"},
		{"limit=2&created_after=2026-11-27T11:59:52Z&created_before=2026-11-27T11:59:58Z&before=c-0006", ids(8, 7), "null", "c-0007"},
		// A cursor outside the filters still places the page by its created_at.
		{"sort=created_at:asc&limit=2&created_after=2026-11-27T11:59:52Z&after=c-0001", ids(4, 5), "null", "c-0005"},
		// Past either end.
		{"sort=created_at:asc&after=c-0010", ids(), "null", "null"},
		{"after=c-0001", ids(), "null", "null"},
		{"sort=created_at:asc&before=c-0001", ids(), "null", "null"},
		{"email=e0004@example.com&created_after=2026-11-27T11:59:55Z", ids(), "null", "null"},
		{"email=e0004@example.com&after=c-0003&sort=created_at:asc", ids(4), "null", "null"},
		{"email=e0004@example.com&after=c-0004&sort=created_at:asc", ids(), "null", "null"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			l := e.list(tt.query)
			if !slices.Equal(l.ids(), tt.want) {
				t.Errorf("GET /customers?%s = %v; want %v", tt.query, l.ids(), tt.want)
			}
			if str(l.Pagination.Before) != tt.wantBefore || str(l.Pagination.After) != tt.wantAfter {
				t.Errorf("GET /customers?%s pagination before %s after %s; want %s, %s",
					tt.query, str(l.Pagination.Before), str(l.Pagination.After), tt.wantBefore, tt.wantAfter)
			}
		})
	}
}

func TestGetOne(t *testing.T) {
	e := newEnv(t, Options{Customers: []Customer{
		{ID: "a", FirstName: "Ann", Email: "ann@example.com", BillingAddress: &Address{Line1: "1 Rd", Line2: "", City: "Lagos", Country: "NG"}},
	}})
	tests := []struct {
		name   string
		path   string
		accept string
		want   int
		body   string // the whole body, or "" to check code only
		code   string
	}{
		{name: "fields", path: "/customers/a?fields=email,updated_at", want: 200,
			body: `{"data":{"id":"a","email":"ann@example.com","updated_at":"2026-11-27T11:59:59Z"}}`},
		{name: "fields with spaces, repeats and an empty value", path: "/customers/a?fields=%20last_name%20,,last_name,billing_address", want: 200,
			body: `{"data":{"id":"a","last_name":null,"billing_address":{"line1":"1 Rd","line2":null,"city":"Lagos","state":null,"zip_code":null,"country":"NG"}}}`},
		{name: "fields id only", path: "/customers/a?fields=id", want: 200, body: `{"data":{"id":"a"}}`},
		{name: "fields all", path: "/customers/a?fields=id,first_name,last_name,email,phone_number,billing_address,created_at,updated_at", want: 200,
			body: `{"data":{"id":"a","first_name":"Ann","last_name":null,"email":"ann@example.com","phone_number":null,` +
				`"billing_address":{"line1":"1 Rd","line2":null,"city":"Lagos","state":null,"zip_code":null,"country":"NG"},` +
				`"created_at":"2026-11-27T11:59:59Z","updated_at":"2026-11-27T11:59:59Z"}}`},
		{name: "unknown field", path: "/customers/a?fields=email,nickname", want: 400, code: "invalid_parameter"},
		{name: "nested field", path: "/customers/a?fields=billing_address.city", want: 400, code: "invalid_parameter"},
		{name: "empty fields", path: "/customers/a?fields=", want: 400, code: "invalid_parameter"},
		{name: "unknown parameter", path: "/customers/a?limit=1", want: 400, code: "invalid_parameter"},
		{name: "not found", path: "/customers/nobody", want: 404,
			body: `{"error":{"code":"not_found","message":"Customer not found","type":"invalid_request_error","request_id":"REQ"}}`},
		{name: "not found with fields", path: "/customers/nobody?fields=email", want: 404, code: "not_found"},
		{name: "bad id before a bad query", path: "/customers/a.b?fields=x", want: 400, code: "invalid_id"},
		{name: "accept version 1", path: "/customers/a?fields=id", accept: "application/json;version=1", want: 200, body: `{"data":{"id":"a"}}`},
		{name: "accept version 2", path: "/customers/a", accept: "application/json;version=2", want: 406, code: "not_acceptable"},
		{name: "accept text", path: "/customers", accept: "text/html", want: 406, code: "not_acceptable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.send(e.request(context.Background(), http.MethodGet, tt.path, "",
				map[string]string{"Authorization": "Bearer " + testKey, "Accept": tt.accept}))
			if r.status != tt.want {
				t.Fatalf("GET %s = %d %s; want %d", tt.path, r.status, r.body, tt.want)
			}
			if tt.body != "" {
				want := strings.ReplaceAll(tt.body, "REQ", r.header.Get("X-Request-Id")) + "\n"
				if string(r.body) != want {
					t.Errorf("GET %s body = %s; want %s", tt.path, r.body, want)
				}
			}
			if tt.code != "" {
				if eb := r.errorBody(t); eb.Error.Code != tt.code {
					t.Errorf("GET %s code = %q; want %q", tt.path, eb.Error.Code, tt.code)
				}
			}
			if r.header.Get("X-Ratelimit-Limit") != "1000" {
				t.Errorf("GET %s X-RateLimit-Limit = %q; want 1000 on every read answer", tt.path, r.header.Get("X-Ratelimit-Limit"))
			}
		})
	}
}

// readHeaders is what a read answer says about the read limit.
type readHeaders struct {
	status                         int
	limit, remaining, reset, retry string
}

func headersOf(r resp) readHeaders {
	return readHeaders{status: r.status, limit: r.header.Get("X-RateLimit-Limit"), remaining: r.header.Get("X-RateLimit-Remaining"),
		reset: r.header.Get("X-RateLimit-Reset"), retry: r.header.Get("Retry-After")}
}

func TestReadLimitSlidingHour(t *testing.T) {
	e := newEnv(t, Options{ReadsPerHour: 3})
	t0 := noon().Unix()
	unix := func(d time.Duration) string { return strconv.FormatInt(t0+int64(d/time.Second), 10) }
	steps := []struct {
		at   time.Duration // since noon
		path string
		want readHeaders
	}{
		{0, "/customers", readHeaders{200, "3", "2", unix(time.Hour), ""}},
		{10 * time.Minute, "/customers/" + exampleID, readHeaders{200, "3", "1", unix(time.Hour), ""}},
		{20 * time.Minute, "/customers/nobody", readHeaders{404, "3", "0", unix(time.Hour), ""}},
		{30 * time.Minute, "/customers", readHeaders{429, "3", "0", unix(time.Hour), "1800"}},
		{59*time.Minute + 59*time.Second + 500*time.Millisecond, "/customers", readHeaders{429, "3", "0", unix(time.Hour), "1"}},
		// The first read leaves the window at noon+1h exactly.
		{time.Hour, "/customers?limit=1", readHeaders{200, "3", "0", unix(70 * time.Minute), ""}},
		{time.Hour + time.Second, "/customers", readHeaders{429, "3", "0", unix(70 * time.Minute), "599"}},
		// At noon+80m the reads of noon+10m and noon+20m have left.
		{80 * time.Minute, "/customers/" + exampleID, readHeaders{200, "3", "1", unix(120 * time.Minute), ""}},
		{81 * time.Minute, "/customers/" + exampleID, readHeaders{200, "3", "0", unix(120 * time.Minute), ""}},
		{82 * time.Minute, "/customers/" + exampleID, readHeaders{429, "3", "0", unix(120 * time.Minute), "2280"}},
		{3 * time.Hour, "/customers", readHeaders{200, "3", "2", unix(4 * time.Hour), ""}},
	}
	start := e.clock.Now()
	for i, st := range steps {
		e.clock.Advance(start.Add(st.at).Sub(e.clock.Now()))
		r := e.get(st.path)
		if got := headersOf(r); got != st.want {
			t.Errorf("step %d (noon+%v GET %s) = %+v; want %+v", i, st.at, st.path, got, st.want)
		}
		if r.status == http.StatusTooManyRequests {
			eb := r.errorBody(t)
			if eb.Error.Code != "rate_limited" || strconv.Itoa(eb.Error.RetryAfter) != st.want.retry || !strings.Contains(eb.Error.Message, "3 read requests per hour") {
				t.Errorf("step %d 429 body = %s; want rate_limited, retry_after %s, naming the read limit", i, r.body, st.want.retry)
			}
		}
	}
	// Another key has its own hour.
	r := e.send(e.request(context.Background(), http.MethodGet, "/customers", "", map[string]string{"Authorization": "Bearer " + otherKey}))
	if got, want := headersOf(r), (readHeaders{200, "3", "2", unix(4 * time.Hour), ""}); got != want {
		t.Errorf("other key = %+v; want %+v", got, want)
	}
	// A 401 is not counted and says nothing about limits.
	r = e.send(e.request(context.Background(), http.MethodGet, "/customers", "", nil))
	if got, want := headersOf(r), (readHeaders{status: 401}); got != want {
		t.Errorf("no key = %+v; want %+v", got, want)
	}
	st := e.stats()
	if st.Reads != 8 || st.ReadsRateLimited != 4 || !maps.Equal(st.ReadsByStatus, map[int]int{200: 7, 404: 1, 429: 4, 401: 1}) {
		t.Errorf("stats reads %d, rate limited %d, by status %v; want 8, 4, map[200:7 401:1 404:1 429:4]", st.Reads, st.ReadsRateLimited, st.ReadsByStatus)
	}
}

func TestDefaultReadLimit(t *testing.T) {
	e := newEnv(t, Options{})
	for i := range 1000 {
		if r := e.get("/customers/" + exampleID + "?fields=id"); r.status != 200 || r.header.Get("X-Ratelimit-Remaining") != strconv.Itoa(999-i) {
			t.Fatalf("read %d = %d, remaining %q; want 200, %d", i+1, r.status, r.header.Get("X-Ratelimit-Remaining"), 999-i)
		}
	}
	if r := e.get("/customers"); r.status != 429 || r.header.Get("Retry-After") != "3600" {
		t.Errorf("read 1001 = %d, Retry-After %q; want 429, 3600", r.status, r.header.Get("Retry-After"))
	}
}

func TestReadsAndUpdatesAreLimitedApart(t *testing.T) {
	e := newEnv(t, Options{ReadsPerHour: 2, PerMinute: 2, PerDay: 5})
	// Reads used up: updates still have their whole minute.
	e.get("/customers")
	e.get("/customers/" + exampleID)
	if r := e.get("/customers"); r.status != 429 {
		t.Fatalf("third read = %d; want 429", r.status)
	}
	for i, want := range []string{"1", "0"} {
		r := e.patch(exampleID, fmt.Sprintf(`{"first_name":"Ann%c"}`, 'a'+i), nil)
		if r.status != 200 || r.header.Get("X-Ratelimit-Remaining") != want || r.header.Get("X-Ratelimit-Limit") != "2" {
			t.Errorf("PATCH %d after the reads = %d, limit %q remaining %q; want 200, 2, %s", i, r.status,
				r.header.Get("X-Ratelimit-Limit"), r.header.Get("X-Ratelimit-Remaining"), want)
		}
	}
	if r := e.patch(exampleID, `{"first_name":"Cy"}`, nil); r.status != 429 {
		t.Fatalf("third PATCH = %d; want 429", r.status)
	}
	// An hour on: reads are back, and PATCHes do not eat them.
	e.clock.Advance(time.Hour)
	e.patch(exampleID, `{"first_name":"Di"}`, nil)
	e.patch(exampleID, `{"first_name":"Ed"}`, nil)
	if r := e.get("/customers"); r.status != 200 || r.header.Get("X-Ratelimit-Remaining") != "1" || r.header.Get("X-Ratelimit-Limit") != "2" {
		t.Errorf("read after two PATCHes = %d, limit %q remaining %q; want 200, 2, 1", r.status,
			r.header.Get("X-Ratelimit-Limit"), r.header.Get("X-Ratelimit-Remaining"))
	}
	st := e.stats()
	if st.Reads != 3 || st.ReadsRateLimited != 1 || st.RateLimited != 1 || st.AppliedUpdates != 4 ||
		!maps.Equal(st.RequestsByStatus, map[int]int{200: 4, 429: 1}) {
		t.Errorf("stats = %+v; want 3 reads, 1 read 429, 1 PATCH 429, 4 applied, PATCH statuses {200:4 429:1}", st)
	}
}

func TestTimestamps(t *testing.T) {
	e := newEnv(t, Options{PerMinute: 100, CreateUnknown: true})
	updated := func(id string) string {
		e.t.Helper()
		var d struct {
			Data struct {
				CreatedAt string `json:"created_at"`
				UpdatedAt string `json:"updated_at"`
			} `json:"data"`
		}
		r := e.get("/customers/" + id + "?fields=created_at,updated_at")
		if err := json.Unmarshal(r.body, &d); err != nil {
			t.Fatalf("GET %s: %s: %v", id, r.body, err)
		}
		return d.Data.CreatedAt + " " + d.Data.UpdatedAt
	}
	steps := []struct {
		name    string
		advance time.Duration
		id      string
		body    string
		want    string
	}{
		{"a change moves updated_at", 90 * time.Second, exampleID, `{"first_name":"Ann"}`, "2026-11-27T11:59:59Z 2026-11-27T12:01:30Z"},
		{"the same value again does not", time.Minute, exampleID, `{"first_name":"Ann"}`, "2026-11-27T11:59:59Z 2026-11-27T12:01:30Z"},
		{"a fraction of a second shows", 250 * time.Millisecond, exampleID, `{"email":"ann@example.com"}`, "2026-11-27T11:59:59Z 2026-11-27T12:02:30.25Z"},
		{"a created customer", 0, "new-1", `{"first_name":"Bo"}`, "2026-11-27T12:02:30.25Z 2026-11-27T12:02:30.25Z"},
		{"a second one in the same instant comes a nanosecond later", 0, "new-2", `{"first_name":"Cy"}`, "2026-11-27T12:02:30.250000001Z 2026-11-27T12:02:30.250000001Z"},
		{"and its update is not before its creation", 0, "new-2", `{"first_name":"Di"}`, "2026-11-27T12:02:30.250000001Z 2026-11-27T12:02:30.250000001Z"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			e.clock.Advance(st.advance)
			if r := e.patch(st.id, st.body, nil); r.status != 200 {
				t.Fatalf("PATCH %s %s = %d %s", st.id, st.body, r.status, r.body)
			}
			if got := updated(st.id); got != st.want {
				t.Errorf("created_at updated_at = %s; want %s", got, st.want)
			}
		})
	}
	t.Run("created customers come last in created_at order", func(t *testing.T) {
		if got, want := e.list("sort=created_at:asc").ids(), []string{exampleID, "new-1", "new-2"}; !slices.Equal(got, want) {
			t.Errorf("ids = %v; want %v", got, want)
		}
		if got, want := e.list("").ids(), []string{"new-2", "new-1", exampleID}; !slices.Equal(got, want) {
			t.Errorf("ids = %v; want %v", got, want)
		}
	})
	t.Run("Timestamps", func(t *testing.T) {
		c, u, ok := e.srv.Timestamps(exampleID)
		if !ok || !c.Equal(noon().Add(-time.Second)) || !u.Equal(noon().Add(150*time.Second+250*time.Millisecond)) {
			t.Errorf("Timestamps = %v, %v, %v; want 11:59:59, 12:02:30.25, true", c, u, ok)
		}
	})
}

// BenchmarkListPage50k serves pages of 100 from 50,000 customers: the last
// page by after (the walk's costliest step if pages were found by scanning)
// and the first.
func BenchmarkListPage50k(b *testing.B) {
	const n = 50_000
	srv, err := New(Options{Keys: []string{testKey}, Customers: manyCustomers(n), ReadsPerHour: 1 << 30,
		Clock: clockwork.NewFakeClockAt(noon())})
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{"sort=created_at:asc&limit=100&after=c-49900", "sort=created_at:asc&limit=100", "limit=100&email=e25000@example.com"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/customers?"+q, nil)
				req.Header.Set("Authorization", "Bearer "+testKey)
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("GET /customers?%s = %d %s", q, w.Code, w.Body)
				}
			}
		})
	}
}
