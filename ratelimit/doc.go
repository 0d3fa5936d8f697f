// Package ratelimit decides when a request may go: the pace of a run, the
// wait after a 429, the backoff between retries, what the server's
// rate-limit headers say, and how the daily quota stretches a run over UTC
// days.
//
// The server allows, per API key, N requests in any sliding window of length
// Per (10 a minute) and a budget per UTC day. A request the server answers
// with 429 is a request wasted, so the Pacer is built never to provoke one,
// to run close to the allowed rate anyway, and to stay right across a
// restart. It wraps golang.org/x/time/rate and adds only policy; it imports
// nothing else of this module.
//
// The model has four layers, each for something the one before cannot
// see. The local pace (even spacing with slack) is exact for a key nobody
// else uses. The window guard adds what a previous process sent. The
// server's word (Heard) adds what other clients sent, which only the server
// knows. Recovery (Pause, then Climb) undoes the slowdown a 429 causes, so
// that a 429 the word could not prevent costs seconds, not the run. Every
// decision is a pure function of its inputs with time as an argument
// (Hold, Others, ShareFactor, Slowed, Climb, ParseWord); the Pacer only
// keeps their state and its clock.
//
// # Even spacing, with slack
//
// A token bucket with burst N would let N requests go at once and then one
// every Per/N. That is legal for the server's window only if the burst lands
// in an empty window, which a restarted process cannot know, and a burst
// puts all the network jitter of N requests into one window. So the Pacer
// uses one rate.Limiter with burst 1: requests leave evenly spaced.
//
// The spacing is Interval × (1 + 0.5 %), not Interval. With spacing exactly
// Per/N, request k and request k+N are exactly Per apart, and any jitter that
// delays request k more than request k+N on the way to the server puts N+1
// requests into one of its windows. With 0.5 % slack, N consecutive gaps add
// up to Per + Per/200: at 10/min, request k+10 leaves 60.3 s after request
// k, so up to 300 ms of jitter difference per window is absorbed (300 ms at
// any N per minute; 5 ms at N per second, which only the local sandbox uses).
// The pace stays at 1/1.005 = 99.5 % of the allowed rate, above the 99 % we
// aim for; 1000 requests at 10/min take 100.5 minutes instead of 100. The
// spacing is rounded up to a whole microsecond (60.3 s / 7 = 8.614286 s), so
// N spacings are never shorter than Per + slack and the released instants
// are exact multiples of it.
//
// rate.Limiter's Wait reads the real clock, so the Pacer never calls it. It
// reserves with ReserveN(t, 1), sleeps DelayFrom(t) on timers of the
// injected clockwork.Clock while watching ctx, and gives a reservation back
// with CancelAt. Every instant it hands the limiter comes from that clock and
// never goes back in time: rate.Limiter accepts an earlier instant, but its
// CancelAt and SetLimitAt would then rewind its clock without taking back
// the tokens already counted, and credit them twice.
//
// # The window guard
//
// Even spacing alone cannot see requests it did not make. On top of it the
// Pacer keeps a log of the last N release instants, seeded from the recent
// instants a previous process recorded in the state file, and lets a request
// leave only when fewer than N of them lie within the last Per + Per/200. In
// steady state N spacings already cover that window, so the guard costs
// nothing; it bites after a restart: a run killed after filling a
// window and restarted at once waits until the oldest of those sends is
// Per + slack old, exactly as the server would require, instead of bursting
// into the window the previous process filled. The limiter is also told of
// the newest recorded send, so the spacing continues across the restart. With
// both, no window of length Per ever holds more than N releases.
//
// # The server's word
//
// The pace and the guard count only this process's requests, but the key
// is rarely alone: the merchant's own app, a second job, a colleague's
// script spend the same window. The server says in every answer what it
// counted: X-RateLimit-Limit, X-RateLimit-Remaining (after this request)
// and X-RateLimit-Reset (when more are allowed), and on some servers the
// same with -Day for the UTC day. ParseWord reads them into a Word (absent
// or garbage headers leave its fields unset, and an unset field changes
// nothing); the caller hands each answer's Word to Heard with the instant
// its request left. Two uses:
//
//   - Hold. Remaining requests may still go before Reset. The requests the
//     Pacer released after the word's request (in flight, or answered with
//     no word) may already be counted, so Remaining minus those may go at
//     the local pace, and the next one waits for Reset instead of
//     provoking a 429. The same holds for the day: a day spent holds the
//     next request until the server's day resets (the caller decides
//     whether to stop instead). Only the word of the latest request counts:
//     an older request's answer, arriving late, carries older news.
//   - Share. Limit − Remaining is what the server counted in the window;
//     this Pacer's own releases in (sent − Per, sent] are what it sent;
//     the difference is what others spent (Others). The pace is held to
//     95 % of what they leave (ShareFactor): taking all of it would keep
//     the window full, and each side's next request would find it so. When
//     the others stop, the next word shows it and the pace is the
//     configured one again. A 429's own Limit may be another limit's (the
//     day's), so a 429 word holds but does not set the share.
//
// When the word shows only this Pacer's requests in the window, the guard already knows them to the
// nanosecond and the word's Reset, which servers round up to a whole
// second, would only hold the next request up to a second longer than
// needed; so then the word holds nothing and the guard decides.
//
// The headers do not say how long the server's window is. The share and
// the hand-over to the guard take it to be the Rate's Per when the
// server's Limit is the Rate's N (10 a minute against 10 a minute, as
// documented; 1000 an hour for reads). Under any other Limit (a --rate of
// 10/s against 600 a minute) our requests in the server's window cannot be
// counted, so only the hold applies.
//
// # Recovery after a 429
//
// A 429 the word could not prevent (another client took the last slot
// between our answer and our next request) pauses everyone until the
// server's Retry-After and multiplies the pace by 0.8 (Slowed), but not for
// good: each answer without a 429, to a request released after the
// slowdown, counts as clean, and every second clean answer adds 5 % of the
// configured rate back (Climb: additive increase after multiplicative
// decrease), so one 429 is undone in 8 answers, under a minute at 10 a
// minute. The slowdown covers the stretch in which the cause of the 429
// may still be there; the climb is slow enough that a cause which persists
// meets its next 429 at a pace already lower, and fast enough that a
// 200-request run with one early 429 ends about 1 % after a run without.
//
// # One Pacer per budget
//
// Nothing in the Pacer is specific to updates: a budget is a Rate, a clock,
// and the answers fed to it. The server limits reads apart from updates
// (1000 an hour for GET /customers/{id}), so reads get a Pacer of their
// own, NewPacer(readRate, clock, nil), fed with Heard (and Pause on a 429)
// from the read answers only; the two budgets never see each other's
// words, as the server counts them apart.
//
// # Concurrency
//
// One Pacer is shared by all workers and its methods are safe for concurrent
// use. Callers of Wait queue in arrival order; only the first in line holds a
// limiter reservation and a timer, so the slots are handed out in order and
// there is at most one timer and no goroutine of the Pacer's own. A caller
// whose ctx ends leaves the queue; if it was first in line its reservation is
// cancelled and the next caller gets the same slot, so giving up leaks no
// capacity. Pause moves the slot of the caller first in line and so holds
// everyone behind it.
//
// # Errors
//
// ParseRate returns errors wrapping ErrInvalidRate. Pacer.Wait returns only
// ctx.Err(). NewPacer panics on a Rate that ParseRate would not return. The
// other functions, ParseWord included, are pure and cannot fail.
package ratelimit
