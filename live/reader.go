package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/juicebatch/juicebatch/batch/api"
	"github.com/juicebatch/juicebatch/ratelimit"
)

// PageSize is how many records one list request asks for: the most the
// list endpoint gives.
const PageSize = 100

// DefaultRate is the read pace when Config.Rate is zero: the documented
// read limit, 1000 an hour per key.
func DefaultRate() ratelimit.Rate { return ratelimit.Rate{N: 1000, Per: time.Hour} }

// maxWait is the longest wait a 429 or an exhausted X-RateLimit-Remaining
// may ask for that the Reader sits through: a little over the hour the
// read limit is counted in. Anything longer is a [LimitError].
const maxWait = 65 * time.Minute

// maxWaits bounds the 429s one read waits out, so a server that answers
// 429 forever ends the read instead of holding it.
const maxWaits = 20

// backoffMax bounds the wait between two retries of a read.
const backoffMax = 2 * time.Minute

// Config says how a Reader reads.
type Config struct {
	Client *api.Client
	// Rate is the read pace; zero means DefaultRate.
	Rate  ratelimit.Rate
	Clock clockwork.Clock // nil: the real clock
	// MaxRetries is how often one read is retried after a network error,
	// a timeout or a 5xx (429 waits do not count).
	MaxRetries int
	// RetryBase is the first backoff (it doubles, with jitter); 0 → 1s.
	RetryBase time.Duration
	Rand      func() float64 // jitter; nil → random
	Logger    *slog.Logger   // nil: discard
	// OnRead, when set, is called once for every read request that left,
	// with the instant it left (retries included): for a state that counts
	// reads per key and day. It must be safe for concurrent use.
	OnRead func(at time.Time)
}

// Reader reads customers. Build it with NewReader.
type Reader struct {
	cfg   Config
	pacer *ratelimit.Pacer
	log   *slog.Logger
	reads atomic.Int64
}

// NewReader returns a Reader with its own pacer at cfg.Rate.
func NewReader(cfg Config) *Reader {
	if cfg.Rate.N == 0 {
		cfg.Rate = DefaultRate()
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Second
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{cfg: cfg, pacer: ratelimit.NewPacer(cfg.Rate, cfg.Clock, nil), log: log}
}

// Reads is how many read requests have left so far, retries included.
func (r *Reader) Reads() int { return int(r.reads.Load()) }

// Rate is the read pace.
func (r *Reader) Rate() ratelimit.Rate { return r.cfg.Rate }

// AuthError is a read answered 401 or 403: the key is wrong or lacks the
// right to read. Nothing else will succeed with it.
type AuthError struct {
	Status int
	Detail string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("the API rejected the key on a read (%s)", e.Detail)
}

// LimitError is a read limit the server says is spent for longer than a
// read waits (see maxWait).
type LimitError struct{ Wait time.Duration }

func (e *LimitError) Error() string {
	return fmt.Sprintf("the server's read limit for this key is spent for %s", e.Wait.Round(time.Second))
}

// ReadError is a read that failed for good: retries ran out, or the server
// refused it with a status no retry changes.
type ReadError struct {
	What   string // "GET /customers/ID", "GET /customers page after X"
	Status int    // 0 when no answer came
	Detail string
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("read %s: %s", e.What, e.Detail)
}

// Get reads one customer. found is false when the server answers 404.
func (r *Reader) Get(ctx context.Context, id string) (rec Record, found bool, err error) {
	res, err := r.do(ctx, "GET /customers/"+id, func(ctx context.Context) api.ReadResult {
		return r.cfg.Client.GetCustomer(ctx, id)
	})
	if err != nil {
		return Record{}, false, err
	}
	if res.Status == http.StatusNotFound {
		return Record{}, false, nil
	}
	if res.Problem != nil {
		return Record{}, false, &ReadError{What: "GET /customers/" + id, Status: res.Status, Detail: res.Problem.String()}
	}
	rec, err = ParseRecord(res.Record)
	if err != nil {
		return Record{}, false, &ReadError{What: "GET /customers/" + id, Status: res.Status, Detail: err.Error()}
	}
	return rec, true, nil
}

// Page is one page of the list.
type Page struct {
	Records []Record
	// After is the cursor of the next page; More says whether there is
	// one (false on the last page).
	After string
	More  bool
}

// ListPage reads the page after the cursor after ("" for the first), in
// created_at ascending order, so that customers created while a listing
// goes on land at its end rather than shift the pages already read.
func (r *Reader) ListPage(ctx context.Context, after string) (Page, error) {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(PageSize))
	q.Set("sort", "created_at:asc")
	if after != "" {
		q.Set("after", after)
	}
	what := "GET /customers"
	if after != "" {
		what += " after " + after
	}
	res, err := r.do(ctx, what, func(ctx context.Context) api.ReadResult {
		return r.cfg.Client.ListCustomers(ctx, q)
	})
	if err != nil {
		return Page{}, err
	}
	if res.Problem != nil {
		return Page{}, &ReadError{What: what, Status: res.Status, Detail: res.Problem.String()}
	}
	var doc struct {
		Data       []json.RawMessage `json:"data"`
		Pagination *struct {
			After json.RawMessage `json:"after"`
		} `json:"pagination"`
	}
	if err := json.Unmarshal(res.Body, &doc); err != nil {
		return Page{}, &ReadError{What: what, Status: res.Status, Detail: "the list answer is not {\"data\": [...]}: " + err.Error()}
	}
	p := Page{Records: make([]Record, 0, len(doc.Data))}
	for i, raw := range doc.Data {
		rec, err := ParseRecord(raw)
		if err != nil {
			return Page{}, &ReadError{What: what, Status: res.Status, Detail: fmt.Sprintf("record %d: %v", i+1, err)}
		}
		p.Records = append(p.Records, rec)
	}
	// A short page is the last. A full one has a next page when the server
	// names its cursor; a server that sends no pagination object at all
	// gets the last record's id as the cursor (what the documented example
	// shows), and an explicit null "after" ends the listing.
	if len(p.Records) >= PageSize {
		var cursor *string
		switch pg := doc.Pagination; {
		case pg == nil || len(pg.After) == 0:
			id := p.Records[len(p.Records)-1].ID
			cursor = &id
		default:
			_ = json.Unmarshal(pg.After, &cursor) // null leaves it nil
		}
		if cursor != nil && *cursor != "" {
			p.After, p.More = *cursor, true
		}
	}
	if p.More && p.After == after {
		return Page{}, &ReadError{What: what, Status: res.Status, Detail: "the server answered the same cursor again; stopping the listing"}
	}
	return p, nil
}

