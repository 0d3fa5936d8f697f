package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"
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
