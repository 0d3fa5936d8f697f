package checkpoint

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestIntentBudget(t *testing.T) {
	type step struct {
		fp      string
		day     string
		budget  int
		num     int
		wantErr error
	}
	tests := []struct {
		name      string
		steps     []step
		wantQuota []Quota
	}{
		{
			name: "refused past budget",
			steps: []step{
				{fp: "test_aa", day: "2026-11-27", budget: 2, num: 1},
				{fp: "test_aa", day: "2026-11-27", budget: 2, num: 2},
				{fp: "test_aa", day: "2026-11-27", budget: 2, num: 3, wantErr: ErrBudgetSpent},
				{fp: "test_aa", day: "2026-11-27", budget: 3, num: 4},
			},
			wantQuota: []Quota{{Fingerprint: "test_aa", Day: "2026-11-27", Used: 3}},
		},
		{
			name: "zero budget refuses the first",
			steps: []step{
				{fp: "test_aa", day: "2026-11-27", budget: 0, num: 1, wantErr: ErrBudgetSpent},
			},
		},
		{
			name: "negative budget counts without limit",
			steps: []step{
				{fp: "test_aa", day: "2026-11-27", budget: -1, num: 1},
				{fp: "test_aa", day: "2026-11-27", budget: -1, num: 2},
			},
			wantQuota: []Quota{{Fingerprint: "test_aa", Day: "2026-11-27", Used: 2}},
		},
		{
			name: "days and fingerprints are separate",
			steps: []step{
				{fp: "test_aa", day: "2026-11-27", budget: 1, num: 1},
				{fp: "test_aa", day: "2026-11-28", budget: 1, num: 2},
				{fp: "live_bb", day: "2026-11-27", budget: 1, num: 3},
				{fp: "live_bb", day: "2026-11-27", budget: 1, num: 4, wantErr: ErrBudgetSpent},
			},
			wantQuota: []Quota{
				{Fingerprint: "live_bb", Day: "2026-11-27", Used: 1},
				{Fingerprint: "test_aa", Day: "2026-11-27", Used: 1},
				{Fingerprint: "test_aa", Day: "2026-11-28", Used: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t, Options{})
			l := s.RunLog("r")
			sends := map[string]int{}
			for i, st := range tt.steps {
				// A buffered Put before each Intent: written with it,
				// or kept buffered when the Intent is refused.
				putNum := 1000 + i
				if err := l.Put(row(putNum)); err != nil {
					t.Fatal(err)
				}
				key := fmt.Sprintf("k%d", st.num)
				err := l.Intent(Attempt{
					Rows:        []Row{inflight(st.num, key)},
					Fingerprint: st.fp,
					Day:         st.day,
					Budget:      st.budget,
					At:          day0.Add(time.Duration(i) * time.Second),
				})
				if !errors.Is(err, st.wantErr) || (st.wantErr == nil) != (err == nil) {
					t.Fatalf("step %d: Intent(row %d, budget %d) = %v; want %v", i, st.num, st.budget, err, st.wantErr)
				}
				_, gotRow, _ := s.Row("r", st.num)
				_, gotPut, _ := s.Row("r", putNum)
				if st.wantErr != nil {
					if gotRow || gotPut {
						t.Errorf("step %d: refused Intent wrote row %v, buffered row %v; want nothing", i, gotRow, gotPut)
					}
					continue
				}
				sends[st.fp]++
				if !gotRow || !gotPut {
					t.Errorf("step %d: after Intent row stored %v, buffered row stored %v; want both", i, gotRow, gotPut)
				}
			}
			quotas, err := s.Quotas()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantQuota, quotas); diff != "" {
				t.Errorf("Quotas() mismatch (-want +got):\n%s", diff)
			}
			for _, q := range tt.wantQuota {
				if got, err := s.QuotaUsed(q.Fingerprint, q.Day); got != q.Used || err != nil {
					t.Errorf("QuotaUsed(%s, %s) = %d, %v; want %d", q.Fingerprint, q.Day, got, err, q.Used)
				}
			}
			for fp, n := range sends {
				got, err := s.RecentSends(fp)
				if err != nil || len(got) != n {
					t.Errorf("RecentSends(%s) = %d instants, %v; want %d", fp, len(got), err, n)
				}
			}
			// A refused Intent kept its buffered rows: Flush writes them.
			mustFlush(t, l)
			for i := range tt.steps {
				if _, ok, _ := s.Row("r", 1000+i); !ok {
					t.Errorf("after Flush, buffered row %d missing", 1000+i)
				}
			}
		})
	}
}

