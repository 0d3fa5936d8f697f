package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/juicebatch/juicebatch/ratelimit"
)

// ReadResult is what one read request (GET /customers or GET
// /customers/{id}) came to: the Result fields a PATCH also has, the whole
// answer body (for the list, whose "data" is an array), and the read
// limit's headers.
type ReadResult struct {
	Result
	// Body is the answer's body with the key cut out; nil without an answer.
	// The rate-limit headers (X-RateLimit-Reset a Unix timestamp, as the
	// GET endpoints document it) are in Result.Word, read as for updates.
	Body []byte
}

// GetCustomer reads one customer: GET /customers/{id}. Like Patch it never
// returns an error; a 404 is Status 404, not a transport error.
func (c *Client) GetCustomer(ctx context.Context, id string) ReadResult {
	if id == "" || id == "." || id == ".." {
		return ReadResult{Result: Result{Err: fmt.Errorf("%w: %q", ErrBadID, id)}}
	}
	u := *c.base
	u.Path = c.base.Path + "/customers/" + id
	u.RawPath = c.base.EscapedPath() + "/customers/" + url.PathEscape(id)
	res := c.get(ctx, &u)
	if res.Err == nil && res.Status >= 200 && res.Status < 300 {
		rec, err := dataRecord(res.Body, id)
		if err != nil {
			res.Problem = &Problem{Status: res.Status, Message: err.Error(), RequestID: res.RequestID}
		}
		res.Record = rec
	}
	return res
}

// ListCustomers reads one page of GET /customers with the given query
// (limit, after, sort, ...). The caller decodes Body.
func (c *Client) ListCustomers(ctx context.Context, query url.Values) ReadResult {
	u := *c.base
	u.Path = c.base.Path + "/customers"
	u.RawPath = ""
	u.RawQuery = query.Encode()
	return c.get(ctx, &u)
}

// get sends one GET with the same headers as a PATCH (no body, no
// Idempotency-Key) and reads the answer in every published error shape.
func (c *Client) get(ctx context.Context, u *url.URL) ReadResult {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return ReadResult{Result: Result{Err: fmt.Errorf("build request: %w", err)}}
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json;version=1")
	req.Header.Set("User-Agent", c.userAgent)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return ReadResult{Result: Result{Err: scrub(err, c.key), Duration: time.Since(start)}}
	}
	defer resp.Body.Close()
	// A page of 100 records is well under the bound of one answer.
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	res := ReadResult{Result: Result{Status: resp.StatusCode, Duration: time.Since(start)}}
	if err != nil {
		res.Status = 0
		res.Err = fmt.Errorf("read answer (status %d): %w", resp.StatusCode, scrub(err, c.key))
		return res
	}
	if len(data) > maxResponse {
		res.Status = 0
		res.Err = fmt.Errorf("answer larger than %d bytes (status %d)", maxResponse, resp.StatusCode)
		return res
	}
	data = redact(data, c.key)
	res.Body = data
	res.RequestID = redactString(resp.Header.Get("X-Request-Id"), c.key)
	res.Wait, res.HasWait = WaitHint(resp.Header, data, c.now())
	res.Word = ratelimit.ParseWord(resp.Header, c.now())
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return res
	}
	c.problem(&res.Result, resp, data)
	return res
}
