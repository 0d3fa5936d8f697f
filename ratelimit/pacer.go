package ratelimit

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"
)

const (
	// slackDiv sets the slack: requests are spaced Interval × (1 + 1/slackDiv)
	// apart and the window guard counts over Per × (1 + 1/slackDiv).
	// 1/200 = 0.5 %; see the package comment for why.
	slackDiv = 200

	// grain is the unit the spacing is rounded up to and the limiter's
	// delays are rounded to, for spacings of at least grainFrom. rate.Limiter
	// keeps its limit as float64 events per second, so a 6.03 s delay can
	// come back as 6.029999999 s; a microsecond is far below any timer's
	// resolution and far below the slack, and it makes the released
	// instants exact multiples of the spacing. Paces over 1000 requests a
	// second use whole nanoseconds and no rounding.
	grain     = time.Microsecond
	grainFrom = time.Millisecond
)

// Pacer gates every request of a run. Build one with NewPacer and share it
// by all workers; the zero value is not usable. All methods are safe for
// concurrent use.
type Pacer struct {
	clk    clockwork.Clock
	base   Rate
	window time.Duration // Per + Per/slackDiv: the guard's window
	grain  time.Duration // see the constant grain

	mu      sync.Mutex
	spacing time.Duration // between two releases at the current pace; N × spacing ≥ window
	lim     *rate.Limiter
	// limAt is the latest instant handed to lim. rate.Limiter accepts
	// instants that go back in time, but CancelAt and SetLimitAt would then
	// move its clock backwards without taking back the tokens it counted
	// forward, and credit tokens twice. Every call passes max(now, limAt).
	limAt      time.Time
	factor     float64     // the 429 factor (Slowed, Climb), in [minFactor, 1]
	pauseUntil time.Time   // no release before this instant
	sent       []time.Time // the last ≤ N release instants, oldest first
	queue      []*waiter   // callers of Wait, in arrival order; queue[0] is the head
	// sentSinceSlow is true when a request was released after the last
	// slowdown, i.e. when a new 429 can be blamed on the current pace.
	sentSinceSlow bool

	// The server's word (see Heard).
	share    float64     // ShareFactor of the latest window word, in [1/N, 1]
	clean    int         // answers without a 429 since the last Climb step
	slowedAt time.Time   // when the pace was last slowed; earlier requests' answers do not climb
	win, day heard       // the latest word on the window and on the day
	released []time.Time // the last ≤ logCap release instants as released, oldest first
}

// heard is the latest word the server said on one budget, and the release
// instant of the request whose answer said it.
type heard struct {
	b    Budget
	from time.Time
	// mine is true when the word shows the server counting only this
	// Pacer's requests, under the Pacer's own limit: then the window guard,
	// which knows those requests to the nanosecond, already holds what the
	// word would, and the word's Reset, in whole seconds rounded up, would
	// only hold up to a second longer.
	mine bool
}

// waiter is one caller of Wait. Only the head of the queue holds a
// reservation and a timer; the others wait for their turn, so a caller that
// gives up before its turn has cost nothing.
type waiter struct {
	turn  chan struct{} // closed when the waiter becomes the head
	kick  chan struct{} // 1-buffered: Pause moved the head's slot
	head  bool
	res   *rate.Reservation
	slot  time.Time
	timer clockwork.Timer
}

// NewPacer returns a Pacer for r on clk (nil means the real clock). recent
// holds the instants at which earlier requests with the same API key left —
// typically Recent() of the previous process, read back from the state file —
// in any order; zero instants are ignored, instants in the future are taken
// as now, and only the latest r.N matter. They make the first requests wait
// as the server's sliding window requires.
//
// r must have N ≥ 1 and Per ≥ N nanoseconds, as every Rate from ParseRate
// has; NewPacer panics otherwise, since no pace can be derived.
func NewPacer(r Rate, clk clockwork.Clock, recent []time.Time) *Pacer {
	if r.N < 1 || r.Interval() <= 0 {
		panic(fmt.Sprintf("ratelimit: NewPacer(%s): want N ≥ 1 and Per ≥ N ns", r))
	}
	if clk == nil {
		clk = clockwork.NewRealClock()
	}
	p := &Pacer{
		clk:           clk,
		base:          r,
		window:        r.Per + r.Per/slackDiv,
		grain:         time.Nanosecond,
		factor:        1,
		sentSinceSlow: true,
		share:         1,
	}
	if p.window/time.Duration(r.N) >= grainFrom {
		p.grain = grain
	}
	p.setSpacingLocked()
	p.lim = rate.NewLimiter(rate.Every(p.spacing), 1)

	now := clk.Now()
	for _, t := range recent {
		if t.IsZero() {
			continue
		}
		p.sent = append(p.sent, earliest(t, now))
	}
	slices.SortFunc(p.sent, time.Time.Compare)
	if len(p.sent) > r.N {
		p.sent = slices.Clone(p.sent[len(p.sent)-r.N:])
	}
	if n := len(p.sent); n > 0 {
		// Let the limiter count the newest send as its own last event, so a
		// restart keeps the even spacing instead of sending at once.
		last := p.sent[n-1]
		p.lim.ReserveN(last, 1)
		p.limAt = last
	}
	return p
}

