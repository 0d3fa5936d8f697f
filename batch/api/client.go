// Package api is the client side of the customer update endpoint,
// PATCH /customers/{id}: it builds the request, sends it, and reads the
// answer in every error shape the provider publishes. It reports what
// happened; deciding whether to retry is the caller's business.
//
// A Client is safe for concurrent use. The API key it holds is never
// printed: not by String, not in errors, not in logs; and it is cut out of
// everything read from an answer (body, Location, X-Request-Id), so a
// server that echoes request headers cannot put it in the report.
package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/juicebatch/juicebatch/ratelimit"
)

// DefaultBaseURL is the production API.
const DefaultBaseURL = "https://api.spendjuice.com"

// maxResponse bounds how much of an answer is read: a record is small, and a
// misbehaving server must not make the client buffer without limit.
const maxResponse = 1 << 20

// Config says where and how to send.
type Config struct {
	BaseURL    string        // "https://api.spendjuice.com"; http:// only to loopback
	Key        string        // the API key; never printed
	AuthScheme string        // "bearer" (default) or "plain" (the bare key)
	UserAgent  string        // "juicebatch/VERSION"
	Timeout    time.Duration // per request; 0 → 30s, the server's own timeout
	// HTTPClient, when set, is used instead of a default client. Its
	// redirect policy is replaced: a PATCH is never followed elsewhere.
	HTTPClient *http.Client
	// Now reads the clock for absolute wait hints (X-RateLimit-Reset);
	// nil → time.Now.
	Now func() time.Time
}

// Client sends customer updates. It prints as its base URL only (String,
// GoString, LogValue), so neither fmt nor slog can show the key it holds.
type Client struct {
	base      *url.URL
	http      *http.Client
	key       string // the API key, redacted from everything the server sends back
	auth      string // the whole Authorization header value
	userAgent string
	timeout   time.Duration
	now       func() time.Time
}

// ErrBadID is in the Result of a Patch whose id is empty, "." or "..":
// escaped or not, such a segment names the collection or its parent after
// any URL normalization, never one customer, so nothing is sent.
var ErrBadID = errors.New("api: the id cannot be sent as one path segment")

// String describes the client without its key.
func (c *Client) String() string { return "api.Client{" + c.base.Redacted() + "}" }

// GoString is String, so %#v does not print the key either.
func (c *Client) GoString() string { return c.String() }

// LogValue is String, so a Client logged with slog does not print the key.
func (c *Client) LogValue() slog.Value { return slog.StringValue(c.String()) }

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	base, err := ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.Key == "" {
		return nil, errors.New("api: no API key")
	}
	if strings.ContainsAny(cfg.Key, "\r\n\t ") {
		return nil, errors.New("api: the API key contains white space or a line break; check the secret file")
	}
	var auth string
	switch strings.ToLower(cfg.AuthScheme) {
	case "", "bearer":
		auth = "Bearer " + cfg.Key
	case "plain":
		auth = cfg.Key
	default:
		return nil, fmt.Errorf("api: unknown auth scheme %q (want bearer or plain)", cfg.AuthScheme)
	}
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	// A redirect is never followed: a PATCH re-sent to another host could
	// carry the key there, and a 3xx is not an answer to an update.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "juicebatch"
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Client{base: base, http: hc, key: cfg.Key, auth: auth, userAgent: ua, timeout: timeout, now: now}, nil
}

// ParseBaseURL parses and checks a base URL: https anywhere, plain http only
// to a loopback address, no user info, no query or fragment. Its errors show
// the URL without its query, fragment or password, where a misplaced secret
// (an ?api_key=...) would be.
func ParseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(raw), "/"))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL
		}
		return nil, fmt.Errorf("api: base URL %q: %w", shownURL(raw), err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("api: base URL %q has no host", shownURL(raw))
	}
	if u.User != nil {
		return nil, fmt.Errorf("api: base URL must not carry credentials")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("api: base URL %q must not have a query or fragment", shownURL(raw))
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return nil, fmt.Errorf("api: base URL %s: plain http is refused except to a loopback address (the key and customer data would cross the network unencrypted); use https", u.Redacted())
		}
	default:
		return nil, fmt.Errorf("api: base URL %q: scheme must be https", shownURL(raw))
	}
	return u, nil
}

