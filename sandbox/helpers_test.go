package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

const (
	testKey  = "test_sandbox_key_one"
	otherKey = "test_sandbox_key_two"
	// exampleID is the customer of the API document.
	exampleID = "6f7e1e7f-93d1-4fcc-b7a4-738f869615c8"
)

// noon is the fake clock's default start, a plain weekday noon UTC.
func noon() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }

// env is a sandbox served over loopback HTTP with a fake clock.
type env struct {
	t     *testing.T
	srv   *Server
	ts    *httptest.Server
	clock *clockwork.FakeClock
}

// newEnv serves a sandbox for opts. Keys default to testKey and otherKey,
// Clock to a fake clock at noon().
func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	return newWrappedEnv(t, opts, nil)
}

// newWrappedEnv is newEnv with the server's handler wrapped by wrap.
func newWrappedEnv(t *testing.T, opts Options, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	if opts.Keys == nil {
		opts.Keys = []string{testKey, otherKey}
	}
	fc, _ := opts.Clock.(*clockwork.FakeClock)
	if opts.Clock == nil {
		fc = clockwork.NewFakeClockAt(noon())
		opts.Clock = fc
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	var h http.Handler = srv
	if wrap != nil {
		h = wrap(srv)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &env{t: t, srv: srv, ts: ts, clock: fc}
}

// resp is an answer read whole.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// errorBody is the provider's envelope, decoded.
type errorBody struct {
	Error struct {
		Code       string              `json:"code"`
		Message    string              `json:"message"`
		Type       string              `json:"type"`
		Details    map[string][]string `json:"details"`
		RetryAfter int                 `json:"retry_after"`
		RequestID  string              `json:"request_id"`
	} `json:"error"`
}

func (r resp) errorBody(t *testing.T) errorBody {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(r.body, &eb); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	return eb
}

func (r resp) customer(t *testing.T) Customer {
	t.Helper()
	var d struct {
		Data *Customer `json:"data"`
	}
	if err := json.Unmarshal(r.body, &d); err != nil || d.Data == nil {
		t.Fatalf("data body %q: %v", r.body, err)
	}
	return *d.Data
}

// request builds a request; headers with an empty value are removed.
func (e *env) request(ctx context.Context, method, path, body string, hdr map[string]string) *http.Request {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatalf("NewRequest: %v", err)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	return req
}

// send performs req and reads the answer; a transport error fails the test.
func (e *env) send(req *http.Request) resp {
	e.t.Helper()
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// patchHeaders are the headers a well-behaved client sends, with extra
// overriding them ("" removes one).
func patchHeaders(extra map[string]string) map[string]string {
	h := map[string]string{
		"Authorization": "Bearer " + testKey,
		"Content-Type":  "application/json",
		"Accept":        "application/json;version=1",
	}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// patch sends PATCH /customers/{id} with the usual headers plus extra.
func (e *env) patch(id, body string, extra map[string]string) resp {
	e.t.Helper()
	return e.send(e.request(context.Background(), http.MethodPatch, "/customers/"+id, body, patchHeaders(extra)))
}

// get sends GET path with the test key.
func (e *env) get(path string) resp {
	e.t.Helper()
	return e.send(e.request(context.Background(), http.MethodGet, path, "",
		map[string]string{"Authorization": "Bearer " + testKey}))
}

// async sends req in a goroutine; the channel gets the answer or the error.
type result struct {
	resp resp
	err  error
}

func (e *env) async(req *http.Request) <-chan result {
	ch := make(chan result, 1)
	client := e.ts.Client()
	go func() {
		res, err := client.Do(req)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		ch <- result{resp: resp{status: res.StatusCode, header: res.Header, body: b}, err: err}
	}()
	return ch
}

// blockUntil waits until the fake clock has n waiters, or fails after a
// generous deadline (a hang is a bug, not a slow machine).
func (e *env) blockUntil(n int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.clock.BlockUntilContext(ctx, n); err != nil {
		e.t.Fatalf("waiting for %d clock waiters: %v", n, err)
	}
}

// stats fetches GET /_sandbox/stats, without auth.
func (e *env) stats() Stats {
	e.t.Helper()
	r := e.send(e.request(context.Background(), http.MethodGet, "/_sandbox/stats", "", nil))
	if r.status != http.StatusOK {
		e.t.Fatalf("GET /_sandbox/stats = %d %s", r.status, r.body)
	}
	var st Stats
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		e.t.Fatalf("stats %q: %v", r.body, err)
	}
	return st
}

// example is the API document's customer, written out by hand.
func example() Customer {
	return Customer{
		ID:          exampleID,
		FirstName:   "Test",
		LastName:    "Customer",
		Email:       "test@custom.er",
		PhoneNumber: "+2348012345678",
		BillingAddress: &Address{
			Line1: "123 Test lane", Line2: "3456 Mike Drive", City: "Anon",
			State: "Acme", ZipCode: "12345", Country: "US",
		},
	}
}

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, nil))
}