func TestIntentInvalid(t *testing.T) {
	ok := Attempt{Rows: []Row{inflight(1, "k")}, Fingerprint: "test_aa", Day: "2026-11-27", Budget: 5, At: day0}
	tests := []struct {
		name   string
		mutate func(a *Attempt)
	}{
		{name: "no rows", mutate: func(a *Attempt) { a.Rows = nil }},
		{name: "no fingerprint", mutate: func(a *Attempt) { a.Fingerprint = "" }},
		{name: "bad day", mutate: func(a *Attempt) { a.Day = "27/11/2026" }},
		{name: "unpadded day", mutate: func(a *Attempt) { a.Day = "2026-1-2" }},
		{name: "no time", mutate: func(a *Attempt) { a.At = time.Time{} }},
		{name: "row not in flight", mutate: func(a *Attempt) { a.Rows = []Row{row(1)} }},
		{name: "row without key", mutate: func(a *Attempt) { a.Rows = []Row{inflight(1, "")} }},
		{name: "row number zero", mutate: func(a *Attempt) { a.Rows = []Row{inflight(0, "k")} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t, Options{})
			a := ok
			tt.mutate(&a)
			if err := s.RunLog("r").Intent(a); err == nil {
				t.Errorf("Intent(%s) = nil; want an error", tt.name)
			}
			if used, _ := s.QuotaUsed("test_aa", "2026-11-27"); used != 0 {
				t.Errorf("invalid Intent charged %d requests; want 0", used)
			}
		})
	}
}

func TestPutBuffersUntilFlush(t *testing.T) {
	tests := []struct {
		name        string
		puts        int
		wantVisible int // rows visible before Flush
	}{
		{name: "under the threshold", puts: 10, wantVisible: 0},
		{name: "one batch", puts: flushRows, wantVisible: flushRows},
		{name: "one batch and a bit", puts: flushRows + 7, wantVisible: flushRows},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t, Options{})
			l := s.RunLog("r")
			for i := 1; i <= tt.puts; i++ {
				if err := l.Put(row(i)); err != nil {
					t.Fatal(err)
				}
			}
			if got := countRows(t, s, "r"); got != tt.wantVisible {
				t.Errorf("after %d Puts, %d rows stored; want %d", tt.puts, got, tt.wantVisible)
			}
			mustFlush(t, l)
			if got := countRows(t, s, "r"); got != tt.puts {
				t.Errorf("after Flush, %d rows stored; want %d", got, tt.puts)
			}
		})
	}
}

