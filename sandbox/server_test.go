package sandbox

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAuth(t *testing.T) {
	tests := []struct {
		name string
		auth string
		want int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong key", "Bearer test_not_a_key", http.StatusUnauthorized},
		{"bare key without Bearer", testKey, http.StatusUnauthorized},
		{"other scheme", "Basic " + testKey, http.StatusUnauthorized},
		{"key as a prefix", "Bearer " + testKey + "x", http.StatusUnauthorized},
		{"first key", "Bearer " + testKey, http.StatusOK},
		{"second key", "Bearer " + otherKey, http.StatusOK},
		{"scheme in lower case", "bearer " + testKey, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			r := e.patch(exampleID, `{"first_name":"Ada"}`, map[string]string{"Authorization": tt.auth})
			if r.status != tt.want {
				t.Fatalf("PATCH with Authorization %q = %d %s; want %d", tt.auth, r.status, r.body, tt.want)
			}
			if tt.want != http.StatusUnauthorized {
				return
			}
			eb := r.errorBody(t)
			if eb.Error.Code != "unauthorized" || eb.Error.Type != "authentication_error" {
				t.Errorf("401 error = %+v; want code unauthorized, type authentication_error", eb.Error)
			}
			if got := r.header.Get("Www-Authenticate"); got != "Bearer" {
				t.Errorf("WWW-Authenticate = %q; want Bearer", got)
			}
			if r.header.Get("X-Ratelimit-Limit") != "" {
				t.Errorf("401 carries X-RateLimit-Limit %q; want none (not counted)", r.header.Get("X-Ratelimit-Limit"))
			}
			if c, _ := e.srv.Customer(exampleID); c.FirstName != "Test" {
				t.Errorf("after a 401 first_name = %q; want unchanged %q", c.FirstName, "Test")
			}
		})
	}

	t.Run("401s are not counted", func(t *testing.T) {
		e := newEnv(t, Options{PerMinute: 1, PerDay: 1})
		for range 3 {
			if r := e.patch(exampleID, `{"first_name":"Ada"}`, map[string]string{"Authorization": "Bearer nope"}); r.status != http.StatusUnauthorized {
				t.Fatalf("PATCH with a wrong key = %d; want 401", r.status)
			}
		}
		r := e.patch(exampleID, `{"first_name":"Ada"}`, nil)
		if r.status != http.StatusOK || r.header.Get("X-Ratelimit-Remaining") != "0" {
			t.Fatalf("PATCH after three 401s = %d, remaining %q; want 200, remaining 0", r.status, r.header.Get("X-Ratelimit-Remaining"))
		}
	})

	t.Run("GET needs the same auth", func(t *testing.T) {
		e := newEnv(t, Options{})
		r := e.send(e.request(context.Background(), http.MethodGet, "/customers/"+exampleID, "", nil))
		if r.status != http.StatusUnauthorized {
			t.Fatalf("GET without a key = %d; want 401", r.status)
		}
	})
}

func TestRouting(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		path     string
		want     int
		wantCode string
	}{
		{"unknown path", http.MethodGet, "/nope", 404, "route_not_found"},
		{"root", http.MethodPatch, "/", 404, "route_not_found"},
		{"customers collection", http.MethodGet, "/customers/", 404, "route_not_found"},
		{"PATCH the collection", http.MethodPatch, "/customers", 405, "method_not_allowed"},
		{"POST the collection", http.MethodPost, "/customers", 405, "method_not_allowed"},
		{"GET edit", http.MethodGet, "/_sandbox/edit", 405, "method_not_allowed"},
		{"collection with a trailing segment", http.MethodGet, "/customers/x/", 404, "route_not_found"},
		{"two segments", http.MethodPatch, "/customers/" + exampleID + "/x", 404, "route_not_found"},
		{"trailing slash", http.MethodGet, "/customers/" + exampleID + "/", 404, "route_not_found"},
		{"dot-dot escape", http.MethodGet, "/customers/../_sandbox/stats", 404, "route_not_found"},
		{"escaped slash is one segment, a bad id", http.MethodPatch, "/customers/a%2Fb", 400, "invalid_id"},
		{"dot-dot as the id", http.MethodPatch, "/customers/..", 400, "invalid_id"},
		{"DELETE a customer", http.MethodDelete, "/customers/" + exampleID, 405, "method_not_allowed"},
		{"POST stats", http.MethodPost, "/_sandbox/stats", 405, "method_not_allowed"},
		{"GET a bad id", http.MethodGet, "/customers/a.b", 400, "invalid_id"},
		{"GET an unknown id", http.MethodGet, "/customers/nobody", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			req := e.request(context.Background(), tt.method, "", `{"first_name":"Ada"}`, patchHeaders(nil))
			req.URL.Opaque = "//" + req.URL.Host + tt.path // send the path exactly as written
			r := e.send(req)
			if r.status != tt.want {
				t.Fatalf("%s %s = %d %s; want %d", tt.method, tt.path, r.status, r.body, tt.want)
			}
			eb := r.errorBody(t)
			if eb.Error.Code != tt.wantCode {
				t.Errorf("%s %s code = %q; want %q", tt.method, tt.path, eb.Error.Code, tt.wantCode)
			}
			if eb.Error.RequestID == "" || eb.Error.RequestID != r.header.Get("X-Request-Id") {
				t.Errorf("request_id %q, X-Request-Id %q; want equal and set", eb.Error.RequestID, r.header.Get("X-Request-Id"))
			}
			if tt.want == 405 && r.header.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
			if c, _ := e.srv.Customer(exampleID); c.FirstName != "Test" {
				t.Errorf("first_name = %q after %s %s; want unchanged", c.FirstName, tt.method, tt.path)
			}
		})
	}
}

