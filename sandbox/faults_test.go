package sandbox

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFailRate(t *testing.T) {
	e := newEnv(t, Options{FailRate: 1, PerMinute: 2})
	for i := range 2 {
		r := e.patch(exampleID, `{"first_name":"Ada"}`, map[string]string{"Idempotency-Key": "k1"})
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("attempt %d = %d %s; want 503", i, r.status, r.body)
		}
		eb := r.errorBody(t)
		if eb.Error.Code != "service_unavailable" || eb.Error.Type != "api_error" || eb.Error.RequestID == "" {
			t.Errorf("503 error = %+v; want service_unavailable, api_error, a request id", eb.Error)
		}
	}
	// 503s count against the limits.
	if r := e.patch(exampleID, `{"first_name":"Ada"}`, nil); r.status != http.StatusTooManyRequests {
		t.Errorf("third request with PerMinute 2 = %d; want 429", r.status)
	}
	if c, _ := e.srv.Customer(exampleID); !cmp.Equal(c, example()) {
		t.Errorf("customer changed by 503s: %+v", c)
	}
	want := Stats{RequestsByStatus: map[int]int{503: 2, 429: 1}, RateLimited: 1}
	if diff := cmp.Diff(want, e.stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestDropAfterApply(t *testing.T) {
	e := newEnv(t, Options{DropAfterApply: 1})
	_, err := e.ts.Client().Do(e.request(context.Background(), http.MethodPatch, "/customers/"+exampleID,
		`{"first_name":"Ada"}`, patchHeaders(map[string]string{"Idempotency-Key": "k1"})))
	if err == nil {
		t.Fatalf("PATCH with DropAfterApply 1 got an answer; want a transport error")
	}
	if c, _ := e.srv.Customer(exampleID); c.FirstName != "Ada" {
		t.Fatalf("first_name after a dropped PATCH = %q; want Ada (applied)", c.FirstName)
	}

	// A retry with the same key is a replay: nothing applied twice, and
	// replays are never dropped.
	r := e.patch(exampleID, `{"first_name":"Ada"}`, map[string]string{"Idempotency-Key": "k1"})
	if r.status != http.StatusOK || r.header.Get("Idempotent-Replayed") != "true" || r.customer(t).FirstName != "Ada" {
		t.Fatalf("retry = %d replayed %q %s; want the stored 200 replayed", r.status, r.header.Get("Idempotent-Replayed"), r.body)
	}

	// Without a key, a retry applies again: the stats show the waste.
	for range 2 {
		if _, err := e.ts.Client().Do(e.request(context.Background(), http.MethodPatch, "/customers/"+exampleID,
			`{"last_name":"Lovelace"}`, patchHeaders(nil))); err == nil {
			t.Fatalf("PATCH without key got an answer; want a transport error")
		}
	}
	// Errors before apply are answered, never dropped.
	if r := e.patch(exampleID, `{}`, nil); r.status != http.StatusUnprocessableEntity {
		t.Errorf("invalid PATCH = %d; want 422", r.status)
	}
	want := Stats{
		RequestsByStatus:      map[int]int{200: 1, 422: 1},
		AppliedUpdates:        3,
		Replays:               1,
		DuplicateApplications: 1,
		DroppedConnections:    3,
	}
	if diff := cmp.Diff(want, e.stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

// TestFaultsReproducible runs the same requests against two sandboxes with
// the same seed: the same requests fail.
func TestFaultsReproducible(t *testing.T) {
	statuses := func(seed int64) []int {
		e := newEnv(t, Options{FailRate: 0.5, PerMinute: 100, Seed: seed})
		var out []int
		for range 24 {
			out = append(out, e.patch(exampleID, `{"first_name":"Ada"}`, nil).status)
		}
		return out
	}
	a, b := statuses(42), statuses(42)
	if !cmp.Equal(a, b) {
		t.Errorf("statuses with seed 42 = %v, then %v; want the same", a, b)
	}
	count := map[int]int{}
	for _, s := range a {
		count[s]++
	}
	if count[200] == 0 || count[503] == 0 || count[200]+count[503] != len(a) {
		t.Errorf("statuses with FailRate 0.5 = %v; want a mix of 200 and 503 only", count)
	}
	if c := statuses(43); cmp.Equal(a, c) {
		t.Errorf("seeds 42 and 43 both gave %v; want different sequences", a)
	}
}

func TestLatency(t *testing.T) {
	e := newEnv(t, Options{Latency: 2 * time.Second})
	ch := e.async(e.request(context.Background(), http.MethodPatch, "/customers/"+exampleID, `{"first_name":"Ada"}`, patchHeaders(nil)))
	e.blockUntil(1)
	if c, _ := e.srv.Customer(exampleID); c.FirstName != "Test" {
		t.Errorf("first_name while waiting = %q; want Test (not applied before the latency)", c.FirstName)
	}
	e.clock.Advance(2 * time.Second)
	res := <-ch
	if res.err != nil || res.resp.status != 200 {
		t.Fatalf("PATCH after the latency = %+v; want 200", res)
	}

	// Error answers are delayed too.
	ch = e.async(e.request(context.Background(), http.MethodPatch, "/customers/"+exampleID, `{}`, patchHeaders(nil)))
	e.blockUntil(1)
	e.clock.Advance(2 * time.Second)
	if res := <-ch; res.err != nil || res.resp.status != 422 {
		t.Fatalf("invalid PATCH after the latency = %+v; want 422", res)
	}
}

// TestLatencyClientGone cancels a request during its latency: nothing is
// applied and its Idempotency-Key is free again.
func TestLatencyClientGone(t *testing.T) {
	finished := make(chan struct{}, 4)
	e := newWrappedEnv(t, Options{Latency: time.Second}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() { finished <- struct{}{} }()
			h.ServeHTTP(w, r)
		})
	})
	hdr := patchHeaders(map[string]string{"Idempotency-Key": "k1"})
	ctx, cancel := context.WithCancel(context.Background())
	ch := e.async(e.request(ctx, http.MethodPatch, "/customers/"+exampleID, `{"first_name":"Ada"}`, hdr))
	e.blockUntil(1)
	cancel()
	if res := <-ch; res.err == nil {
		t.Fatalf("cancelled PATCH got %d; want an error", res.resp.status)
	}
	<-finished // the handler saw the client leave and returned

	if c, _ := e.srv.Customer(exampleID); c.FirstName != "Test" {
		t.Errorf("first_name = %q; want Test (nothing applied)", c.FirstName)
	}
	ch = e.async(e.request(context.Background(), http.MethodPatch, "/customers/"+exampleID, `{"first_name":"Ada"}`, hdr))
	e.blockUntil(1)
	e.clock.Advance(time.Second)
	res := <-ch
	if res.err != nil || res.resp.status != 200 || res.resp.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("PATCH with the released key = %+v; want 200 applied", res)
	}
}
