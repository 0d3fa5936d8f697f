package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

var t0 = time.Date(2026, time.November, 27, 10, 0, 0, 0, time.UTC)

// guard bounds every blocking step of a test in real time. It only turns a
// deadlock into a failure; no test waits for it to pass.
const guard = 10 * time.Second

type waitResult struct {
	id  int
	at  time.Time
	err error
}

// goWait calls p.Wait(ctx) in a goroutine and sends the result, tagged id,
// to out.
func goWait(ctx context.Context, p *Pacer, id int, out chan<- waitResult) {
	go func() {
		at, err := p.Wait(ctx)
		out <- waitResult{id, at, err}
	}()
}

func recv(t *testing.T, ch <-chan waitResult) waitResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(guard):
		t.Fatal("Wait did not return")
		return waitResult{}
	}
}

// blockUntilTimer returns once some caller of Wait sleeps on clk.
func blockUntilTimer(t *testing.T, clk *clockwork.FakeClock) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := clk.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("no caller of Wait started a timer: %v", err)
	}
}

// timerPending reports, without blocking, whether a timer is registered on
// clk right now. The Pacer has a timer only while its head waits, so after
// an Advance it tells whether that Advance released the head.
func timerPending(clk *clockwork.FakeClock) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return clk.BlockUntilContext(ctx, 1) == nil
}

// waitQueued returns once n callers are in p.Wait.
func waitQueued(t *testing.T, p *Pacer, n int) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for p.Waiting() < n {
		if time.Now().After(deadline) {
			t.Fatalf("Waiting() = %d; want %d", p.Waiting(), n)
		}
		runtime.Gosched()
	}
}

// expectRelease checks that the next result on ch comes exactly at want:
// the clock is moved to a nanosecond before want, where the head must still
// be waiting, and then to want.
func expectRelease(t *testing.T, clk *clockwork.FakeClock, ch <-chan waitResult, want time.Time) waitResult {
	t.Helper()
	if want.After(clk.Now()) {
		blockUntilTimer(t, clk)
		clk.Advance(want.Add(-time.Nanosecond).Sub(clk.Now()))
		if !timerPending(clk) {
			r := recv(t, ch)
			t.Fatalf("released at %s; want %s", r.at.Sub(t0), want.Sub(t0))
		}
		clk.Advance(time.Nanosecond)
	}
	r := recv(t, ch)
	if r.err != nil || !r.at.Equal(want) {
		t.Fatalf("Wait() = t0%+v, %v; want t0%+v, nil", r.at.Sub(t0), r.err, want.Sub(t0))
	}
	return r
}

func TestWaitSpacing(t *testing.T) {
	tests := []struct {
		name    string
		rate    Rate
		spacing time.Duration // Interval × 1.005, written out by hand
	}{
		{"10/min", Rate{10, time.Minute}, 6030 * time.Millisecond},
		{"5/s", Rate{5, time.Second}, 201 * time.Millisecond},
		{"600/min", Rate{600, time.Minute}, 100500 * time.Microsecond},
		{"2/h", Rate{2, time.Hour}, 1809 * time.Second},
		// 60.3 s / 7 = 8.614285714… s, rounded up to the microsecond.
		{"7/min", Rate{7, time.Minute}, 8614286 * time.Microsecond},
		// 1.005 s / 3000 = 335 µs.
		{"3000/s", Rate{3000, time.Second}, 335 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clockwork.NewFakeClockAt(t0)
			p := NewPacer(tt.rate, clk, nil)
			// More callers than N, so the window guard is active too.
			callers := min(tt.rate.N, 10) + 3
			out := make(chan waitResult, callers)
			for i := range callers {
				goWait(context.Background(), p, i, out)
			}
			for i := range callers {
				expectRelease(t, clk, out, t0.Add(time.Duration(i)*tt.spacing))
			}
			if n := p.Waiting(); n != 0 {
				t.Errorf("Waiting() = %d after all releases; want 0", n)
			}
		})
	}
}