// shownURL is a base URL as an error may show it: cut at its query or
// fragment, and without the user info before an "@".
func shownURL(raw string) string {
	s := raw
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i] + "..."
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		start := 0
		if j := strings.Index(s, "//"); j >= 0 && j < i {
			start = j + 2
		}
		s = s[:start] + "..." + s[i:]
	}
	return s
}

// IsLoopback reports whether host is "localhost" or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Fingerprint identifies an API key without revealing it: its test_/live_
// prefix (or "key") and the first 8 hex digits of its SHA-256.
func Fingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	prefix := "key"
	switch {
	case strings.HasPrefix(key, "test_"):
		prefix = "test"
	case strings.HasPrefix(key, "live_"):
		prefix = "live"
	}
	return prefix + "_" + hex.EncodeToString(sum[:4])
}

// KeyWarning returns a warning when the key's environment does not match the
// URL (a test_ key aimed at production, or a live_ key aimed anywhere else;
// the provider rejects both with 401), and "" otherwise.
func KeyWarning(key string, base *url.URL) string {
	prod, _ := url.Parse(DefaultBaseURL)
	isProd := strings.EqualFold(base.Hostname(), prod.Hostname())
	switch {
	case strings.HasPrefix(key, "test_") && isProd:
		return fmt.Sprintf("a test_ key (%s) is aimed at the production API %s; the provider rejects test keys there", Fingerprint(key), base.Redacted())
	case strings.HasPrefix(key, "live_") && !isProd:
		return fmt.Sprintf("a live_ key (%s) is aimed at %s, which is not the production API", Fingerprint(key), base.Redacted())
	}
	return ""
}

// Result is what one request came to.
type Result struct {
	// Status is the HTTP status, or 0 when no answer was received.
	Status int
	// Err is the transport error (connection refused or reset, timeout,
	// a cut-off answer), nil when an answer was read in full.
	Err error
	// RequestID is the server's request id, from the error body or the
	// X-Request-Id header.
	RequestID string
	// Replayed is true when the server answered from its idempotency store.
	Replayed bool
	// Problem is the server's error, read from any published shape; nil on
	// success.
	Problem *Problem
	// Wait is how long the server asked the client to wait (Retry-After,
	// retry_after, or X-RateLimit-Reset); HasWait says whether it asked.
	Wait    time.Duration
	HasWait bool
	// Word is what the answer's rate-limit headers say about the key's
	// budgets (ratelimit.ParseWord), for the pacer; the zero Word when no
	// answer came or it said nothing.
	Word ratelimit.Word
	// Record is the "data" object of a 200 answer.
	Record json.RawMessage
	// Duration is how long the request took.
	Duration time.Duration
}