func TestRequestChecks(t *testing.T) {
	long := strings.Repeat("a", 65)
	tests := []struct {
		name       string
		id         string // default exampleID
		headers    map[string]string
		body       string
		want       int
		wantCode   string
		wantDetail string // a key of details, when the error names a field
	}{
		{name: "id too long", id: long, body: `{"first_name":"Ada"}`, want: 400, wantCode: "invalid_id", wantDetail: "id"},
		{name: "id of 64 characters is fine but unknown", id: long[:64], body: `{"first_name":"Ada"}`, want: 404, wantCode: "not_found"},
		{name: "id with a dot", id: "a.b", body: `{"first_name":"Ada"}`, want: 400, wantCode: "invalid_id"},
		{name: "unknown id", id: "nobody", body: `{"first_name":"Ada"}`, want: 404, wantCode: "not_found"},

		{name: "no Content-Type", headers: map[string]string{"Content-Type": ""}, body: `{"first_name":"Ada"}`, want: 415, wantCode: "unsupported_media_type"},
		{name: "text/plain", headers: map[string]string{"Content-Type": "text/plain"}, body: `{"first_name":"Ada"}`, want: 415, wantCode: "unsupported_media_type"},
		{name: "charset latin1", headers: map[string]string{"Content-Type": "application/json; charset=latin1"}, body: `{"first_name":"Ada"}`, want: 415, wantCode: "unsupported_media_type"},
		{name: "charset utf-8", headers: map[string]string{"Content-Type": "application/json; charset=UTF-8"}, body: `{"first_name":"Ada"}`, want: 200},

		{name: "no Accept", headers: map[string]string{"Accept": ""}, body: `{"first_name":"Ada"}`, want: 200},
		{name: "Accept application/json", headers: map[string]string{"Accept": "application/json"}, body: `{"first_name":"Ada"}`, want: 200},
		{name: "Accept application/*", headers: map[string]string{"Accept": "application/*"}, body: `{"first_name":"Ada"}`, want: 200},
		{name: "Accept */*", headers: map[string]string{"Accept": "*/*"}, body: `{"first_name":"Ada"}`, want: 200},
		{name: "Accept a list", headers: map[string]string{"Accept": "text/html, application/json; version=1; q=0.5"}, body: `{"first_name":"Ada"}`, want: 200},
		{name: "Accept version 2", headers: map[string]string{"Accept": "application/json;version=2"}, body: `{"first_name":"Ada"}`, want: 406, wantCode: "not_acceptable"},
		{name: "Accept text/html", headers: map[string]string{"Accept": "text/html"}, body: `{"first_name":"Ada"}`, want: 406, wantCode: "not_acceptable"},
		{name: "Accept q=0", headers: map[string]string{"Accept": "application/json;q=0"}, body: `{"first_name":"Ada"}`, want: 406, wantCode: "not_acceptable"},

		{name: "Idempotency-Key too long", headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, body: `{"first_name":"Ada"}`, want: 400, wantCode: "invalid_idempotency_key"},
		{name: "body over 1 MiB", body: `{"first_name":"` + strings.Repeat("a", 1<<20) + `"}`, want: 413, wantCode: "payload_too_large"},

		{name: "empty body", body: "", want: 400, wantCode: "invalid_json"},
		{name: "broken JSON", body: `{"first_name":`, want: 400, wantCode: "invalid_json"},
		{name: "data after the object", body: `{"first_name":"Ada"} {}`, want: 400, wantCode: "invalid_json"},
		{name: "invalid UTF-8", body: "{\"first_name\":\"\xff\"}", want: 400, wantCode: "invalid_json"},
		{name: "array", body: `[{"first_name":"Ada"}]`, want: 422, wantCode: "validation_error"},
		{name: "string", body: `"Ada"`, want: 422, wantCode: "validation_error"},
		{name: "null", body: `null`, want: 422, wantCode: "validation_error"},
		{name: "empty object", body: `{}`, want: 422, wantCode: "validation_error"},
		{name: "only nulls", body: `{"first_name":null,"billing_address":null}`, want: 422, wantCode: "validation_error"},
		{name: "unknown field", body: `{"first_name":"Ada","nickname":"A"}`, want: 422, wantCode: "validation_error", wantDetail: "nickname"},
		{name: "number for a name", body: `{"first_name":5}`, want: 422, wantCode: "validation_error", wantDetail: "first_name"},
		{name: "object for an email", body: `{"email":{}}`, want: 422, wantCode: "validation_error", wantDetail: "email"},
		{name: "array for the address", body: `{"billing_address":[]}`, want: 422, wantCode: "validation_error", wantDetail: "billing_address"},
		{name: "non-empty string for the address", body: `{"billing_address":"x"}`, want: 422, wantCode: "validation_error", wantDetail: "billing_address"},

		{name: "name with hyphen and apostrophes", body: `{"first_name":"Mary-Jane","last_name":"O'Brien d’Arc"}`, want: 200},
		{name: "name with accents", body: `{"first_name":"José Ñúñez"}`, want: 200},
		// The update endpoint states no rule for names (the name rule is the
		// creation endpoint's), so an update takes any string.
		{name: "name with a digit", body: `{"first_name":"R2D2"}`, want: 200},
		{name: "name with a dot", body: `{"last_name":"Smith Jr."}`, want: 200},
		{name: "name with a comma, quotes and an ampersand", body: `{"first_name":"Robert \"Bob\"","last_name":"Smith, Jr. & Co (UK)/2"}`, want: 200},
		{name: "name with a line break, a tab and a NUL", body: `{"first_name":"A\nB\tC\u0000D"}`, want: 200},
		{name: "name of 100 characters", body: `{"last_name":"` + strings.Repeat("é", 100) + `"}`, want: 200},
		{name: "name of 101 characters", body: `{"last_name":"` + strings.Repeat("a", 101) + `"}`, want: 200},
		{name: "valid email", body: `{"email":"ada@example.com"}`, want: 200},
		{name: "email without @", body: `{"email":"ada.example.com"}`, want: 422, wantCode: "validation_error", wantDetail: "email"},
		{name: "email with a display name", body: `{"email":"Ada <ada@example.com>"}`, want: 422, wantCode: "validation_error", wantDetail: "email"},
		{name: "email with spaces", body: `{"email":" ada@example.com"}`, want: 422, wantCode: "validation_error", wantDetail: "email"},
		{name: "E.164 phone", body: `{"phone_number":"+14155550100"}`, want: 200},
		{name: "national phone", body: `{"phone_number":"08012345678"}`, want: 422, wantCode: "validation_error", wantDetail: "phone_number"},
		{name: "phone starting +0", body: `{"phone_number":"+0123456"}`, want: 422, wantCode: "validation_error", wantDetail: "phone_number"},
		{name: "phone of 16 digits", body: `{"phone_number":"+1234567890123456"}`, want: 422, wantCode: "validation_error", wantDetail: "phone_number"},
		{name: "phone with spaces", body: `{"phone_number":"+234 801 234 5678"}`, want: 422, wantCode: "validation_error", wantDetail: "phone_number"},

		{name: "full address", body: `{"billing_address":{"line1":"1 Main St","line2":"","city":"Lagos","state":"","zip_code":"","country":"NG"}}`, want: 200},
		{name: "address of the API example (partial)", body: `{"billing_address":{"line1":"123 Test lane","city":"Anon"}}`, want: 422, wantCode: "validation_error", wantDetail: "billing_address"},
		{name: "address with a null key", body: `{"billing_address":{"line1":"1 Main St","line2":null,"city":"Lagos","state":"","zip_code":"","country":"NG"}}`, want: 422, wantCode: "validation_error", wantDetail: "billing_address"},
		{name: "address with empty line1", body: `{"billing_address":{"line1":"","line2":"","city":"Lagos","state":"","zip_code":"","country":"NG"}}`, want: 422, wantCode: "validation_error", wantDetail: "billing_address.line1"},
		{name: "address with lower-case country", body: `{"billing_address":{"line1":"1 Main St","line2":"","city":"Lagos","state":"","zip_code":"","country":"ng"}}`, want: 422, wantCode: "validation_error", wantDetail: "billing_address.country"},
		{name: "address with a country name", body: `{"billing_address":{"line1":"1 Main St","line2":"","city":"Lagos","state":"","zip_code":"","country":"Nigeria"}}`, want: 422, wantCode: "validation_error", wantDetail: "billing_address.country"},
		{name: "address with a number", body: `{"billing_address":{"line1":"1 Main St","line2":"","city":"Lagos","state":"","zip_code":12345,"country":"NG"}}`, want: 422, wantCode: "validation_error", wantDetail: "billing_address.zip_code"},
		{name: "address with an extra key", body: `{"billing_address":{"line1":"1 Main St","line2":"","city":"Lagos","state":"","zip_code":"","country":"NG","county":"X"}}`, want: 422, wantCode: "validation_error", wantDetail: "billing_address.county"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{PerMinute: 100})
			id := tt.id
			if id == "" {
				id = exampleID
			}
			r := e.patch(id, tt.body, tt.headers)
			if r.status != tt.want {
				t.Fatalf("PATCH %s = %d %s; want %d", tt.name, r.status, r.body, tt.want)
			}
			if tt.want == http.StatusOK {
				return
			}
			eb := r.errorBody(t)
			if eb.Error.Code != tt.wantCode {
				t.Errorf("code = %q; want %q", eb.Error.Code, tt.wantCode)
			}
			if !regexp.MustCompile(`^req_[0-9a-f]{24}$`).MatchString(eb.Error.RequestID) {
				t.Errorf("request_id = %q; want req_ and 24 hex digits", eb.Error.RequestID)
			}
			if tt.wantDetail != "" {
				if len(eb.Error.Details[tt.wantDetail]) == 0 {
					t.Errorf("details = %v; want a reason for %q", eb.Error.Details, tt.wantDetail)
				}
				if !strings.Contains(eb.Error.Message, tt.wantDetail) {
					t.Errorf("message %q does not name %q", eb.Error.Message, tt.wantDetail)
				}
			}
			if c, _ := e.srv.Customer(exampleID); !cmp.Equal(c, example()) {
				t.Errorf("customer changed by a rejected request (-got +want):\n%s", cmp.Diff(c, example()))
			}
			if st := e.srv.Stats(); st.AppliedUpdates != 0 {
				t.Errorf("applied_updates = %d after a rejected request; want 0", st.AppliedUpdates)
			}
		})
	}
}