func TestWaitFIFO(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	p := NewPacer(Rate{10, time.Minute}, clk, nil)
	if at, err := p.Wait(context.Background()); err != nil || !at.Equal(t0) {
		t.Fatalf("first Wait() = %v, %v; want t0, nil", at, err)
	}
	out := make(chan waitResult, 4)
	for id := 1; id <= 4; id++ {
		goWait(context.Background(), p, id, out)
		waitQueued(t, p, id)
	}
	for id := 1; id <= 4; id++ {
		r := expectRelease(t, clk, out, t0.Add(time.Duration(id)*6030*time.Millisecond))
		if r.id != id {
			t.Errorf("release %d went to caller %d; want caller %d (arrival order)", id, r.id, id)
		}
	}
}

func TestWaitSeeded(t *testing.T) {
	const s = time.Second
	every3s := make([]time.Time, 10) // 10 sends in the last 30 s: t0-30s … t0-3s
	for i := range every3s {
		every3s[i] = t0.Add(time.Duration(i-10) * 3 * s)
	}
	tests := []struct {
		name   string
		recent []time.Time
		want   []time.Duration // the first releases, after t0
	}{
		{"no history", nil, []time.Duration{0, 6030 * time.Millisecond}},
		// The window holds 10: wait until the oldest is 60.3 s old; the
		// next goes when the second oldest is, but not sooner than the
		// spacing allows.
		{"window full", every3s, []time.Duration{30300 * time.Millisecond, 36330 * time.Millisecond}},
		{"window full, out of order, with stale extras", append([]time.Time{
			t0.Add(-2 * time.Hour), t0.Add(-time.Hour)}, reversed(every3s)...),
			[]time.Duration{30300 * time.Millisecond, 36330 * time.Millisecond}},
		// One send 2 s ago: the window allows more, the spacing continues.
		{"one recent send", []time.Time{t0.Add(-2 * s)}, []time.Duration{4030 * time.Millisecond, 10060 * time.Millisecond}},
		{"old history", []time.Time{t0.Add(-time.Hour), t0.Add(-59 * time.Minute)}, []time.Duration{0, 6030 * time.Millisecond}},
		{"zero instants ignored", []time.Time{{}, {}}, []time.Duration{0, 6030 * time.Millisecond}},
		// A recorded send in the future (the clock was stepped back) is
		// taken as now.
		{"future send taken as now", []time.Time{t0.Add(time.Hour)}, []time.Duration{6030 * time.Millisecond, 12060 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clockwork.NewFakeClockAt(t0)
			p := NewPacer(Rate{10, time.Minute}, clk, tt.recent)
			out := make(chan waitResult, 1)
			for _, want := range tt.want {
				goWait(context.Background(), p, 0, out)
				expectRelease(t, clk, out, t0.Add(want))
			}
		})
	}
}

func reversed(ts []time.Time) []time.Time {
	out := slices.Clone(ts)
	slices.Reverse(out)
	return out
}

// TestRestartContinues kills a run after ten sends and restarts it at once
// from its Recent(): the new process neither bursts nor waits longer than
// the old one would have.
func TestRestartContinues(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	r := Rate{10, time.Minute}
	first := NewPacer(r, clk, nil)
	out := make(chan waitResult, 1)
	for i := range 10 {
		goWait(context.Background(), first, i, out)
		expectRelease(t, clk, out, t0.Add(time.Duration(i)*6030*time.Millisecond))
	}
	recent := first.Recent()
	if len(recent) != 10 || !recent[0].Equal(t0) || !recent[9].Equal(t0.Add(54270*time.Millisecond)) {
		t.Fatalf("Recent() = %v; want the 10 instants t0 … t0+54.27s", recent)
	}
	second := NewPacer(r, clk, recent)
	for i := 10; i < 13; i++ {
		goWait(context.Background(), second, i, out)
		expectRelease(t, clk, out, t0.Add(time.Duration(i)*6030*time.Millisecond))
	}
	if got := second.Recent(); len(got) != 10 || !got[0].Equal(t0.Add(3*6030*time.Millisecond)) {
		t.Errorf("Recent() after 3 more = %v; want the last 10, from t0+18.09s", got)
	}
}