// Wait blocks until the next request may leave and returns that instant
// (the clock's time when the caller is released). Callers are released one
// at a time in the order they called Wait. The caller should send at once
// and record the instant (see Recent) so a restart can respect it.
//
// If ctx is done first, Wait returns the zero time and ctx.Err(), and the
// slot it held goes to the next caller: a cancelled Wait uses up no capacity.
func (p *Pacer) Wait(ctx context.Context) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	w := &waiter{turn: make(chan struct{}), kick: make(chan struct{}, 1)}
	p.mu.Lock()
	p.queue = append(p.queue, w)
	p.promoteLocked(p.clk.Now())
	p.mu.Unlock()

	select {
	case <-w.turn:
	case <-ctx.Done():
		p.mu.Lock()
		p.abandonLocked(w)
		p.mu.Unlock()
		return time.Time{}, ctx.Err()
	}

	for {
		p.mu.Lock()
		if w.timer != nil {
			w.timer.Stop()
			w.timer = nil
		}
		select {
		case <-w.kick: // stale: the slot read below is already the new one
		default:
		}
		if err := ctx.Err(); err != nil {
			p.abandonLocked(w)
			p.mu.Unlock()
			return time.Time{}, err
		}
		now := p.clk.Now()
		if !now.Before(w.slot) {
			p.releaseLocked(w, now)
			p.mu.Unlock()
			return now, nil
		}
		// The timer is made under p.mu so that Pause, which stops it under
		// p.mu, never leaves a stale timer registered on the clock.
		w.timer = p.clk.NewTimer(w.slot.Sub(now))
		fire := w.timer.Chan()
		p.mu.Unlock()

		select {
		case <-fire:
		case <-w.kick:
		case <-ctx.Done():
		}
	}
}

// Pause is called after a 429. Policy:
//
//   - No caller is released before until, including callers already waiting.
//     A until in the past holds nobody. Pauses never shorten one another.
//   - The pace slows to 0.8 × the current pace, but never below a quarter of
//     the configured rate (Slowed): a 429 means something outside this
//     process spent the key or the server counts differently. The slowdown
//     is not for good: answers without a 429 that Heard is told of take the
//     pace back up, 5 % of the configured rate every second one (Climb), so
//     one 429 costs a few seconds, not the rest of the run.
//   - A 429 slows the pace only if a request left after the previous
//     slowdown. Concurrent workers often get 429s for requests that all
//     left before the first one was seen; those say nothing about the
//     slowed pace, so they extend the pause but do not slow it again.
//
// The window guard is not changed: it models the server, not the pace.
func (p *Pacer) Pause(until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clk.Now()
	if until.After(p.pauseUntil) {
		p.pauseUntil = until
	}
	head := p.unscheduleHeadLocked(now)
	if p.sentSinceSlow && p.factor > minFactor {
		p.factor = Slowed(p.factor)
		p.applySpacingLocked(now)
		p.slowedAt = now
	}
	p.sentSinceSlow = false
	p.clean = 0
	p.rescheduleHeadLocked(head, now)
}

