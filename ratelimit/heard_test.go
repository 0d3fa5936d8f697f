package ratelimit

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

const spacing10 = 6030 * time.Millisecond // 10/min with the slack

// window is a Word about the window only. A limit of 0 is a word without
// X-RateLimit-Limit, which says nothing about other clients.
func window(limit, remaining int, reset time.Time) Word {
	return Word{Window: Budget{Limit: limit, Remaining: remaining, HasRemaining: true, Reset: reset}}
}

// next calls Wait in a goroutine and returns its release, checked to come
// exactly at want (see expectRelease).
func next(t *testing.T, p *Pacer, clk *clockwork.FakeClock, want time.Time) time.Time {
	t.Helper()
	out := make(chan waitResult, 1)
	goWait(context.Background(), p, 0, out)
	return expectRelease(t, clk, out, want).at
}

func TestHeardHoldsForTheReset(t *testing.T) {
	reset := t0.Add(40 * time.Second)
	tests := []struct {
		name  string
		words func(p *Pacer, sent []time.Time) // said after the first release
		want  []time.Duration                  // the next releases after t0
	}{
		{"no word: the local pace", func(*Pacer, []time.Time) {},
			[]time.Duration{spacing10, 2 * spacing10}},
		{"none left: wait for the reset", func(p *Pacer, s []time.Time) { p.Heard(s[0], window(0, 0, reset), false) },
			[]time.Duration{40 * time.Second, 40*time.Second + spacing10}},
		{"two left: two at the pace, then the reset", func(p *Pacer, s []time.Time) { p.Heard(s[0], window(0, 2, reset), false) },
			[]time.Duration{spacing10, 2 * spacing10, 40 * time.Second}},
		{"a reset already passed holds nothing", func(p *Pacer, s []time.Time) { p.Heard(s[0], window(0, 0, t0.Add(-time.Second)), false) },
			[]time.Duration{spacing10, 2 * spacing10}},
		{"garbage (no remaining) holds nothing", func(p *Pacer, s []time.Time) { p.Heard(s[0], Word{Window: Budget{Reset: reset}}, false) },
			[]time.Duration{spacing10, 2 * spacing10}},
		{"a request unknown to the pacer is ignored", func(p *Pacer, s []time.Time) { p.Heard(t0.Add(-time.Hour), window(0, 0, reset), false) },
			[]time.Duration{spacing10, 2 * spacing10}},
		{"the day spent: wait for the day's reset", func(p *Pacer, s []time.Time) {
			p.Heard(s[0], Word{Day: Budget{Remaining: 0, HasRemaining: true, Reset: t0.Add(14 * time.Hour)}}, false)
		}, []time.Duration{14 * time.Hour, 14*time.Hour + spacing10}},
		{"a 429's word holds too", func(p *Pacer, s []time.Time) { p.Heard(s[0], window(0, 0, reset), true) },
			[]time.Duration{40 * time.Second, 40*time.Second + spacing10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clockwork.NewFakeClockAt(t0)
			p := NewPacer(Rate{10, time.Minute}, clk, nil)
			first := next(t, p, clk, t0)
			tt.words(p, []time.Time{first})
			for _, d := range tt.want {
				next(t, p, clk, t0.Add(d))
			}
		})
	}
}

// TestHeardWhileWaiting: a word that comes while a caller already waits for
// its slot moves that very slot.
func TestHeardWhileWaiting(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	p := NewPacer(Rate{10, time.Minute}, clk, nil)
	first := next(t, p, clk, t0)
	out := make(chan waitResult, 1)
	goWait(context.Background(), p, 'B', out)
	blockUntilTimer(t, clk) // B waits for t0+6.03s
	p.Heard(first, window(0, 0, t0.Add(20*time.Second)), false)
	expectRelease(t, clk, out, t0.Add(20*time.Second))
}

// TestHeardNewestWordWins: the answer of an older request, arriving after
// that of a newer one, does not undo the newer word.
func TestHeardNewestWordWins(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	p := NewPacer(Rate{10, time.Minute}, clk, nil)
	a := next(t, p, clk, t0)
	b := next(t, p, clk, t0.Add(spacing10))
	p.Heard(b, window(10, 0, t0.Add(50*time.Second)), false)
	p.Heard(a, window(10, 5, t0.Add(30*time.Second)), false) // older news
	next(t, p, clk, t0.Add(50*time.Second))
}

// TestHeardShare: a word that shows another client spending the key slows
// the pace to 95 % of what it leaves; a later word without it restores the
// configured pace.
func TestHeardShare(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	p := NewPacer(Rate{10, time.Minute}, clk, nil)
	a := next(t, p, clk, t0)
	// One of ours in the window, and the server counted 3: two are others'.
	p.Heard(a, window(10, 7, t0.Add(time.Minute)), false)
	if got, want := p.Rate(), (Rate{10, 78947368421 * time.Nanosecond}); got != want { // 1 min / 0.76
		t.Errorf("Rate() with others spending 2 of 10 = %v; want %v", got, want)
	}
	// 6.03 s / 0.76 = 7.934211 s (rounded up to the µs).
	b := next(t, p, clk, t0.Add(7934211*time.Microsecond))
	p.Heard(b, window(10, 8, t0.Add(time.Minute)), false) // only our two
	if got, want := p.Rate(), (Rate{10, time.Minute}); got != want {
		t.Errorf("Rate() once the others stopped = %v; want %v", got, want)
	}
	next(t, p, clk, b.Add(spacing10))
}