func TestPause(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name   string
		until  time.Duration // after t0
		wantB  time.Duration // B was waiting for t0+6.03s when Pause came
		wantC  time.Duration
		wantDC time.Duration // D, which calls Wait after C is released
	}{
		// Held to the pause, then the slowed spacing 6.03 s / 0.8 = 7.5375 s.
		{"long pause", 30 * time.Second, 30 * time.Second, 37537500 * time.Microsecond, 45075 * ms},
		// The pause ends before the slowed spacing does.
		{"short pause", time.Second, 7537500 * time.Microsecond, 15075 * ms, 22612500 * time.Microsecond},
		{"pause in the past only slows", -time.Second, 7537500 * time.Microsecond, 15075 * ms, 22612500 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clockwork.NewFakeClockAt(t0)
			p := NewPacer(Rate{10, time.Minute}, clk, nil)
			if at, err := p.Wait(context.Background()); err != nil || !at.Equal(t0) {
				t.Fatalf("first Wait() = %v, %v; want t0, nil", at, err)
			}
			out := make(chan waitResult, 3)
			goWait(context.Background(), p, 'B', out)
			blockUntilTimer(t, clk)
			goWait(context.Background(), p, 'C', out)
			waitQueued(t, p, 2)

			p.Pause(t0.Add(tt.until))
			if got, want := p.Rate(), (Rate{10, 75 * time.Second}); got != want {
				t.Errorf("Rate() after Pause = %v; want %v", got, want)
			}
			if r := expectRelease(t, clk, out, t0.Add(tt.wantB)); r.id != 'B' {
				t.Errorf("first release after Pause went to %c; want B", r.id)
			}
			if r := expectRelease(t, clk, out, t0.Add(tt.wantC)); r.id != 'C' {
				t.Errorf("second release after Pause went to %c; want C", r.id)
			}
			goWait(context.Background(), p, 'D', out)
			expectRelease(t, clk, out, t0.Add(tt.wantDC))
		})
	}
}

func TestPauseSlowdownPolicy(t *testing.T) {
	tests := []struct {
		name  string
		steps string // 'p' = a 429 (Pause), 's' = a request sent
		want  Rate
	}{
		{"none", "", Rate{10, time.Minute}},
		{"one 429", "sp", Rate{10, 75 * time.Second}},
		{"429 before any send counts", "p", Rate{10, 75 * time.Second}},
		// Both requests left before the first 429 was seen.
		{"two 429s for earlier sends slow once", "sspp", Rate{10, 75 * time.Second}},
		{"429, send, 429 slows twice", "spsp", Rate{10, 93750 * time.Millisecond}},
		{"never below a quarter", "spspspspspspspspspspsp", Rate{10, 4 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clockwork.NewFakeClockAt(t0)
			p := NewPacer(Rate{10, time.Minute}, clk, nil)
			for _, step := range tt.steps {
				switch step {
				case 'p':
					p.Pause(time.Time{})
				case 's':
					// An hour later the pace and the window both allow a
					// request at once.
					clk.Advance(time.Hour)
					if at, err := p.Wait(context.Background()); err != nil || !at.Equal(clk.Now()) {
						t.Fatalf("Wait() = %v, %v; want now, nil", at, err)
					}
				}
			}
			if got := p.Rate(); got != tt.want {
				t.Errorf("after %q, Rate() = %v; want %v", tt.steps, got, tt.want)
			}
		})
	}
}