// Heard tells the Pacer what the server said in its answer to the request
// released at sent (the instant Wait returned for it): w, its rate-limit
// headers as ParseWord reads them, and limited, whether the answer was a
// 429. Call it for every answer of this Pacer's budget, whatever its status
// and whatever its headers (a Word of no headers changes nothing but the
// recovery); on a 429, call Pause as well. It does four things:
//
//   - Window and day holds: the latest word on each budget (the one of the
//     request released last; an older request's answer, arriving late,
//     does not undo a newer word) lets Remaining more requests go, minus
//     those released since the word's request left, and holds the next
//     until its Reset (see Hold). A word whose request is older than the
//     last logCap releases is ignored.
//   - Share: a window word that says Limit (equal to the Rate's N, so
//     that its window is the Rate's Per) and Remaining, not from a 429,
//     tells how many requests others spent in the window (see Others); the
//     pace is kept to ShareFactor of the configured rate until the next
//     word says otherwise. A 429's Limit may be another limit's (the day's),
//     so it is not used for this.
//   - Recovery: an answer that is not a 429, to a request released since
//     the last slowdown, counts as clean; every second one takes the pace
//     back up by 5 % of the configured rate (see Climb), until it is the
//     configured rate again.
//   - The caller first in line is rescheduled, so that all of it applies to
//     the very next request.
//
// The same Pacer type serves every budget the server keeps: one Pacer per
// budget (updates, reads), each fed only its own answers.
//
// A hold, like a pause, is never shortened once the caller first in line
// has been given its slot: the limiter's clock never goes back (see
// limAt), so a later word that would lift the hold leaves that slot where
// it is. Such a word can only come from a request already in flight when
// the hold was set, so this costs at most one hold's wait, and errs on the
// side of no 429.
func (p *Pacer) Heard(sent time.Time, w Word, limited bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clk.Now()
	head := p.unscheduleHeadLocked(now)
	defer p.rescheduleHeadLocked(head, now)

	eff := min(p.factor, p.share)
	i, found := slices.BinarySearchFunc(p.released, sent, time.Time.Compare)
	if found {
		if w.Window.Known() && !sent.Before(p.win.from) {
			p.win = heard{b: w.Window, from: sent}
			// The share needs the server's window to be the Pacer's Per,
			// which the headers do not say: it is taken to be when the
			// server's limit is the Pacer's N (10 a minute, 1000 an
			// hour). Under any other limit, our requests in the server's
			// window cannot be counted, and only the hold applies.
			if w.Window.Limit == p.base.N && !limited {
				// Our requests in the server's window of this answer:
				// released in (sent − Per, sent].
				lo, _ := slices.BinarySearchFunc(p.released, sent.Add(-p.base.Per), time.Time.Compare)
				for lo <= i && !p.released[lo].After(sent.Add(-p.base.Per)) {
					lo++
				}
				others := Others(w.Window.Limit, w.Window.Remaining, i+1-lo)
				p.share = ShareFactor(p.base.N, w.Window.Limit, others)
				p.win.mine = others == 0
			}
		}
		if w.Day.Known() && !sent.Before(p.day.from) {
			p.day = heard{b: w.Day, from: sent}
		}
	}
	if !limited && !sent.Before(p.slowedAt) {
		p.factor, p.clean = Climb(p.factor, p.clean)
	}
	if min(p.factor, p.share) != eff {
		p.applySpacingLocked(now)
	}
}

// logCap is how many release instants Heard can match a word's request
// against, beyond the N of the window: room for the requests in flight.
const logCap = 256

// holdLocked is the earliest instant at or after t that the server's
// latest words allow (see Hold).
func (p *Pacer) holdLocked(t time.Time) time.Time {
	for range 2 { // a day hold may land in a window hold, and the reverse
		for _, h := range [...]heard{p.win, p.day} {
			if h.from.IsZero() || h.mine {
				continue
			}
			// Release instants strictly increase: at most one equals from.
			j, found := slices.BinarySearchFunc(p.released, h.from, time.Time.Compare)
			if found {
				j++
			}
			t = Hold(h.b, len(p.released)-j, t)
		}
	}
	return t
}

// applySpacingLocked sets the spacing for the current factors and tells
// the limiter.
func (p *Pacer) applySpacingLocked(now time.Time) {
	p.setSpacingLocked()
	t := latest(now, p.limAt)
	p.lim.SetLimitAt(t, rate.Every(p.spacing))
	p.limAt = t
}

// unscheduleHeadLocked takes back the reservation of the caller first in
// line, if it holds one, so that a change of pace or hold applies to it;
// rescheduleHeadLocked then gives it its new slot.
func (p *Pacer) unscheduleHeadLocked(now time.Time) *waiter {
	if len(p.queue) == 0 || !p.queue[0].head {
		return nil
	}
	head := p.queue[0]
	if head.timer != nil {
		head.timer.Stop()
		head.timer = nil
	}
	p.cancelLocked(head, now)
	return head
}

func (p *Pacer) rescheduleHeadLocked(head *waiter, now time.Time) {
	if head == nil {
		return
	}
	p.scheduleLocked(head, now)
	select {
	case head.kick <- struct{}{}:
	default:
	}
}

// Answered tells the window guard that the request released at sent was
// answered (or given up on) at answered. The server counts a request when it
// arrives, which is somewhere between the two; from now on the guard counts
// it at answered, the latest it can have arrived. So however the network's
// delay varies between two requests N apart, the server never sees N+1 in
// one window. Even spacing alone keeps the guard out of the way while delays
// vary by less than the slack; when they vary more, the guard, not the
// server, absorbs the difference.
func (p *Pacer) Answered(sent, answered time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// p.sent is sorted: find sent by binary search, and move it to its new
	// place by shifting the few instants between (a full sort on every
	// answer would cost N log N at a rate of N a second).
	i, found := slices.BinarySearchFunc(p.sent, sent, time.Time.Compare)
	if !found || !answered.After(sent) {
		return // already out of the window, or nothing to move
	}
	j := i
	for j+1 < len(p.sent) && p.sent[j+1].Before(answered) {
		p.sent[j] = p.sent[j+1]
		j++
	}
	p.sent[j] = answered
	// The head's slot may have been computed from the old instant.
	if len(p.queue) > 0 && p.queue[0].head {
		head := p.queue[0]
		now := p.clk.Now()
		if n := len(p.sent); n >= p.base.N && p.sent[n-p.base.N].Add(p.window).After(head.slot) {
			if head.timer != nil {
				head.timer.Stop()
				head.timer = nil
			}
			p.cancelLocked(head, now)
			p.scheduleLocked(head, now)
			select {
			case head.kick <- struct{}{}:
			default:
			}
		}
	}
}

