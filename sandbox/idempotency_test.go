package sandbox

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestIdempotentReplay(t *testing.T) {
	e := newEnv(t, Options{PerMinute: 100})
	first := e.patch(exampleID, `{"first_name":"Ada","last_name":"Lovelace"}`, map[string]string{"Idempotency-Key": "k1"})
	if first.status != http.StatusOK {
		t.Fatalf("first PATCH = %d %s; want 200", first.status, first.body)
	}
	if first.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("first answer has Idempotent-Replayed %q; want none", first.header.Get("Idempotent-Replayed"))
	}
	// The customer changes in between; the replay still answers the stored
	// body and applies nothing.
	if r := e.patch(exampleID, `{"first_name":"Grace"}`, nil); r.status != http.StatusOK {
		t.Fatalf("PATCH without key = %d; want 200", r.status)
	}

	replay := e.patch(exampleID, "{ \"last_name\" : \"Lovelace\",\n \"first_name\":\"Ada\" }", map[string]string{"Idempotency-Key": "k1"})
	if replay.status != http.StatusOK {
		t.Fatalf("replay = %d %s; want 200", replay.status, replay.body)
	}
	if got := replay.header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("replay Idempotent-Replayed = %q; want true", got)
	}
	if !bytes.Equal(replay.body, first.body) {
		t.Errorf("replay body = %s; want the stored %s", replay.body, first.body)
	}
	if got, want := replay.header.Get("X-Request-Id"), first.header.Get("X-Request-Id"); got != want {
		t.Errorf("replay X-Request-Id = %q; want the original %q", got, want)
	}
	if c, _ := e.srv.Customer(exampleID); c.FirstName != "Grace" {
		t.Errorf("first_name after replay = %q; want Grace (nothing applied again)", c.FirstName)
	}
	st := e.srv.Stats()
	if st.AppliedUpdates != 2 || st.Replays != 1 || st.DuplicateApplications != 0 {
		t.Errorf("stats = %+v; want applied 2, replays 1, duplicates 0", st)
	}
}

func TestIdempotencyKeyReuse(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		body   string
		apiKey string
		want   int
		code   string
	}{
		{name: "same key, other body", id: exampleID, body: `{"first_name":"Bob"}`, apiKey: testKey, want: 422, code: "idempotency_key_reused"},
		{name: "same key, null added", id: exampleID, body: `{"first_name":"Ada","email":null}`, apiKey: testKey, want: 422, code: "idempotency_key_reused"},
		{name: "same key and body, other customer", id: "other", body: `{"first_name":"Ada"}`, apiKey: testKey, want: 422, code: "idempotency_key_reused"},
		{name: "same key under another API key is a new request", id: exampleID, body: `{"first_name":"Ada"}`, apiKey: otherKey, want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{Customers: []Customer{example(), {ID: "other"}}})
			if r := e.patch(exampleID, `{"first_name":"Ada"}`, map[string]string{"Idempotency-Key": "k1"}); r.status != 200 {
				t.Fatalf("first PATCH = %d %s; want 200", r.status, r.body)
			}
			r := e.patch(tt.id, tt.body, map[string]string{"Idempotency-Key": "k1", "Authorization": "Bearer " + tt.apiKey})
			if r.status != tt.want {
				t.Fatalf("second PATCH = %d %s; want %d", r.status, r.body, tt.want)
			}
			if r.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("Idempotent-Replayed = %q; want none", r.header.Get("Idempotent-Replayed"))
			}
			if tt.code != "" {
				if eb := r.errorBody(t); eb.Error.Code != tt.code {
					t.Errorf("code = %q; want %q", eb.Error.Code, tt.code)
				}
			}
		})
	}
}

func TestDuplicateApplications(t *testing.T) {
	e := newEnv(t, Options{PerMinute: 100})
	steps := []struct {
		body, ikey, apiKey string
	}{
		{`{"first_name":"Ada"}`, "a", testKey},
		{`{"first_name":"Ada"}`, "b", testKey},   // same body, another key: duplicate 1
		{`{ "first_name": "Ada" }`, "", testKey}, // no key: duplicate 2
		{`{"first_name":"Ada"}`, "a", otherKey},  // other API key: duplicate 3
		{`{"first_name":"Ada"}`, "a", testKey},   // replay: not applied
		{`{"first_name":"Bob"}`, "c", testKey},   // another body: not a duplicate
		{`{"last_name":"Ada"}`, "d", testKey},    // another body: not a duplicate
		{`{"first_name":"Ada"}`, "e", testKey},   // back to Ada: duplicate 4
	}
	for i, st := range steps {
		r := e.patch(exampleID, st.body, map[string]string{"Idempotency-Key": st.ikey, "Authorization": "Bearer " + st.apiKey})
		if r.status != http.StatusOK {
			t.Fatalf("step %d: PATCH = %d %s; want 200", i, r.status, r.body)
		}
	}
	st := e.srv.Stats()
	if st.AppliedUpdates != 7 || st.DuplicateApplications != 4 || st.Replays != 1 {
		t.Errorf("stats = %+v; want applied 7, duplicates 4, replays 1", st)
	}
}