func TestMissingAddressKeysAreListed(t *testing.T) {
	e := newEnv(t, Options{})
	r := e.patch(exampleID, `{"billing_address":{"line1":"123 Test lane","city":"Anon","state":null}}`, nil)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("PATCH partial address = %d %s; want 422", r.status, r.body)
	}
	got := r.errorBody(t).Error.Details["billing_address"]
	want := []string{"missing required fields: line2, state, zip_code, country (billing_address replaces the whole address, so all six keys are required)"}
	if !cmp.Equal(got, want) {
		t.Errorf("details.billing_address = %q; want %q", got, want)
	}
}

func TestUpdateRules(t *testing.T) {
	e := newEnv(t, Options{PerMinute: 100})
	steps := []struct {
		name string
		body string
		want Customer
	}{
		{
			name: "only provided fields change, null is ignored",
			body: `{"phone_number":"+2348099999999","first_name":null,"billing_address":null}`,
			want: Customer{ID: exampleID, FirstName: "Test", LastName: "Customer", Email: "test@custom.er",
				PhoneNumber: "+2348099999999", BillingAddress: &Address{Line1: "123 Test lane", Line2: "3456 Mike Drive",
					City: "Anon", State: "Acme", ZipCode: "12345", Country: "US"}},
		},
		{
			name: "empty string clears",
			body: `{"last_name":"","email":""}`,
			want: Customer{ID: exampleID, FirstName: "Test", PhoneNumber: "+2348099999999",
				BillingAddress: &Address{Line1: "123 Test lane", Line2: "3456 Mike Drive",
					City: "Anon", State: "Acme", ZipCode: "12345", Country: "US"}},
		},
		{
			name: "billing_address replaces the whole object",
			body: `{"billing_address":{"line1":"1 Marina","line2":"","city":"Lagos","state":"","zip_code":"","country":"NG"}}`,
			want: Customer{ID: exampleID, FirstName: "Test", PhoneNumber: "+2348099999999",
				BillingAddress: &Address{Line1: "1 Marina", City: "Lagos", Country: "NG"}},
		},
		{
			name: "billing_address empty string removes it",
			body: `{"billing_address":"","first_name":"Ada"}`,
			want: Customer{ID: exampleID, FirstName: "Ada", PhoneNumber: "+2348099999999"},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := e.patch(exampleID, st.body, nil)
			if r.status != http.StatusOK {
				t.Fatalf("PATCH %s = %d %s; want 200", st.body, r.status, r.body)
			}
			if diff := cmp.Diff(st.want, r.customer(t)); diff != "" {
				t.Errorf("PATCH %s data (-want +got):\n%s", st.body, diff)
			}
			g := e.get("/customers/" + exampleID)
			if g.status != http.StatusOK {
				t.Fatalf("GET = %d %s; want 200", g.status, g.body)
			}
			if diff := cmp.Diff(st.want, g.customer(t)); diff != "" {
				t.Errorf("GET after PATCH %s (-want +got):\n%s", st.body, diff)
			}
		})
	}

	t.Run("full record on the wire", func(t *testing.T) {
		g := e.get("/customers/" + exampleID)
		// The read endpoints show empty values as null; the one seeded
		// customer was created a second before the clock's start, and the
		// PATCHes above changed it at the start.
		want := `{"data":{"id":"6f7e1e7f-93d1-4fcc-b7a4-738f869615c8","first_name":"Ada","last_name":null,"email":null,"phone_number":"+2348099999999","billing_address":null,"created_at":"2026-11-27T11:59:59Z","updated_at":"2026-11-27T12:00:00Z"}}` + "\n"
		if string(g.body) != want {
			t.Errorf("GET body = %s; want %s", g.body, want)
		}
	})
}