// Rate is the current pace without the slack: the configured rate, or a
// slower one after Pause or while others share the key (see Heard),
// expressed as N requests per a longer period (10/min slowed once is
// 10/1m15s).
func (p *Pacer) Rate() Rate {
	p.mu.Lock()
	defer p.mu.Unlock()
	per := time.Duration(math.Round(float64(p.base.Per) / min(p.factor, p.share)))
	return Rate{N: p.base.N, Per: per}
}

// Recent returns the instants at which the last (at most N) requests were
// released, oldest first, including those NewPacer was seeded with. Store
// them with the run's state and pass them to NewPacer after a restart.
func (p *Pacer) Recent() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.sent)
}

// Waiting is the number of callers blocked in Wait.
func (p *Pacer) Waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue)
}

// setSpacingLocked sets the spacing for the current factor: window/N
// divided by the factor, rounded up to the grain. Rounding up keeps N
// spacings at least as long as the guard's window, so in steady state the
// guard never has to correct the limiter.
func (p *Pacer) setSpacingLocked() {
	n := time.Duration(p.base.N)
	d := (p.window + n - 1) / n
	if f := min(p.factor, p.share); f != 1 {
		// Rounded to the nanosecond first, so that float noise (6.03 s /
		// 0.8 = 7.537500000000001 s) does not round up a whole grain.
		d = time.Duration(math.Round(float64(d) / f))
	}
	p.spacing = (d + p.grain - 1) / p.grain * p.grain
}

// promoteLocked makes the first waiter the head if it is not yet: it
// reserves its slot and lets it start its timer.
func (p *Pacer) promoteLocked(now time.Time) {
	if len(p.queue) == 0 || p.queue[0].head {
		return
	}
	h := p.queue[0]
	h.head = true
	close(h.turn)
	p.scheduleLocked(h, now)
}

// scheduleLocked reserves h's slot: the limiter's next slot, asked for no
// earlier than the pause and the window guard allow.
//
// Subtleness ahead: asking the limiter at a future instant t (rather than
// now and then waiting longer) is what makes it count the event at t, so
// the spacing after a pause or a guard delay is measured from the real
// release, not from an earlier instant no request used.
func (p *Pacer) scheduleLocked(h *waiter, now time.Time) {
	t := latest(now, p.limAt)
	t = latest(t, p.pauseUntil)
	if n := len(p.sent); n >= p.base.N {
		t = latest(t, p.sent[n-p.base.N].Add(p.window))
	}
	t = p.holdLocked(t)
	h.res = p.lim.ReserveN(t, 1)
	p.limAt = t
	h.slot = t.Add(h.res.DelayFrom(t).Round(p.grain))
}

// cancelLocked gives h's reservation back to the limiter.
func (p *Pacer) cancelLocked(h *waiter, now time.Time) {
	if h.res == nil {
		return
	}
	t := latest(now, p.limAt)
	h.res.CancelAt(t)
	p.limAt = t
	h.res = nil
}

// releaseLocked lets the head w go at now and promotes the next waiter.
func (p *Pacer) releaseLocked(w *waiter, now time.Time) {
	p.queue[0] = nil
	p.queue = p.queue[1:]
	w.res = nil
	p.sent = append(p.sent, now)
	if len(p.sent) > p.base.N {
		p.sent = p.sent[len(p.sent)-p.base.N:]
	}
	p.released = append(p.released, now)
	if keep := p.base.N + logCap; len(p.released) > 2*keep {
		// Trimmed in batches, so the copy costs O(1) a release.
		p.released = slices.Clone(p.released[len(p.released)-keep:])
	}
	p.sentSinceSlow = true
	p.promoteLocked(now)
}

// abandonLocked removes w, whose ctx is done, from the queue; if it was the
// head, its slot goes back to the limiter and on to the next waiter.
func (p *Pacer) abandonLocked(w *waiter) {
	i := slices.Index(p.queue, w)
	if i < 0 {
		return
	}
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	p.queue = slices.Delete(p.queue, i, i+1)
	if w.head {
		now := p.clk.Now()
		p.cancelLocked(w, now)
		p.promoteLocked(now)
	}
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
