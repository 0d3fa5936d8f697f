package batch

import (
	"net/http"
	"time"

	"github.com/juicebatch/juicebatch/batch/api"
	"github.com/juicebatch/juicebatch/ratelimit"
)

// heard feeds the server's word in one answer to the request released at
// sent to the pacer (the contract's "the server's word beats the tool's own
// count"), and stops the run when the word says the key's day is spent:
// with --wait the pacer holds the next request until the server's reset
// instead.
func (r *runner) heard(sent time.Time, res api.Result) {
	if res.Status == 0 && !res.Word.Window.Known() && !res.Word.Day.Known() {
		return // no answer (or one cut off before it said anything)
	}
	r.pacer.Heard(sent, res.Word, res.Status == http.StatusTooManyRequests)
	until, ok := serverQuotaSpent(res.Word, r.clock.Now())
	if !ok {
		return
	}
	if !r.cfg.Wait {
		r.log.Warn("the server says this key's daily quota is spent; stopping (run again after its reset, or use --wait)",
			"reset", until.UTC().Format(time.RFC3339))
		r.stop(stopServerQuota)
		return
	}
	r.log.Info("the server says this key's daily quota is spent; waiting for its reset (--wait)",
		"until", until.UTC().Format(time.RFC3339))
}

// serverQuotaSpent reports whether w says nothing more is accepted for
// longer than a rate-limit pause, and until when: the day's budget at 0
// (the -Day headers), or the plain window at 0 with a reset further away
// than maxRateLimitWait, as a server that reports its day in the plain
// headers says it.
func serverQuotaSpent(w ratelimit.Word, now time.Time) (time.Time, bool) {
	if until, ok := w.Day.Spent(now); ok {
		return until, true
	}
	if until, ok := w.Window.Spent(now); ok && until.Sub(now) > maxRateLimitWait {
		return until, true
	}
	return time.Time{}, false
}
