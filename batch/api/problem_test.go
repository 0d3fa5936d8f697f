package api

import (
	"net/http"
	"testing"
	"time"
)

func TestParseProblem(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"envelope with details", 422,
			`{"error":{"code":"validation_error","message":"Validation failed","type":"invalid_request_error","details":{"phone_number":["Invalid phone number format"],"email":["is invalid","is taken"]},"request_id":"req_1"}}`,
			"422 validation_error: email: is invalid; is taken; phone_number: Invalid phone number format (request req_1)"},
		{"message restating its details", 422,
			`{"error":{"code":"validation_error","message":"Validation failed: billing_address.country must be a code","details":{"billing_address.country":["must be a code"]}}}`,
			"422 validation_error: billing_address.country: must be a code"},
		{"message adding to its details", 422,
			`{"error":{"code":"validation_error","message":"Validation failed: the account is frozen","details":{"email":["is taken"]}}}`,
			"422 validation_error: Validation failed: the account is frozen; email: is taken"},
		{"errors array", 400,
			`{"errors":[{"field":"email","message":"must be valid"},{"message":"bad"}]}`,
			"400: (request): bad; email: must be valid"},
		{"envelope plus errors array", 422,
			`{"error":{"code":"invalid","message":"Bad input"},"errors":[{"field":"first_name","message":"too long"}],"request_id":"r2"}`,
			"422 invalid: Bad input; first_name: too long (request r2)"},
		{"404 envelope", 404,
			`{"error":{"code":"not_found","message":"Customer not found"}}`,
			"404 not_found: Customer not found"},
		{"top-level message", 400, `{"message":"nope","request_id":"r3"}`, "400: nope (request r3)"},
		{"error as string", 403, `{"error":"forbidden"}`, "403: forbidden"},
		{"details as strings", 422, `{"error":{"details":{"zip":"too long"}}}`, "422: zip: too long"},
		{"plain text", 502, `Bad Gateway from proxy`, `502: non-JSON answer: "Bad Gateway from proxy"`},
		{"empty", 500, ``, "500: Internal Server Error"},
		{"json without anything", 500, `{}`, "500: Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseProblem(tt.status, []byte(tt.body)).String(); got != tt.want {
				t.Errorf("ParseProblem(%d, %s) = %q; want %q", tt.status, tt.body, got, tt.want)
			}
		})
	}
}

func TestWaitHint(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		header  map[string]string
		body    string
		want    time.Duration
		wantHas bool
	}{
		{"none", nil, ``, 0, false},
		{"retry-after seconds", map[string]string{"Retry-After": "12"}, ``, 12 * time.Second, true},
		{"retry-after date", map[string]string{"Retry-After": "Fri, 27 Nov 2026 12:00:30 GMT"}, ``, 30 * time.Second, true},
		{"retry-after past date", map[string]string{"Retry-After": "Fri, 27 Nov 2026 11:00:00 GMT"}, ``, 0, true},
		{"retry-after garbage falls through", map[string]string{"Retry-After": "soon"}, ``, 0, false},
		{"retry-after a day", map[string]string{"Retry-After": "86400"}, ``, 24 * time.Hour, true},
		{"retry-after huge is capped", map[string]string{"Retry-After": "99999999999"}, ``, 48 * time.Hour, true},
		{"retry_after header", map[string]string{"retry_after": "3"}, ``, 3 * time.Second, true},
		{"retry_after in error", nil, `{"error":{"retry_after":4}}`, 4 * time.Second, true},
		{"retry_after top level", nil, `{"retry_after":1.5}`, 1500 * time.Millisecond, true},
		{"ratelimit reset unix", map[string]string{"X-RateLimit-Reset": "1795780845"}, ``, 45 * time.Second, true},
		{"ratelimit reset delta", map[string]string{"X-RateLimit-Reset": "20"}, ``, 20 * time.Second, true},
		{"retry-after wins over reset", map[string]string{"Retry-After": "2", "X-RateLimit-Reset": "1795780845"}, ``, 2 * time.Second, true},
		{"negative ignored", map[string]string{"Retry-After": "-5"}, ``, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			got, has := WaitHint(h, []byte(tt.body), now)
			if got != tt.want || has != tt.wantHas {
				t.Errorf("WaitHint(%v, %s) = %v, %v; want %v, %v", tt.header, tt.body, got, has, tt.want, tt.wantHas)
			}
		})
	}
}