func TestWaitCancel(t *testing.T) {
	const spacing = 6030 * time.Millisecond
	t.Run("already cancelled", func(t *testing.T) {
		clk := clockwork.NewFakeClockAt(t0)
		p := NewPacer(Rate{10, time.Minute}, clk, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if at, err := p.Wait(ctx); !errors.Is(err, context.Canceled) || !at.IsZero() {
			t.Fatalf("Wait(cancelled) = %v, %v; want zero time, context.Canceled", at, err)
		}
		// It used no capacity: the next request goes at once.
		if at, err := p.Wait(context.Background()); err != nil || !at.Equal(t0) {
			t.Errorf("Wait() after a cancelled Wait = %v, %v; want t0, nil", at, err)
		}
	})
	t.Run("head gives its slot to the next", func(t *testing.T) {
		clk := clockwork.NewFakeClockAt(t0)
		p := NewPacer(Rate{10, time.Minute}, clk, nil)
		if _, err := p.Wait(context.Background()); err != nil {
			t.Fatalf("first Wait() = %v", err)
		}
		clk.Advance(2 * time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan waitResult, 2)
		goWait(ctx, p, 'B', out)
		blockUntilTimer(t, clk)
		goWait(context.Background(), p, 'C', out)
		waitQueued(t, p, 2)
		cancel()
		if r := recv(t, out); r.id != 'B' || !errors.Is(r.err, context.Canceled) || !r.at.IsZero() {
			t.Fatalf("cancelled Wait() = %c: %v, %v; want B: zero time, context.Canceled", r.id, r.at, r.err)
		}
		if r := expectRelease(t, clk, out, t0.Add(spacing)); r.id != 'C' {
			t.Errorf("B's slot went to %c; want C", r.id)
		}
		if n := p.Waiting(); n != 0 {
			t.Errorf("Waiting() = %d; want 0", n)
		}
	})
	t.Run("queued caller leaves the line", func(t *testing.T) {
		clk := clockwork.NewFakeClockAt(t0)
		p := NewPacer(Rate{10, time.Minute}, clk, nil)
		if _, err := p.Wait(context.Background()); err != nil {
			t.Fatalf("first Wait() = %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan waitResult, 3)
		goWait(context.Background(), p, 'B', out)
		blockUntilTimer(t, clk)
		goWait(ctx, p, 'C', out)
		waitQueued(t, p, 2)
		goWait(context.Background(), p, 'D', out)
		waitQueued(t, p, 3)
		cancel()
		if r := recv(t, out); r.id != 'C' || !errors.Is(r.err, context.Canceled) {
			t.Fatalf("cancelled Wait() = %c: %v; want C: context.Canceled", r.id, r.err)
		}
		if r := expectRelease(t, clk, out, t0.Add(spacing)); r.id != 'B' {
			t.Errorf("first release went to %c; want B", r.id)
		}
		if r := expectRelease(t, clk, out, t0.Add(2*spacing)); r.id != 'D' {
			t.Errorf("second release went to %c; want D", r.id)
		}
	})
	t.Run("head cancelled while the window guard holds it", func(t *testing.T) {
		// The oldest of 10 sends is 59 s old, so the guard holds the next
		// request until t0+1.3s; the newest is 1 s old, so the spacing
		// holds it until t0+5.03s.
		recent := []time.Time{t0.Add(-59 * time.Second)}
		for range 9 {
			recent = append(recent, t0.Add(-time.Second))
		}
		clk := clockwork.NewFakeClockAt(t0)
		p := NewPacer(Rate{10, time.Minute}, clk, recent)
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan waitResult, 2)
		goWait(ctx, p, 'B', out)
		blockUntilTimer(t, clk)
		cancel()
		if r := recv(t, out); !errors.Is(r.err, context.Canceled) {
			t.Fatalf("cancelled Wait() = %v; want context.Canceled", r.err)
		}
		// Giving the slot back must not credit the limiter twice for the
		// time up to t0+1.3s, which would let C go before t0+5.03s.
		goWait(context.Background(), p, 'C', out)
		expectRelease(t, clk, out, t0.Add(5030*time.Millisecond))
	})
	t.Run("head cancelled during a pause", func(t *testing.T) {
		clk := clockwork.NewFakeClockAt(t0)
		p := NewPacer(Rate{10, time.Minute}, clk, nil)
		if _, err := p.Wait(context.Background()); err != nil {
			t.Fatalf("first Wait() = %v", err)
		}
		p.Pause(t0.Add(time.Minute))
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan waitResult, 2)
		goWait(ctx, p, 'B', out)
		blockUntilTimer(t, clk)
		cancel()
		if r := recv(t, out); !errors.Is(r.err, context.Canceled) {
			t.Fatalf("cancelled Wait() = %v; want context.Canceled", r.err)
		}
		// The next caller gets the same slot: the end of the pause.
		goWait(context.Background(), p, 'C', out)
		expectRelease(t, clk, out, t0.Add(time.Minute))
	})
}

// TestWaitWindowProperty drives random workloads — several workers, random
// clock steps, cancellations and 429 pauses, a random history — and checks
// that no window of length Per ever holds more than N sends (any N+1
// consecutive sends, history included, span at least Per + Per/200), and
// that nothing is sent during a pause.
func TestWaitWindowProperty(t *testing.T) {
	rates := []Rate{{10, time.Minute}, {3, 10 * time.Second}, {5, time.Second}, {7, time.Minute}, {1, time.Minute}, {4, time.Hour}}
	for seed := range 24 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		r := rates[rng.IntN(len(rates))]
		t.Run(fmt.Sprintf("seed %d %s", seed, r), func(t *testing.T) {
			clk := clockwork.NewFakeClockAt(t0)
			window := r.Per + r.Per/200
			spacing := window / time.Duration(r.N)

			// A history a previous process could have left: at most N
			// sends, so no window is over-full yet.
			var recent []time.Time
			for range rng.IntN(r.N + 1) {
				recent = append(recent, t0.Add(-time.Duration(rng.Int64N(int64(2*r.Per)))))
			}
			p := NewPacer(r, clk, recent)

			workers := 1 + rng.IntN(4)
			cancellable := make([][]bool, workers) // decided here: rng is not safe for concurrent use
			total := 0
			for w := range cancellable {
				for range 5 + rng.IntN(25) {
					cancellable[w] = append(cancellable[w], rng.IntN(5) == 0)
					total++
				}
			}
			results := make(chan waitResult, total)
			cancels := make(chan context.CancelFunc, total)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for _, c := range cancellable[w] {
						ctx, cancel := context.WithCancel(context.Background())
						if c {
							cancels <- cancel
						}
						at, err := p.Wait(ctx)
						cancel()
						results <- waitResult{w, at, err}
					}
				})
			}

			type pause struct{ from, until time.Time }
			var (
				sent   []time.Time
				pauses []pause
			)
			for got := 0; got < total; {
				bctx, bcancel := context.WithTimeout(context.Background(), guard)
				blocked := make(chan error, 1)
				go func() { blocked <- clk.BlockUntilContext(bctx, 1) }()
				select {
				case res := <-results:
					bcancel()
					<-blocked
					got++
					switch {
					case res.err == nil:
						sent = append(sent, res.at)
					case !errors.Is(res.err, context.Canceled):
						t.Fatalf("Wait() = %v; want nil or context.Canceled", res.err)
					}
				case err := <-blocked:
					bcancel()
					if err != nil {
						t.Fatalf("no result and no timer: %v", err)
					}
					switch x := rng.IntN(20); {
					case x == 0:
						pa := pause{from: clk.Now(), until: clk.Now().Add(time.Duration(rng.Int64N(int64(r.Per))))}
						pauses = append(pauses, pa)
						p.Pause(pa.until)
					case x < 4:
						select {
						case cancel := <-cancels:
							cancel()
						default:
						}
					case x < 6:
						clk.Advance(time.Duration(rng.Int64N(int64(3 * r.Per))))
					default:
						clk.Advance(time.Duration(rng.Int64N(int64(spacing))) + 1)
					}
				}
			}
			wg.Wait()
			if n := p.Waiting(); n != 0 {
				t.Errorf("Waiting() = %d after all workers returned; want 0", n)
			}

			all := append(slices.Clone(recent), sent...)
			slices.SortFunc(all, time.Time.Compare)
			for i := 0; i+r.N < len(all); i++ {
				if span := all[i+r.N].Sub(all[i]); span < window {
					t.Fatalf("sends %d…%d (of %d, %d from history) span %v; want ≥ %v",
						i, i+r.N, len(all), len(recent), span, window)
				}
			}
			for _, pa := range pauses {
				for _, at := range sent {
					if at.After(pa.from) && at.Before(pa.until) {
						t.Fatalf("sent at t0%+v, inside a pause from t0%+v to t0%+v", at.Sub(t0), pa.from.Sub(t0), pa.until.Sub(t0))
					}
				}
			}
			t.Logf("%d workers, %d calls, %d sent, %d pauses", workers, total, len(sent), len(pauses))
		})
	}
}

func TestNewPacerPanics(t *testing.T) {
	tests := []struct {
		name string
		rate Rate
	}{
		{"zero value", Rate{}},
		{"no period", Rate{10, 0}},
		{"faster than 1/ns", Rate{2, time.Nanosecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewPacer(%#v) did not panic", tt.rate)
				}
			}()
			NewPacer(tt.rate, clockwork.NewFakeClockAt(t0), nil)
		})
	}
}

// BenchmarkPacerWait measures the cost of one Wait when the pace never makes
// anyone wait (10⁹ per second), with all Ps calling at once.
func BenchmarkPacerWait(b *testing.B) {
	p := NewPacer(Rate{1000, time.Microsecond}, nil, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Wait(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