func TestDefaultCustomerOnTheWire(t *testing.T) {
	e := newEnv(t, Options{})
	g := e.get("/customers/" + exampleID)
	want := `{"data":{"id":"6f7e1e7f-93d1-4fcc-b7a4-738f869615c8","first_name":"Test","last_name":"Customer","email":"test@custom.er","phone_number":"+2348012345678","billing_address":{"line1":"123 Test lane","line2":"3456 Mike Drive","city":"Anon","state":"Acme","zip_code":"12345","country":"US"},"created_at":"2026-11-27T11:59:59Z","updated_at":"2026-11-27T11:59:59Z"}}` + "\n"
	if g.status != http.StatusOK || string(g.body) != want {
		t.Errorf("GET example = %d %s; want 200 %s", g.status, g.body, want)
	}
	if ct := g.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q; want application/json; charset=utf-8", ct)
	}
}

func TestEmailUnique(t *testing.T) {
	e := newEnv(t, Options{Customers: []Customer{
		{ID: "a", Email: "ada@example.com"},
		{ID: "b", Email: "bob@example.com"},
	}})
	steps := []struct {
		name, id, body string
		want           int
	}{
		{"another customer's email, other case", "b", `{"email":"ADA@example.com"}`, 422},
		{"own email again", "a", `{"email":"ada@example.com"}`, 200},
		{"a moves to a new email", "a", `{"email":"ada@new.example.com"}`, 200},
		{"b takes a's old email", "b", `{"email":"ada@example.com"}`, 200},
		{"a cannot take it back", "a", `{"email":"ada@example.com"}`, 422},
		{"a clears its email", "a", `{"email":""}`, 200},
		{"b clears too: empty emails never clash", "b", `{"email":""}`, 200},
	}
	for _, st := range steps {
		r := e.patch(st.id, st.body, nil)
		if r.status != st.want {
			t.Fatalf("%s: PATCH %s %s = %d %s; want %d", st.name, st.id, st.body, r.status, r.body, st.want)
		}
		if st.want == 422 {
			if d := r.errorBody(t).Error.Details["email"]; !cmp.Equal(d, []string{"is already used by another customer"}) {
				t.Errorf("%s: details.email = %q; want [is already used by another customer]", st.name, d)
			}
		}
	}
}