// TestHeardOneEarly429 runs 200 requests at 10/min on a fake clock, once
// clean and once with a 429 for the third request (held for one interval
// and sent again), and wants the second run to end within 2 % of the
// first: one 429 must not slow the rest of a run.
func TestHeardOneEarly429(t *testing.T) {
	run := func(limitedAt int) time.Duration {
		clk := clockwork.NewFakeClockAt(t0)
		p := NewPacer(Rate{10, time.Minute}, clk, nil)
		var last time.Time
		for i := 0; i < 200; {
			out := make(chan waitResult, 1)
			goWait(context.Background(), p, i, out)
			r := advanceToRelease(t, p, clk, out)
			last = r.at
			answered := r.at.Add(200 * time.Millisecond)
			p.Answered(r.at, answered)
			if i == limitedAt {
				limitedAt = -1
				p.Heard(r.at, Word{}, true)
				p.Pause(answered.Add(spacing10))
				continue // the same row again
			}
			p.Heard(r.at, Word{}, false)
			i++
		}
		return last.Sub(t0)
	}
	clean, limited := run(-1), run(2)
	if ratio := float64(limited) / float64(clean); ratio > 1.02 {
		t.Errorf("200 requests took %v with one early 429, %v without: %.2f%% longer; want ≤ 2%%",
			limited, clean, (ratio-1)*100)
	} else {
		t.Logf("200 requests: %v clean, %v with one early 429 (+%.2f%%)", clean, limited, (ratio-1)*100)
	}
}

// advanceToRelease returns the release on out, moving clk straight to the
// slot of the caller first in line whenever it waits on a timer.
func advanceToRelease(t *testing.T, p *Pacer, clk *clockwork.FakeClock, out <-chan waitResult) waitResult {
	t.Helper()
	deadline := time.Now().Add(guard)
	for time.Now().Before(deadline) {
		select {
		case r := <-out:
			return r
		default:
		}
		if timerPending(clk) {
			p.mu.Lock()
			slot := p.queue[0].slot
			p.mu.Unlock()
			clk.Advance(slot.Sub(clk.Now()))
			return recv(t, out)
		}
		runtime.Gosched()
	}
	t.Fatal("Wait neither returned nor started a timer")
	return waitResult{}
}

// TestHeardOwnWindowNeedsNoReset: a word that shows only our own requests
// in the window (the server's count equals ours) leaves the hold to the
// window guard, which knows their instants exactly; the word's Reset,
// rounded up to a whole second, would only hold up to a second longer.
func TestHeardOwnWindowNeedsNoReset(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	p := NewPacer(Rate{10, time.Minute}, clk, nil)
	var at time.Time
	for i := range 10 {
		at = next(t, p, clk, t0.Add(time.Duration(i)*spacing10))
		// The sandbox's word: the requests in the window so far, and the
		// instant the oldest leaves it, rounded up to the second.
		p.Heard(at, window(10, 10-(i+1), t0.Add(61*time.Second)), false)
	}
	// The guard: the 11th goes when the first is 60.3 s old, not at 61 s.
	next(t, p, clk, t0.Add(60300*time.Millisecond))

	// Nine of ours and one other's fill the window: the word holds the
	// tenth to its Reset, though neither the pace nor the guard would.
	clk2 := clockwork.NewFakeClockAt(t0)
	p2 := NewPacer(Rate{10, time.Minute}, clk2, nil)
	for i := range 9 {
		at = next(t, p2, clk2, t0.Add(time.Duration(i)*spacing10))
		remaining := 10 - (i + 1)
		if i == 8 {
			remaining = 0
		}
		p2.Heard(at, window(10, remaining, t0.Add(61*time.Second)), false)
	}
	next(t, p2, clk2, t0.Add(61*time.Second))
}

// TestHeardShareNeedsTheSameLimit: under a server limit other than the
// Pacer's N, its window is of unknown length, our requests in it cannot be
// counted, and the word does not set the share (at 10/s against 600 a
// minute, 597 counted would otherwise read as 587 others').
func TestHeardShareNeedsTheSameLimit(t *testing.T) {
	clk := clockwork.NewFakeClockAt(t0)
	p := NewPacer(Rate{10, time.Second}, clk, nil)
	a := next(t, p, clk, t0)
	p.Heard(a, window(600, 3, t0.Add(time.Minute)), false)
	if got, want := p.Rate(), (Rate{10, time.Second}); got != want {
		t.Errorf("Rate() after a word under another limit = %v; want %v", got, want)
	}
}