func TestIdempotencyExpiresAfter24h(t *testing.T) {
	e := newEnv(t, Options{})
	send := func() resp {
		return e.patch(exampleID, `{"first_name":"Ada"}`, map[string]string{"Idempotency-Key": "k1"})
	}
	if r := send(); r.status != 200 {
		t.Fatalf("first PATCH = %d; want 200", r.status)
	}
	e.clock.Advance(24*time.Hour - time.Nanosecond)
	if r := send(); r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("PATCH 1 ns before 24 h = %d, replayed %q; want a replay", r.status, r.header.Get("Idempotent-Replayed"))
	}
	e.clock.Advance(time.Nanosecond)
	r := send()
	if r.status != 200 || r.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("PATCH at 24 h = %d, replayed %q; want 200 applied anew", r.status, r.header.Get("Idempotent-Replayed"))
	}
	if st := e.srv.Stats(); st.AppliedUpdates != 2 || st.Replays != 1 || st.DuplicateApplications != 1 {
		t.Errorf("stats = %+v; want applied 2, replays 1, duplicates 1", st)
	}
	// The new answer is stored afresh.
	if r := send(); r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("PATCH after re-storing = %d, replayed %q; want a replay", r.status, r.header.Get("Idempotent-Replayed"))
	}
}

func TestWhichAnswersAreStored(t *testing.T) {
	t.Run("a request-check 422 does not touch the key", func(t *testing.T) {
		e := newEnv(t, Options{})
		if r := e.patch(exampleID, `{"email":"nope"}`, map[string]string{"Idempotency-Key": "k1"}); r.status != 422 {
			t.Fatalf("invalid PATCH = %d; want 422", r.status)
		}
		r := e.patch(exampleID, `{"email":"ada@example.com"}`, map[string]string{"Idempotency-Key": "k1"})
		if r.status != 200 || r.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("valid PATCH with the same key = %d %s; want 200 applied", r.status, r.body)
		}
	})

	t.Run("a 422 for a taken email is stored and replayed", func(t *testing.T) {
		e := newEnv(t, Options{Customers: []Customer{{ID: "a", Email: "ada@example.com"}, {ID: "b"}}})
		first := e.patch("b", `{"email":"ada@example.com"}`, map[string]string{"Idempotency-Key": "k1"})
		if first.status != 422 {
			t.Fatalf("PATCH taken email = %d; want 422", first.status)
		}
		if r := e.patch("a", `{"email":""}`, nil); r.status != 200 {
			t.Fatalf("freeing the email = %d; want 200", r.status)
		}
		r := e.patch("b", `{"email":"ada@example.com"}`, map[string]string{"Idempotency-Key": "k1"})
		if r.status != 422 || r.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(r.body, first.body) {
			t.Errorf("retry = %d replayed %q %s; want the stored 422 replayed", r.status, r.header.Get("Idempotent-Replayed"), r.body)
		}
		if c, _ := e.srv.Customer("b"); c.Email != "" {
			t.Errorf("b's email = %q; want empty", c.Email)
		}
	})

	t.Run("a 503 is not stored", func(t *testing.T) {
		e := newEnv(t, Options{FailRate: 1})
		for i := range 2 {
			r := e.patch(exampleID, `{"first_name":"Ada"}`, map[string]string{"Idempotency-Key": "k1"})
			if r.status != 503 || r.header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("attempt %d = %d replayed %q; want a fresh 503", i, r.status, r.header.Get("Idempotent-Replayed"))
			}
		}
		if st := e.srv.Stats(); st.Replays != 0 || st.AppliedUpdates != 0 {
			t.Errorf("stats = %+v; want no replays, nothing applied", st)
		}
	})
}