func countRows(t *testing.T, s *Store, runID string) int {
	t.Helper()
	n := 0
	if err := s.Rows(runID, func(Row) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRowLifecycle: a later write of the same row wins, in the order the
// calls were made, whether buffered or not.
func TestRowLifecycle(t *testing.T) {
	s, _ := openTest(t, Options{})
	l := s.RunLog("r")
	carried := row(1)
	carried.Outcome = "pending"
	if err := l.Put(carried); err != nil {
		t.Fatal(err)
	}
	if err := l.Intent(Attempt{Rows: []Row{inflight(1, "key-1")}, Fingerprint: "fp", Day: "2026-11-27", Budget: 10, At: day0}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Row("r", 1)
	if err != nil || !ok || got.Status != StatusInFlight || got.Key != "key-1" {
		t.Fatalf("after Intent, Row(r, 1) = %+v, %v, %v; want in flight with key-1", got, ok, err)
	}
	final := inflight(1, "key-1")
	final.Status, final.Outcome, final.HTTPStatus = StatusDone, "updated", 200
	if err := l.Outcome([]Row{final}, nil); err != nil {
		t.Fatal(err)
	}
	got, _, _ = s.Row("r", 1)
	if diff := cmp.Diff(final, got); diff != "" {
		t.Errorf("after Outcome, Row(r, 1) mismatch (-want +got):\n%s", diff)
	}
}

// appliedDigest is the documented formula, written out independently.
func appliedDigest(pairs ...any) [32]byte {
	var b []byte
	for i := 0; i < len(pairs); i += 2 {
		name := pairs[i].(string)
		d := pairs[i+1].([32]byte)
		b = append(b, 0, 0, 0, byte(len(name)))
		b = append(b, name...)
		b = append(b, d[:]...)
	}
	return sha256.Sum256(b)
}

func TestDigestFields(t *testing.T) {
	d1 := [32]byte{1}
	d2 := [32]byte{2}
	tests := []struct {
		name   string
		fields map[string][32]byte
		want   [32]byte
	}{
		{name: "nil", fields: nil, want: [32]byte{
			0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
			0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
		}},
		{name: "one", fields: map[string][32]byte{"email": d1}, want: appliedDigest("email", d1)},
		{name: "sorted by name", fields: map[string][32]byte{"phone_number": d2, "email": d1}, want: appliedDigest("email", d1, "phone_number", d2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DigestFields(tt.fields); got != tt.want {
				t.Errorf("DigestFields(%v) = %x; want %x", tt.fields, got, tt.want)
			}
		})
	}
}

func TestOutcomeMergesApplied(t *testing.T) {
	dA, dB, dC := [32]byte{0xA}, [32]byte{0xB}, [32]byte{0xC}
	type step struct {
		scope      string
		fields     map[string][32]byte
		wantFields map[string][32]byte
		wantDigest [32]byte
	}
	steps := []step{
		{
			scope:      "s1",
			fields:     map[string][32]byte{"email": dA, "phone_number": dB},
			wantFields: map[string][32]byte{"email": dA, "phone_number": dB},
			wantDigest: appliedDigest("email", dA, "phone_number", dB),
		},
		{ // a changed field replaces its digest, the others stay
			scope:      "s1",
			fields:     map[string][32]byte{"phone_number": dC},
			wantFields: map[string][32]byte{"email": dA, "phone_number": dC},
			wantDigest: appliedDigest("email", dA, "phone_number", dC),
		},
		{ // the same values again: the digest does not change
			scope:      "s1",
			fields:     map[string][32]byte{"email": dA},
			wantFields: map[string][32]byte{"email": dA, "phone_number": dC},
			wantDigest: appliedDigest("email", dA, "phone_number", dC),
		},
		{ // a new field changes it
			scope:      "s1",
			fields:     map[string][32]byte{"first_name": dA},
			wantFields: map[string][32]byte{"email": dA, "first_name": dA, "phone_number": dC},
			wantDigest: appliedDigest("email", dA, "first_name", dA, "phone_number", dC),
		},
		{ // another scope is another record
			scope:      "s2",
			fields:     map[string][32]byte{"email": dB},
			wantFields: map[string][32]byte{"email": dB},
			wantDigest: appliedDigest("email", dB),
		},
	}
	s, _ := openTest(t, Options{})
	l := s.RunLog("r")
	for i, st := range steps {
		at := day0.Add(time.Duration(i) * time.Minute)
		done := row(i + 1)
		done.Outcome, done.HTTPStatus = "updated", 200
		err := l.Outcome([]Row{done}, &AppliedUpdate{Scope: st.scope, CustomerID: "cus_1", Fields: st.fields, At: at.In(time.FixedZone("X", 3600))})
		if err != nil {
			t.Fatalf("step %d: Outcome = %v", i, err)
		}
		got, ok, err := s.Applied(st.scope, "cus_1")
		if err != nil || !ok {
			t.Fatalf("step %d: Applied(%s, cus_1) = %v, %v; want found", i, st.scope, ok, err)
		}
		want := Applied{Fields: st.wantFields, Digest: st.wantDigest, At: at}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("step %d: Applied(%s, cus_1) mismatch (-want +got):\n%s", i, st.scope, diff)
		}
	}
	if _, ok, err := s.Applied("s1", "cus_2"); ok || err != nil {
		t.Errorf("Applied(s1, cus_2) = %v, %v; want not found", ok, err)
	}
	many, err := s.AppliedMany("s1", []string{"cus_1", "cus_2", ""})
	if err != nil {
		t.Fatal(err)
	}
	if len(many) != 1 || many["cus_1"].Digest != steps[3].wantDigest {
		t.Errorf("AppliedMany(s1, [cus_1 cus_2 \"\"]) = %v; want only cus_1", many)
	}
	scopes, err := s.Scopes()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"s1", "s2"}, scopes); diff != "" {
		t.Errorf("Scopes() mismatch (-want +got):\n%s", diff)
	}
	if err := l.Outcome(nil, &AppliedUpdate{CustomerID: "x"}); err == nil {
		t.Errorf("Outcome with an applied update without scope = nil; want an error")
	}
}

