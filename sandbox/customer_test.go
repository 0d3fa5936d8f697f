package sandbox

import (
	"context"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadCustomers(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Customer
		wantErr string
	}{
		{
			name: "full and sparse records",
			in: `[
			  {"id":"c-1","first_name":"Ada","last_name":"Lovelace","email":"ada@example.com","phone_number":"+442071234567",
			   "billing_address":{"line1":"1 St","line2":"","city":"London","state":"","zip_code":"N1","country":"GB"}},
			  {"id":"c_2","email":null,"billing_address":null},
			  {"id":"c3","billing_address":{"line1":"2 Rd","city":"Lagos"}}
			]`,
			want: []Customer{
				{ID: "c-1", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", PhoneNumber: "+442071234567",
					BillingAddress: &Address{Line1: "1 St", City: "London", ZipCode: "N1", Country: "GB"}},
				{ID: "c_2"},
				{ID: "c3", BillingAddress: &Address{Line1: "2 Rd", City: "Lagos"}},
			},
		},
		{
			name: "a GET /customers page's records load, their times ignored",
			in: `[{"id":"a","first_name":null,"last_name":null,"email":null,"phone_number":null,` +
				`"billing_address":{"line1":"1 Rd","line2":null,"city":"Lagos","state":null,"zip_code":null,"country":"NG"},` +
				`"created_at":"2026-11-27T11:59:59Z","updated_at":null}]`,
			want: []Customer{{ID: "a", BillingAddress: &Address{Line1: "1 Rd", City: "Lagos", Country: "NG"}}},
		},
		{name: "created_at not a string", in: `[{"id":"a","created_at":5}]`, wantErr: "customers: [0].created_at: must be a string"},
		{name: "empty array", in: `[]`, want: []Customer{}},
		{name: "not an array", in: `{"id":"a"}`, wantErr: "customers: want a JSON array of customer objects"},
		{name: "broken JSON", in: `[{"id":"a"}`, wantErr: "customers: want a JSON array of customer objects"},
		{name: "trailing data", in: `[] []`, wantErr: "customers: want a JSON array of customer objects"},
		{name: "element not an object", in: `[{"id":"a"}, 5]`, wantErr: "customers: [1]: must be a JSON object"},
		{name: "missing id", in: `[{"first_name":"Ada"}]`, wantErr: "customers: [0].id: must match"},
		{name: "bad id", in: `[{"id":"a"},{"id":"a b"}]`, wantErr: "customers: [1].id: must match"},
		{name: "id a number", in: `[{"id":7}]`, wantErr: "customers: [0].id: must be a string"},
		{name: "duplicate id", in: `[{"id":"a"},{"id":"b"},{"id":"a"}]`, wantErr: `customers: [2].id: "a" repeats element 0`},
		{name: "unknown field", in: `[{"id":"a","nickname":"x"}]`, wantErr: "customers: [0].nickname: unknown field"},
		{name: "wrong type", in: `[{"id":"a","email":true}]`, wantErr: "customers: [0].email: must be a string"},
		{name: "bad email", in: `[{"id":"a","email":"nope"}]`, wantErr: "customers: [0].email: must be a valid email address"},
		{name: "duplicate email", in: `[{"id":"a","email":"x@example.com"},{"id":"b","email":"X@example.com"}]`, wantErr: "customers: [1].email: already used by element 0"},
		{name: "bad phone", in: `[{"id":"a","phone_number":"0801"}]`, wantErr: "customers: [0].phone_number: must be in E.164 format"},
		{name: "bad name", in: `[{"id":"a","last_name":"X Æ A-12"}]`, wantErr: "customers: [0].last_name: must be at most 100 characters"},
		{name: "address not an object", in: `[{"id":"a","billing_address":"x"}]`, wantErr: "customers: [0].billing_address: must be an object or null"},
		{name: "address unknown key", in: `[{"id":"a","billing_address":{"zip":"1"}}]`, wantErr: "customers: [0].billing_address.zip: unknown field"},
		{name: "address wrong type", in: `[{"id":"a","billing_address":{"city":1}}]`, wantErr: "customers: [0].billing_address.city: must be a string"},
		{name: "address bad country", in: `[{"id":"a","billing_address":{"country":"usa"}}]`, wantErr: "customers: [0].billing_address.country: must be a two-letter"},
		{name: "invalid UTF-8", in: "[{\"id\":\"a\",\"first_name\":\"\xff\"}]", wantErr: "customers: not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadCustomers(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("LoadCustomers(%s) error = %v; want one starting %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadCustomers(%s): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LoadCustomers(%s) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestLoadedCustomersAreServed(t *testing.T) {
	cs, err := LoadCustomers(strings.NewReader(`[{"id":"c-1","first_name":"Ada"}]`))
	if err != nil {
		t.Fatalf("LoadCustomers: %v", err)
	}
	e := newEnv(t, Options{Customers: cs})
	if r := e.get("/customers/c-1"); r.status != 200 || r.customer(t).FirstName != "Ada" {
		t.Errorf("GET c-1 = %d %s; want 200 with Ada", r.status, r.body)
	}
	if r := e.get("/customers/" + exampleID); r.status != 404 {
		t.Errorf("GET example with a seed file = %d; want 404 (the seed replaces it)", r.status)
	}
	// The seed slice is copied: changing it later changes nothing.
	cs[0].FirstName = "Changed"
	if c, _ := e.srv.Customer("c-1"); c.FirstName != "Ada" {
		t.Errorf("Customer after the caller changed its slice = %q; want Ada", c.FirstName)
	}
}

func TestNoCustomers(t *testing.T) {
	e := newEnv(t, Options{Customers: []Customer{}})
	if r := e.patch(exampleID, `{"first_name":"Ada"}`, nil); r.status != 404 {
		t.Errorf("PATCH example with an empty seed = %d; want 404", r.status)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"no keys", Options{}, "sandbox: no API keys given"},
		{"empty key", Options{Keys: []string{"a", ""}}, "sandbox: API key 2 of 2 is empty or holds white space or control characters"},
		{"key with a space", Options{Keys: []string{"secret value"}}, "sandbox: API key 1 of 1 is empty or holds white space or control characters"},
		{"negative per minute", Options{Keys: []string{"k"}, PerMinute: -1}, "sandbox: per-minute limit -1 is negative"},
		{"negative per day", Options{Keys: []string{"k"}, PerDay: -5}, "sandbox: per-day limit -5 is negative"},
		{"fail rate above 1", Options{Keys: []string{"k"}, FailRate: 1.5}, "sandbox: fail rate 1.5 is not in [0, 1]"},
		{"fail rate NaN", Options{Keys: []string{"k"}, FailRate: math.NaN()}, "sandbox: fail rate NaN is not in [0, 1]"},
		{"drop rate negative", Options{Keys: []string{"k"}, DropAfterApply: -0.1}, "sandbox: drop-after-apply rate -0.1 is not in [0, 1]"},
		{"negative latency", Options{Keys: []string{"k"}, Latency: -1}, "sandbox: latency -1ns is negative"},
		{"bad seed id", Options{Keys: []string{"k"}, Customers: []Customer{{ID: "a/b"}}}, "sandbox: customers: [0].id: must match ^[A-Za-z0-9_-]{1,64}$"},
		{"duplicate seed id", Options{Keys: []string{"k"}, Customers: []Customer{{ID: "a"}, {ID: "a"}}}, `sandbox: customers: [1].id: "a" repeats element 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("New(%s) error = %v; want %q", tt.name, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the key", err)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{exampleID, true},
		{"A_z-09", true},
		{strings.Repeat("x", 64), true},
		{strings.Repeat("x", 65), false},
		{"", false},
		{"a b", false},
		{"a/b", false},
		{"..", false},
		{"é", false},
	}
	for _, tt := range tests {
		if got := ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v; want %v", tt.id, got, tt.want)
		}
	}
}

func TestStatsOnTheWire(t *testing.T) {
	e := newEnv(t, Options{PerMinute: 4})
	steps := []struct {
		auth, body, ikey string
		want             int
	}{
		{"Bearer nope", `{"first_name":"Ada"}`, "", 401},
		{"Bearer " + testKey, `{"first_name":"Ada"}`, "k1", 200},
		{"Bearer " + testKey, `{"first_name":"Ada"}`, "k1", 200}, // replay
		{"Bearer " + testKey, `{}`, "", 422},
		{"Bearer " + testKey, `{"first_name":"Bob"}`, "k2", 200},
		{"Bearer " + testKey, `{"first_name":"Cy"}`, "k3", 429},
	}
	for i, st := range steps {
		if r := e.patch(exampleID, st.body, map[string]string{"Authorization": st.auth, "Idempotency-Key": st.ikey}); r.status != st.want {
			t.Fatalf("step %d = %d %s; want %d", i, r.status, r.body, st.want)
		}
	}
	e.get("/customers/" + exampleID) // a read, not an update request
	r := e.send(e.request(context.Background(), http.MethodGet, "/_sandbox/stats", "", nil))
	want := `{"requests_by_status":{"200":3,"401":1,"422":1,"429":1},"applied_updates":2,"replays":1,"rate_limited":1,"duplicate_applications":0,"dropped_connections":0,"reads":1,"reads_rate_limited":0,"reads_by_status":{"200":1},"edits":0}` + "\n"
	if r.status != 200 || string(r.body) != want {
		t.Errorf("GET /_sandbox/stats = %d %s; want 200 %s", r.status, r.body, want)
	}
	if r.header.Get("X-Request-Id") == "" {
		t.Errorf("stats answer has no X-Request-Id")
	}
}