func TestCreateUnknown(t *testing.T) {
	e := newEnv(t, Options{CreateUnknown: true, Customers: []Customer{{ID: "taken", Email: "x@example.com"}}})
	r := e.patch("new-1", `{"first_name":"Ada","email":"ada@example.com"}`, nil)
	if r.status != http.StatusOK {
		t.Fatalf("PATCH unknown id with CreateUnknown = %d %s; want 200", r.status, r.body)
	}
	want := Customer{ID: "new-1", FirstName: "Ada", Email: "ada@example.com"}
	if diff := cmp.Diff(want, r.customer(t)); diff != "" {
		t.Errorf("created customer (-want +got):\n%s", diff)
	}
	if g := e.get("/customers/new-1"); g.status != http.StatusOK {
		t.Errorf("GET created customer = %d; want 200", g.status)
	}

	// A rejected update creates nothing.
	r = e.patch("new-2", `{"email":"x@example.com"}`, nil)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("PATCH new id with a taken email = %d %s; want 422", r.status, r.body)
	}
	if g := e.get("/customers/new-2"); g.status != http.StatusNotFound {
		t.Errorf("GET after rejected create = %d; want 404", g.status)
	}
	if g := e.get("/customers/never-patched"); g.status != http.StatusNotFound {
		t.Errorf("GET of an id never patched = %d; want 404 (GET never creates)", g.status)
	}
}

