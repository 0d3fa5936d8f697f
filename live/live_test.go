package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/juicebatch/juicebatch/batch/api"
	"github.com/juicebatch/juicebatch/batch/normalize"
	"github.com/juicebatch/juicebatch/live"
	"github.com/juicebatch/juicebatch/ratelimit"
	"github.com/juicebatch/juicebatch/sandbox"
)

const key = "test_live_key"

func str(s string) *string { return &s }

func TestDiff(t *testing.T) {
	rec, err := live.ParseRecord(json.RawMessage(`{"id":"c-1","first_name":"Ada","last_name":null,
		"email":" ada@Example.COM ","phone_number":"+2348031234567",
		"billing_address":{"line1":"1 Marina","line2":null,"city":"Lagos","state":null,"zip_code":"","country":"ng"},
		"created_at":"2026-11-01T10:00:00Z","updated_at":"2026-11-02T10:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	addr := &normalize.Address{Line1: "1 Marina", City: "Lagos", Country: "NG"}
	tests := []struct {
		name string
		body normalize.Body
		want string
	}{
		{"same email after normalizing the live domain", normalize.Body{Email: str("ada@example.com")}, ""},
		{"null equals empty", normalize.Body{LastName: str("")}, ""},
		{"address whole, nulls as empty", normalize.Body{Address: addr}, ""},
		{"one address key differs", normalize.Body{Address: &normalize.Address{Line1: "1 Marina", City: "Lagos", State: "LA", Country: "NG"}},
			`billing_address: {"line1":"1 Marina","line2":"","city":"Lagos","state":"","zip_code":"","country":"NG"} → {"line1":"1 Marina","line2":"","city":"Lagos","state":"LA","zip_code":"","country":"NG"}`},
		{"email differs", normalize.Body{Email: str("new@example.com"), FirstName: str("Ada")}, "email: ada@example.com → new@example.com"},
		{"clear a set value", normalize.Body{Phone: str("")}, `phone_number: +2348031234567 → ""`},
		{"set a null value", normalize.Body{LastName: str("Obi")}, `last_name: "" → Obi`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := live.Join(live.Diff(tt.body, rec)); got != tt.want {
				t.Errorf("Diff = %q; want %q", got, tt.want)
			}
		})
	}
	if rec.CreatedAt.IsZero() || rec.UpdatedAt.IsZero() {
		t.Errorf("timestamps not read: %+v", rec)
	}
	noAddr, _ := live.ParseRecord(json.RawMessage(`{"id":"c-2","billing_address":null}`))
	if got := live.Join(live.Diff(normalize.Body{Address: addr}, noAddr)); got == "" {
		t.Error("an address against a record without one: no difference found")
	}
}

func TestChoose(t *testing.T) {
	tests := []struct {
		wanted, known int
		method        live.Method
		estimate      int
	}{
		{300, 330, live.Pages, 4},
		{3, 330, live.Singles, 3},
		{4, 330, live.Singles, 4},
		{5, 330, live.Pages, 4},
		{300, -1, live.Pages, 3},
		{20, -1, live.Singles, 20},
		{1, -1, live.Singles, 1},
		{0, 330, live.Singles, 0},
		{300, 50000, live.Singles, 300},
	}
	for _, tt := range tests {
		c := live.Choose(tt.wanted, tt.known)
		if c.Method != tt.method || c.Estimate != tt.estimate {
			t.Errorf("Choose(%d, %d) = %v, %d reads; want %v, %d", tt.wanted, tt.known, c.Method, c.Estimate, tt.method, tt.estimate)
		}
		if c.Reason() == "" {
			t.Errorf("Choose(%d, %d) has no reason", tt.wanted, tt.known)
		}
	}
	if c := live.Choose(300, -1); c.PageLimit != 299 {
		t.Errorf("Choose(300, -1).PageLimit = %d; want 299 (never more than the single reads)", c.PageLimit)
	}
}

func newReader(t *testing.T, h http.Handler, clk clockwork.Clock) *live.Reader {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := api.New(api.Config{BaseURL: srv.URL, Key: key, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return live.NewReader(live.Config{Client: c, Rate: ratelimit.Rate{N: 100, Per: time.Second}, Clock: clk,
		MaxRetries: 2, RetryBase: time.Millisecond, Rand: func() float64 { return 0.5 }})
}

// autoAdvance moves clk on whenever something waits on it.
func autoAdvance(t *testing.T, clk *clockwork.FakeClock) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for clk.BlockUntilContext(ctx, 1) == nil {
			clk.Advance(100 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func TestListAgainstTheSandbox(t *testing.T) {
	clk := clockwork.NewFakeClockAt(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	autoAdvance(t, clk)
	seeds := make([]sandbox.Customer, 250)
	for i := range seeds {
		seeds[i] = sandbox.Customer{ID: fmt.Sprintf("c-%03d", i), Email: fmt.Sprintf("e%d@example.com", i)}
	}
	sb, err := sandbox.New(sandbox.Options{Keys: []string{key}, Customers: seeds, Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rd := newReader(t, sb, clk)
	var ids []string
	after, pages := "", 0
	for {
		p, err := rd.ListPage(context.Background(), after)
		if err != nil {
			t.Fatalf("ListPage(%q): %v", after, err)
		}
		pages++
		for _, r := range p.Records {
			ids = append(ids, r.ID)
		}
		if !p.More {
			break
		}
		after = p.After
	}
	if pages != 3 || len(ids) != 250 || ids[0] != "c-000" || ids[249] != "c-249" {
		t.Errorf("listing: %d pages, %d records (%v ... ); want 3 pages, 250 in created order", pages, len(ids), ids[:1])
	}
	if rec, found, err := rd.Get(context.Background(), "c-007"); err != nil || !found || *rec.Body.Email != "e7@example.com" {
		t.Errorf("Get(c-007) = %+v, %v, %v", rec, found, err)
	}
	if _, found, err := rd.Get(context.Background(), "nobody"); err != nil || found {
		t.Errorf("Get(nobody) = found %v, %v; want not found, no error", found, err)
	}
	if rd.Reads() != 5 || sb.Stats().Reads != 5 {
		t.Errorf("reads counted %d, server saw %d; want 5", rd.Reads(), sb.Stats().Reads)
	}
}

// TestReadRetriesAndWaits: a 429 is waited out as told without spending a
// retry, a 5xx is retried, X-RateLimit-Remaining 0 holds the next read until
// the reset, and 401 ends at once.
func TestReadRetriesAndWaits(t *testing.T) {
	type step struct {
		status int
		hdr    map[string]string
	}
	tests := []struct {
		name      string
		steps     []step
		wantErr   bool
		wantReads int
		minWait   time.Duration
	}{
		{"429 with Retry-After, then 200", []step{{429, map[string]string{"Retry-After": "30"}}, {200, nil}}, false, 2, 30 * time.Second},
		{"503 twice, then 200", []step{{503, nil}, {503, nil}, {200, nil}}, false, 3, 0},
		{"503 past the retries", []step{{503, nil}, {503, nil}, {503, nil}}, true, 3, 0},
		{"remaining 0 holds the next read until the reset", []step{{200, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "RESET"}}, {200, nil}}, false, 2, 10 * time.Minute},
		{"401 ends at once", []step{{401, nil}}, true, 1, 0},
		{"429 asking for a day", []step{{429, map[string]string{"Retry-After": "86400"}}}, true, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			clk := clockwork.NewFakeClockAt(start)
			autoAdvance(t, clk)
			var n atomic.Int64
			var last atomic.Int64
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				last.Store(clk.Now().UnixNano())
				if i >= len(tt.steps) {
					t.Errorf("request %d beyond the script", i+1)
					w.WriteHeader(500)
					return
				}
				s := tt.steps[i]
				for k, v := range s.hdr {
					if v == "RESET" {
						v = strconv.FormatInt(clk.Now().Add(10*time.Minute).Unix(), 10)
					}
					w.Header().Set(k, v)
				}
				w.WriteHeader(s.status)
				if s.status == 200 {
					fmt.Fprint(w, `{"data":{"id":"c-1","email":"a@example.com"}}`)
				} else {
					fmt.Fprintf(w, `{"error":{"code":"x","message":"status %d"}}`, s.status)
				}
			})
			rd := newReader(t, h, clk)
			_, _, err := rd.Get(context.Background(), "c-1")
			if (err != nil) != tt.wantErr {
				t.Errorf("Get error %v; want error %v", err, tt.wantErr)
			}
			if tt.name == "remaining 0 holds the next read until the reset" {
				_, _, err = rd.Get(context.Background(), "c-1")
				if err != nil {
					t.Errorf("second Get: %v", err)
				}
			}
			if got := int(n.Load()); got != tt.wantReads || rd.Reads() != tt.wantReads {
				t.Errorf("server saw %d reads, reader counted %d; want %d", got, rd.Reads(), tt.wantReads)
			}
			if waited := time.Unix(0, last.Load()).Sub(start); waited < tt.minWait {
				t.Errorf("last read at +%s; want at least +%s", waited, tt.minWait)
			}
		})
	}
}