// Patch sends one update. body is the exact JSON to send; key is the
// Idempotency-Key. It never returns an error: what went wrong is in the
// Result, so that every outcome is a value the caller can classify.
func (c *Client) Patch(ctx context.Context, id string, body []byte, key string) Result {
	if id == "" || id == "." || id == ".." {
		return Result{Err: fmt.Errorf("%w: %q", ErrBadID, id)}
	}
	u := *c.base
	// PathEscape and RawPath keep the id a single segment: "a/b" is sent as
	// "a%2Fb" and can never address another route.
	u.Path = c.base.Path + "/customers/" + id
	u.RawPath = c.base.EscapedPath() + "/customers/" + url.PathEscape(id)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, u.String(), bytes.NewReader(body))
	if err != nil {
		return Result{Err: fmt.Errorf("build request: %w", err)}
	}
	// Without GetBody the transport never re-sends this request on its own
	// (it does so for requests with an Idempotency-Key on a reused
	// connection that closed): every request that leaves is one the caller
	// decided to send, charged to the day's budget and counted.
	req.GetBody = nil
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json;version=1")
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("User-Agent", c.userAgent)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return Result{Err: scrub(err, c.key), Duration: time.Since(start)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	res := Result{Status: resp.StatusCode, Duration: time.Since(start)}
	// The server counted the request whatever happened to the rest of its
	// answer, so the word is kept even when the body is cut off below.
	res.Word = ratelimit.ParseWord(resp.Header, c.now())
	if err != nil {
		// The answer was cut off: whether the update applied is unknown,
		// exactly as for a dropped connection.
		res.Status = 0
		res.Err = fmt.Errorf("read answer (status %d): %w", resp.StatusCode, scrub(err, c.key))
		return res
	}
	if len(data) > maxResponse {
		data = data[:maxResponse]
	}
	// A server (or a proxy in front of it) may echo the request's headers
	// in its answer; everything read from the answer ends up in the
	// report, the state file or a log line, so the key is cut out first.
	data = redact(data, c.key)
	res.Replayed = strings.EqualFold(resp.Header.Get("Idempotent-Replayed"), "true")
	res.RequestID = redactString(resp.Header.Get("X-Request-Id"), c.key)
	res.Wait, res.HasWait = WaitHint(resp.Header, data, c.now())
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		rec, perr := dataRecord(data, id)
		if perr != nil {
			res.Problem = &Problem{Message: perr.Error(), RequestID: res.RequestID}
		}
		res.Record = rec
		return res
	}
	c.problem(&res, resp, data)
	return res
}

// problem reads a non-2xx answer (of an update or a read) into res: the
// server's problem in whichever published shape it came, with the request
// id from the body or the header, and a redirect named as such (never
// followed).
func (c *Client) problem(res *Result, resp *http.Response, data []byte) {
	res.Problem = ParseProblem(resp.StatusCode, data)
	if res.Problem.RequestID == "" {
		res.Problem.RequestID = res.RequestID
	} else if res.RequestID == "" {
		res.RequestID = res.Problem.RequestID
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc := redactString(resp.Header.Get("Location"), c.key); loc != "" {
			res.Problem.Message = fmt.Sprintf("unexpected redirect to %s (not followed)", redactURL(loc))
		} else {
			res.Problem.Message = "unexpected redirect (not followed)"
		}
	}
}

// dataRecord checks that a 2xx answer is {"data": {...}} for the customer
// that was updated, as the API documents.
func dataRecord(body []byte, id string) (json.RawMessage, error) {
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("the server answered 2xx but its body is not JSON: %s", snippet(body))
	}
	var rec struct {
		ID *string `json:"id"`
	}
	if len(env.Data) == 0 || env.Data[0] != '{' || json.Unmarshal(env.Data, &rec) != nil {
		return nil, fmt.Errorf("the server answered 2xx but its body has no customer record under \"data\": %s", snippet(body))
	}
	if rec.ID != nil && *rec.ID != id {
		return nil, fmt.Errorf("the server answered 2xx with the record of another customer (%q)", *rec.ID)
	}
	return env.Data, nil
}

// redacted replaces the key wherever a server's answer or an error repeats
// it.
const redacted = "[redacted]"

// scrub removes the key from an error's text, in case a transport ever
// echoes request headers.
func scrub(err error, key string) error {
	if err == nil || key == "" || !strings.Contains(err.Error(), key) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), key, redacted))
}

// redact removes the key from an answer's body.
func redact(b []byte, key string) []byte {
	if key == "" || !bytes.Contains(b, []byte(key)) {
		return b
	}
	return bytes.ReplaceAll(b, []byte(key), []byte(redacted))
}

// redactString removes the key from a header value.
func redactString(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, redacted)
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "an unparsable location"
	}
	u.RawQuery = ""
	return u.Redacted()
}

func snippet(b []byte) string {
	const n = 120
	s := strings.ToValidUTF8(string(b), "?")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return fmt.Sprintf("%q", s)
}