// TestInFlight holds a request in flight on the fake clock's latency and
// sends others with the same key meanwhile.
func TestInFlight(t *testing.T) {
	e := newEnv(t, Options{Latency: time.Second})
	hdr := patchHeaders(map[string]string{"Idempotency-Key": "k1"})
	ctx := context.Background()
	first := e.async(e.request(ctx, http.MethodPatch, "/customers/"+exampleID, `{"first_name":"Ada"}`, hdr))
	e.blockUntil(1) // the first holds k1 and waits its latency

	same := e.async(e.request(ctx, http.MethodPatch, "/customers/"+exampleID, `{"first_name":"Ada"}`, hdr))
	e.blockUntil(2) // decided, waiting to answer
	other := e.async(e.request(ctx, http.MethodPatch, "/customers/"+exampleID, `{"first_name":"Bob"}`, hdr))
	e.blockUntil(3)
	e.clock.Advance(time.Second)

	want := map[string]struct {
		ch   <-chan result
		code int
	}{
		"first":      {first, 200},
		"same body":  {same, 409},
		"other body": {other, 422},
	}
	for name, w := range want {
		res := <-w.ch
		if res.err != nil {
			t.Fatalf("%s: %v", name, res.err)
		}
		if res.resp.status != w.code {
			t.Errorf("%s = %d %s; want %d", name, res.resp.status, res.resp.body, w.code)
		}
	}
	conflict := <-e.async(e.request(ctx, http.MethodGet, "/_sandbox/stats", "", nil))
	if conflict.err != nil || !bytes.Contains(conflict.resp.body, []byte(`"409":1`)) {
		t.Errorf("stats = %s, %v; want one 409", conflict.resp.body, conflict.err)
	}

	// After the first finished, the same key is a replay (answered after
	// the latency too).
	again := e.async(e.request(ctx, http.MethodPatch, "/customers/"+exampleID, `{"first_name":"Ada"}`, hdr))
	e.blockUntil(1)
	e.clock.Advance(time.Second)
	res := <-again
	if res.err != nil || res.resp.status != 200 || res.resp.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("after the first finished = %+v; want a 200 replay", res)
	}
	if st := e.srv.Stats(); st.AppliedUpdates != 1 {
		t.Errorf("applied_updates = %d; want 1", st.AppliedUpdates)
	}
}

// TestConcurrentSameKey sends one update 50 times at once with one key: it
// must be applied exactly once, every other answer a 409 or a replay.
func TestConcurrentSameKey(t *testing.T) {
	e := newEnv(t, Options{PerMinute: 1000})
	const n = 50
	hdr := patchHeaders(map[string]string{"Idempotency-Key": "same-key"})
	body := `{"first_name":"Ada","billing_address":{"line1":"1 Marina","line2":"","city":"Lagos","state":"","zip_code":"","country":"NG"}}`
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results = make([]result, n)
	)
	for i := range n {
		req := e.request(context.Background(), http.MethodPatch, "/customers/"+exampleID, body, hdr)
		wg.Go(func() {
			<-start
			results[i] = <-e.async(req)
		})
	}
	close(start)
	wg.Wait()

	var ok, conflict int
	var okBody []byte
	for i, res := range results {
		if res.err != nil {
			t.Fatalf("request %d: %v", i, res.err)
		}
		switch res.resp.status {
		case http.StatusOK:
			ok++
			if okBody != nil && !bytes.Equal(okBody, res.resp.body) {
				t.Errorf("request %d body %s differs from %s", i, res.resp.body, okBody)
			}
			okBody = res.resp.body
		case http.StatusConflict:
			conflict++
		default:
			t.Errorf("request %d = %d %s; want 200 or 409", i, res.resp.status, res.resp.body)
		}
	}
	st := e.srv.Stats()
	if st.AppliedUpdates != 1 || st.DuplicateApplications != 0 {
		t.Errorf("applied_updates = %d, duplicate_applications = %d; want 1 and 0", st.AppliedUpdates, st.DuplicateApplications)
	}
	if ok < 1 || st.Replays != ok-1 || ok+conflict != n {
		t.Errorf("200s = %d, 409s = %d, replays = %d; want 200s = replays + 1 and 200s + 409s = %d", ok, conflict, st.Replays, n)
	}
	if c, _ := e.srv.Customer(exampleID); c.FirstName != "Ada" || c.BillingAddress == nil || c.BillingAddress.City != "Lagos" {
		t.Errorf("customer = %+v; want the update applied", c)
	}
}