func TestRequestIDs(t *testing.T) {
	e := newEnv(t, Options{})
	pattern := regexp.MustCompile(`^req_[0-9a-f]{24}$`)
	answers := map[string]resp{
		"200 PATCH":  e.patch(exampleID, `{"first_name":"Ada"}`, nil),
		"GET":        e.get("/customers/" + exampleID),
		"stats":      e.send(e.request(context.Background(), http.MethodGet, "/_sandbox/stats", "", nil)),
		"route 404":  e.get("/x"),
		"401 PATCH":  e.patch(exampleID, `{}`, map[string]string{"Authorization": ""}),
		"422 PATCH":  e.patch(exampleID, `{}`, nil),
		"second 200": e.patch(exampleID, `{"first_name":"Bob"}`, nil),
	}
	seen := map[string]string{}
	for name, r := range answers {
		id := r.header.Get("X-Request-Id")
		if !pattern.MatchString(id) {
			t.Errorf("%s: X-Request-Id = %q; want req_ and 24 hex digits", name, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share X-Request-Id %q", name, other, id)
		}
		seen[id] = name
	}
}

func TestSameSeedSameRequestIDs(t *testing.T) {
	ids := func(seed int64) []string {
		e := newEnv(t, Options{Seed: seed})
		var out []string
		for range 3 {
			out = append(out, e.get("/customers/"+exampleID).header.Get("X-Request-Id"))
		}
		return out
	}
	a, b, c := ids(7), ids(7), ids(8)
	if !cmp.Equal(a, b) {
		t.Errorf("request ids with seed 7 = %v, then %v; want the same", a, b)
	}
	if cmp.Equal(a, c) {
		t.Errorf("request ids with seeds 7 and 8 are both %v; want different", a)
	}
}

func TestKeysNeverEchoedOrLogged(t *testing.T) {
	var logs lockedBuffer
	e := newEnv(t, Options{Logger: newTextLogger(&logs)})
	wrong := "live_wrong_secret_value"
	var bodies []string
	for _, auth := range []string{"Bearer " + testKey, "Bearer " + wrong, wrong} {
		for _, body := range []string{`{"first_name":"Ada"}`, `{}`} {
			r := e.patch(exampleID, body, map[string]string{"Authorization": auth})
			bodies = append(bodies, string(r.body))
			for k, v := range r.header {
				bodies = append(bodies, k+": "+strings.Join(v, ","))
			}
		}
	}
	all := strings.Join(bodies, "\n") + logs.String()
	for _, secret := range []string{testKey, otherKey, wrong} {
		if strings.Contains(all, secret) {
			t.Errorf("key %q appears in a response or log line", secret)
		}
	}
	if !strings.Contains(logs.String(), "key=key#1") {
		t.Errorf("logs do not name the key by position:\n%s", logs.String())
	}
}