// do sends one read, paced, and retries it until it has an answer to act
// on: a 2xx, a 404, or a final error.
func (r *Reader) do(ctx context.Context, what string, send func(context.Context) api.ReadResult) (api.ReadResult, error) {
	tries, waits := 0, 0
	for {
		at, err := r.pacer.Wait(ctx)
		if err != nil {
			return api.ReadResult{}, err
		}
		res := send(ctx)
		now := r.cfg.Clock.Now()
		r.pacer.Answered(at, now)
		// The server's word beats the pace, as for updates (ratelimit's
		// doc, "The server's word"): the read budget's own Pacer hears it.
		if res.Status != 0 || res.Word.Window.Known() {
			r.pacer.Heard(at, res.Word, res.Status == http.StatusTooManyRequests)
		}
		if res.Err == nil || !errors.Is(res.Err, api.ErrBadID) {
			r.reads.Add(1)
			if r.cfg.OnRead != nil {
				r.cfg.OnRead(at)
			}
		}
		if until, ok := res.Word.Window.Spent(now); ok && until.Sub(now) <= maxWait {
			r.log.Info("the server's read limit is spent until its reset; reads wait", "until", until.Format(time.RFC3339))
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		retry := false
		var wait time.Duration
		switch {
		case res.Err != nil && errors.Is(res.Err, api.ErrBadID):
			return res, &ReadError{What: what, Detail: res.Err.Error()}
		case res.Err != nil:
			retry = true
		case res.Status >= 200 && res.Status < 300, res.Status == http.StatusNotFound:
			return res, nil
		case res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden:
			return res, &AuthError{Status: res.Status, Detail: res.Problem.String()}
		case res.Status == http.StatusTooManyRequests:
			waits++
			wait = res.Wait
			if !res.HasWait {
				wait = max(r.cfg.Rate.Interval(), ratelimit.Backoff(waits, r.cfg.RetryBase, backoffMax, r.cfg.Rand))
			}
			if wait > maxWait {
				return res, &LimitError{Wait: wait}
			}
			if waits > maxWaits {
				return res, &ReadError{What: what, Status: res.Status, Detail: fmt.Sprintf("still rate limited after %d waits", maxWaits)}
			}
			r.pacer.Pause(now.Add(wait))
			r.log.Info("read rate limited by the server; waiting", "read", what, "wait", wait.Round(time.Millisecond).String())
			continue // the pacer holds the next read back; no retry spent
		case res.Status >= 500 || res.Status == http.StatusRequestTimeout:
			retry = true
			wait = res.Wait
		default:
			return res, &ReadError{What: what, Status: res.Status, Detail: res.Problem.String()}
		}
		if !retry {
			continue
		}
		tries++
		detail := ""
		if res.Err != nil {
			detail = "no answer: " + res.Err.Error()
		} else {
			detail = res.Problem.String()
		}
		if tries > r.cfg.MaxRetries {
			return res, &ReadError{What: what, Status: res.Status, Detail: fmt.Sprintf("gave up after %d attempts; last: %s", tries, detail)}
		}
		wait = max(wait, ratelimit.Backoff(tries, r.cfg.RetryBase, backoffMax, r.cfg.Rand))
		r.log.Info("will retry read", "read", what, "attempt", tries, "in", wait.Round(time.Millisecond).String(), "reason", detail)
		if err := sleep(ctx, r.cfg.Clock, wait); err != nil {
			return res, err
		}
	}
}

func sleep(ctx context.Context, clk clockwork.Clock, d time.Duration) error {
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.Chan():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