func TestRecentSends(t *testing.T) {
	tests := []struct {
		name    string
		offsets []int // seconds after day0, in call order
		want    []int // seconds after day0, oldest first
	}{
		{name: "in order", offsets: []int{1, 2, 3}, want: []int{1, 2, 3}},
		{name: "out of order from concurrent workers", offsets: []int{3, 1, 2}, want: []int{1, 2, 3}},
		{name: "capped at 256", offsets: seq(1, 300), want: seq(45, 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t, Options{})
			l := s.RunLog("r")
			for i, off := range tt.offsets {
				err := l.Intent(Attempt{Rows: []Row{inflight(i+1, "k")}, Fingerprint: "fp", Day: "2026-11-27", Budget: -1, At: day0.Add(time.Duration(off) * time.Second)})
				if err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.RecentSends("fp")
			if err != nil {
				t.Fatal(err)
			}
			want := make([]time.Time, len(tt.want))
			for i, off := range tt.want {
				want[i] = day0.Add(time.Duration(off) * time.Second)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("RecentSends(fp) mismatch (-want +got):\n%s", diff)
			}
			if other, err := s.RecentSends("other"); len(other) != 0 || err != nil {
				t.Errorf("RecentSends(other) = %v, %v; want none", other, err)
			}
		})
	}
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// TestConcurrentRunLog: a producer Puts while workers Intent and Outcome
// their own rows; run under -race. Every row ends in its last state.
func TestConcurrentRunLog(t *testing.T) {
	const (
		workers       = 8
		perWorker     = 40
		producerRows  = 6000 // crosses the automatic flush
		requestOffset = 100000
	)
	s, _ := openTest(t, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		l := s.RunLog("r") // the same RunLog as the workers'
		for i := 1; i <= producerRows; i++ {
			if err := l.Put(row(i)); err != nil {
				errs <- err
				return
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := s.RunLog("r")
			for i := range perWorker {
				num := requestOffset + w*perWorker + i
				key := fmt.Sprintf("key-%d", num)
				if err := l.Intent(Attempt{Rows: []Row{inflight(num, key)}, Fingerprint: "fp", Day: "2026-11-27", Budget: 1000, At: day0}); err != nil {
					errs <- err
					return
				}
				done := inflight(num, key)
				done.Status, done.Outcome, done.HTTPStatus = StatusDone, "updated", 200
				id := fmt.Sprintf("cus_%d", num)
				if err := l.Outcome([]Row{done}, &AppliedUpdate{Scope: "s", CustomerID: id, Fields: map[string][32]byte{"email": {byte(w)}}, At: day0}); err != nil {
					errs <- err
					return
				}
				if _, ok, err := s.Applied("s", id); !ok || err != nil {
					errs <- fmt.Errorf("Applied(s, %s) = %v, %v; want found", id, ok, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mustFlush(t, s.RunLog("r"))

	var done, requested int
	err := s.Rows("r", func(r Row) error {
		switch {
		case r.Num <= producerRows && r.Status == StatusDone && r.Outcome == "unchanged":
			done++
		case r.Num >= requestOffset && r.Status == StatusDone && r.Outcome == "updated" && r.Key == fmt.Sprintf("key-%d", r.Num):
			requested++
		default:
			return fmt.Errorf("unexpected row %+v", r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if done != producerRows || requested != workers*perWorker {
		t.Errorf("stored %d put rows and %d requested rows; want %d and %d", done, requested, producerRows, workers*perWorker)
	}
	if used, _ := s.QuotaUsed("fp", "2026-11-27"); used != workers*perWorker {
		t.Errorf("QuotaUsed = %d; want %d", used, workers*perWorker)
	}
	if sends, _ := s.RecentSends("fp"); len(sends) != recentCap {
		t.Errorf("RecentSends kept %d; want %d", len(sends), recentCap)
	}
}

// TestConcurrentBudget: many workers racing for the last requests of a day
// get exactly the budget, never more.
func TestConcurrentBudget(t *testing.T) {
	const budget, workers, tries = 25, 8, 10
	s, _ := openTest(t, Options{})
	l := s.RunLog("r")
	var mu sync.Mutex
	granted, refused := 0, 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range tries {
				err := l.Intent(Attempt{Rows: []Row{inflight(w*tries+i+1, "k")}, Fingerprint: "fp", Day: "2026-11-27", Budget: budget, At: day0})
				mu.Lock()
				switch {
				case err == nil:
					granted++
				case errors.Is(err, ErrBudgetSpent):
					refused++
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if granted != budget || refused != workers*tries-budget {
		t.Errorf("granted %d, refused %d; want %d and %d", granted, refused, budget, workers*tries-budget)
	}
	if used, _ := s.QuotaUsed("fp", "2026-11-27"); used != budget {
		t.Errorf("QuotaUsed = %d; want %d", used, budget)
	}
	if n := countRows(t, s, "r"); n != budget {
		t.Errorf("%d rows in flight stored; want %d", n, budget)
	}
}

func TestRefund(t *testing.T) {
	s, _ := openTest(t, Options{})
	l := s.RunLog("r")
	// Nothing charged yet: nothing to give back, and no error.
	if err := l.Refund("fp", "2026-11-27"); err != nil {
		t.Fatalf("Refund with nothing charged: %v", err)
	}
	for i := 1; i <= 2; i++ {
		if err := l.Intent(Attempt{Rows: []Row{inflight(i, "k")}, Fingerprint: "fp", Day: "2026-11-27", Budget: 2, At: day0}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		day  string
		want int
	}{
		{"2026-11-27", 1},
		{"2026-11-28", 1}, // another day: nothing charged there
		{"2026-11-27", 0},
		{"2026-11-27", 0}, // never below zero
	}
	for i, st := range steps {
		if err := l.Refund("fp", st.day); err != nil {
			t.Fatalf("step %d: Refund: %v", i, err)
		}
		if got, err := s.QuotaUsed("fp", "2026-11-27"); got != st.want || err != nil {
			t.Errorf("step %d: after Refund(%s), QuotaUsed = %d, %v; want %d", i, st.day, got, err, st.want)
		}
	}
	// The budget is free again.
	if err := l.Intent(Attempt{Rows: []Row{inflight(3, "k")}, Fingerprint: "fp", Day: "2026-11-27", Budget: 2, At: day0}); err != nil {
		t.Errorf("Intent after refunds: %v", err)
	}
}
