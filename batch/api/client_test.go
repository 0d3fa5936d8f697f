package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const testKey = "test_SECRETKEY123"

func newClient(t *testing.T, base string, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: base, Key: testKey, UserAgent: "juicebatch/test"}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestPatchSendsDocumentedRequest(t *testing.T) {
	type seen struct {
		method, rawPath, auth, ctype, accept, key, ua, body string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"),
			r.Header.Get("Accept"), r.Header.Get("Idempotency-Key"), r.Header.Get("User-Agent"), string(b)}
		w.Header().Set("X-Request-Id", "req_1")
		fmt.Fprint(w, `{"data":{"id":"a/b?c#d %"}}`)
	}))
	defer srv.Close()
	tests := []struct {
		name, scheme, wantAuth string
	}{
		{"bearer", "", "Bearer " + testKey},
		{"plain", "plain", testKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, srv.URL+"/", func(c *Config) { c.AuthScheme = tt.scheme })
			res := c.Patch(context.Background(), "a/b?c#d %", []byte(`{"email":"x@y.z"}`), "jb1-k")
			if res.Err != nil || res.Status != 200 || res.Problem != nil {
				t.Fatalf("Patch = %+v; want 200 without problem", res)
			}
			s := <-got
			want := seen{"PATCH", "/customers/a%2Fb%3Fc%23d%20%25", tt.wantAuth, "application/json",
				"application/json;version=1", "jb1-k", "juicebatch/test", `{"email":"x@y.z"}`}
			if s != want {
				t.Errorf("server saw %+v; want %+v", s, want)
			}
			if res.RequestID != "req_1" {
				t.Errorf("RequestID = %q; want req_1", res.RequestID)
			}
		})
	}
}

func TestPatchAnswers(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int
		wantErr    bool
		wantProb   string // Problem.String(), "" for none
		wantWait   time.Duration
	}{
		{
			name: "200 record",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Idempotent-Replayed", "true")
				fmt.Fprint(w, `{"data":{"id":"c1","email":"x@y.z"}}`)
			},
			wantStatus: 200,
		},
		{
			name:       "200 not json",
			handler:    func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `<html>ok</html>`) },
			wantStatus: 200,
			wantProb:   `the server answered 2xx but its body is not JSON: "<html>ok</html>"`,
		},
		{
			name:       "200 without record",
			handler:    func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"ok":true}`) },
			wantStatus: 200,
			wantProb:   `the server answered 2xx but its body has no customer record under "data": "{\"ok\":true}"`,
		},
		{
			name:       "200 other customer",
			handler:    func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"data":{"id":"c2"}}`) },
			wantStatus: 200,
			wantProb:   `the server answered 2xx with the record of another customer ("c2")`,
		},
		{
			name: "422 envelope",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(422)
				fmt.Fprint(w, `{"error":{"code":"validation_error","message":"Validation failed","type":"invalid_request_error","details":{"phone_number":["Invalid phone number format"]},"request_id":"req_9"}}`)
			},
			wantStatus: 422,
			wantProb:   "422 validation_error: phone_number: Invalid phone number format (request req_9)",
		},
		{
			name: "429 retry-after",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(429)
				fmt.Fprint(w, `{"error":{"code":"rate_limited","message":"Too many requests"}}`)
			},
			wantStatus: 429,
			wantProb:   "429 rate_limited: Too many requests",
			wantWait:   7 * time.Second,
		},
		{
			name: "redirect not followed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://elsewhere.example/customers/c1?token=x", http.StatusTemporaryRedirect)
			},
			wantStatus: 307,
			wantProb:   "307: unexpected redirect to https://elsewhere.example/customers/c1 (not followed)",
		},
		{
			name: "cut off mid-body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100")
				w.WriteHeader(200)
				fmt.Fprint(w, `{"data":`)
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler)
			},
			wantErr: true,
		},
		{
			name:    "dropped",
			handler: func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) },
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			srv.Config.ErrorLog = nil
			c := newClient(t, srv.URL, nil)
			res := c.Patch(context.Background(), "c1", []byte(`{}`), "k")
			if (res.Err != nil) != tt.wantErr {
				t.Fatalf("Patch err = %v; want error %v", res.Err, tt.wantErr)
			}
			if res.Status != tt.wantStatus {
				t.Errorf("Status = %d; want %d", res.Status, tt.wantStatus)
			}
			gotProb := ""
			if res.Problem != nil {
				gotProb = res.Problem.String()
			}
			if gotProb != tt.wantProb {
				t.Errorf("Problem = %q; want %q", gotProb, tt.wantProb)
			}
			if res.Wait != tt.wantWait {
				t.Errorf("Wait = %v; want %v", res.Wait, tt.wantWait)
			}
			if res.Err != nil && strings.Contains(res.Err.Error(), testKey) {
				t.Errorf("error text contains the API key: %v", res.Err)
			}
		})
	}
}

func TestPatchTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newClient(t, srv.URL, func(c *Config) { c.Timeout = 50 * time.Millisecond })
	res := c.Patch(context.Background(), "c1", []byte(`{}`), "k")
	if res.Err == nil || !errors.Is(res.Err, context.DeadlineExceeded) {
		t.Fatalf("Patch against a slow server: err = %v; want a deadline error", res.Err)
	}
}

func TestParseBaseURL(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{"https://api.spendjuice.com", "https://api.spendjuice.com", ""},
		{"https://api.spendjuice.com/", "https://api.spendjuice.com", ""},
		{"https://proxy.example/v1/", "https://proxy.example/v1", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"http://localhost:9", "http://localhost:9", ""},
		{"http://[::1]:9", "http://[::1]:9", ""},
		{"http://api.spendjuice.com", "", "plain http is refused"},
		{"http://10.0.0.1", "", "plain http is refused"},
		{"ftp://x", "", "scheme must be https"},
		{"https://user:pw@x", "", "must not carry credentials"},
		{"https://x/?a=b", "", "must not have a query"},
		{"api.spendjuice.com", "", "has no host"},
	}
	for _, tt := range tests {
		u, err := ParseBaseURL(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseBaseURL(%q) error = %v; want containing %q", tt.in, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("ParseBaseURL(%q) error leaks the password: %v", tt.in, err)
			}
			continue
		}
		if err != nil || u.String() != tt.want {
			t.Errorf("ParseBaseURL(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
		}
	}
}

func TestFingerprintAndWarning(t *testing.T) {
	// sha256("live_abc") begins c8a2b6d3 (computed with `printf live_abc | sha256sum`).
	if got := Fingerprint("live_abc"); got != "live_c8a2b6d3" {
		t.Errorf("Fingerprint(live_abc) = %q; want live_c8a2b6d3", got)
	}
	if got := Fingerprint("abc"); !strings.HasPrefix(got, "key_") || strings.Contains(got, "abc") {
		t.Errorf("Fingerprint(abc) = %q; want key_ prefix and no key text", got)
	}
	prod, _ := ParseBaseURL(DefaultBaseURL)
	local, _ := ParseBaseURL("http://127.0.0.1:1")
	tests := []struct {
		key  string
		base string
		want bool
	}{
		{"test_x", "prod", true},
		{"live_x", "prod", false},
		{"test_x", "local", false},
		{"live_x", "local", true},
		{"other", "prod", false},
	}
	for _, tt := range tests {
		u := prod
		if tt.base == "local" {
			u = local
		}
		w := KeyWarning(tt.key, u)
		if (w != "") != tt.want {
			t.Errorf("KeyWarning(%q, %s) = %q; want warning %v", tt.key, u, w, tt.want)
		}
		if strings.Contains(w, tt.key) {
			t.Errorf("KeyWarning(%q) leaks the key: %q", tt.key, w)
		}
	}
}

func TestNewRejects(t *testing.T) {
	tests := []Config{
		{BaseURL: "https://x", Key: ""},
		{BaseURL: "https://x", Key: "live_a\n"},
		{BaseURL: "https://x", Key: "live_a", AuthScheme: "basic"},
		{BaseURL: "http://example.com", Key: "live_a"},
	}
	for _, cfg := range tests {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error; want an error", cfg)
		} else if cfg.Key != "" && strings.Contains(err.Error(), strings.TrimSpace(cfg.Key)) {
			t.Errorf("New error leaks the key: %v", err)
		}
	}
}
