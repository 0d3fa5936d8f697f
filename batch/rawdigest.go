package batch

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"

	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/report"
)

// normRulesVersion names the rules by which normalize turns a row into a
// body. Bump it whenever the same input row can give a different body (a
// phone rule fixed, a trimming rule changed): raw-row digests then all
// change, and every row is normalized and compared again once, at its next
// run, instead of being taken for unchanged on the strength of the old
// rules.
//
// Version 1 is the first with raw digests, and already has the phone
// library's reading of every form (issue 11's rules): state files from
// before it hold no raw digests, so nothing needs re-deciding.
const normRulesVersion = 1

// rawBase is the part of every raw-row digest that comes from the run, not
// the row: the rules version, the input format and every option that
// changes the body a row gives (the mapping, empty-value handling, strict
// mode, the phone region).
func rawBase(cfg *Config, format input.Format, blankClears bool) [32]byte {
	h := sha256.New()
	writeParts(h,
		[]byte("juicebatch raw row"),
		[]byte(strconv.Itoa(normRulesVersion)),
		[]byte(format.String()),
		[]byte(cfg.Mapping.Digest()),
		[]byte(strconv.FormatBool(cfg.EmptyClears)),
		[]byte(strconv.FormatBool(cfg.Strict)),
		[]byte(cfg.PhoneRegion),
		[]byte(strconv.FormatBool(blankClears)),
		// --strict-values turns a warned row invalid: another outcome.
		[]byte(strconv.FormatBool(cfg.StrictValues)),
	)
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// rawDigest is the digest of one input row as read (each canonical field's
// state and text, before any normalization) under base. Two rows with the
// same raw digest give the same update.
func rawDigest(base [32]byte, rec *input.Record, buf []byte) ([32]byte, []byte) {
	buf = append(buf[:0], base[:]...)
	for _, v := range rec.Values {
		buf = append(buf, byte(v.State))
		buf = binary.AppendUvarint(buf, uint64(len(v.Text)))
		buf = append(buf, v.Text...)
	}
	return sha256.Sum256(buf), buf
}

// shortcut reports whether rows may be found unchanged from their raw
// digest alone: there is state to compare with, and unchanged rows are not
// to be sent anyway.
//
// Not with --refresh all, nor for verify: every row is compared with the
// live record there, which needs its normalized update. (Under the default
// --refresh auto a row the shortcut finds has an applied record, and auto
// reads only customers without one, so the two never meet.)
//
// Not on stdin: rows of one id are not merged there, so a later row of an
// id could be judged from its raw digest before an earlier one's update
// has changed what was applied.
func (r *runner) shortcut() bool { return r.shortcutFor(r.src.stdin != nil) }

// shortcutFor is shortcut for an input that is (or is not) stdin, for use
// before the input is open.
func (r *runner) shortcutFor(stdin bool) bool {
	return r.state != nil && r.scope != "" && !r.cfg.Full && !stdin &&
		r.cmd != report.CommandVerify && r.cfg.Refresh != RefreshAll
}

// startRawIndex starts reading the scope's raw digests into memory for
// plan and apply, beside the first pass over the input (the two read
// different files; on two cores they overlap): one walk of the state in
// key order instead of a random lookup a row (see checkpoint.RawIndex).
// The walk stops, and rows are looked up one by one, when the state holds
// more than rawIndexRatio customers for each row the input is estimated to
// have: a small file against a large state. indexRaw takes the result.
//
// The index is a snapshot of the state when the run starts. That is safe
// for apply, which changes applied records as it goes: a run decides each
// customer once (its rows merged), before any request of the run changes
// that customer's record, and a pass that comes back to a customer (the
// backlog pass) carries the rows already decided. So a customer's entry
// goes out of date only once no row of the run is left to ask about it.
//
// The caller hears of the index's size before the walk fills it
// (Config.HeldMemory): cmd/juicebatch raises apply's soft memory limit by
// as much (memlimit.go), so that the collector does not run without end
// under a limit the index fills; a first night, with nothing to index,
// keeps the lower limit. Measured at a million customers (BENCHMARKS.md
// "Nightly"): an equivalent export, apply 9.0 s with per-chunk lookups
// (7 s of it system time: page faults of the mapped state) → 3.8 s with
// the index, 44 → 42 MB.
func (r *runner) startRawIndex(ctx context.Context) {
	names := r.cfg.inputNames()
	if (r.cmd != report.CommandPlan && r.cmd != report.CommandApply) || !r.shortcutFor(slices.Contains(names, "-")) {
		return
	}
	est := 0
	for _, n := range names {
		if rows, err := EstimateRows(n); err == nil {
			est += rows
		}
	}
	ch := make(chan *checkpoint.RawIndex, 1)
	r.rawIndexC = ch
	go func() {
		var reserve func(int64)
		reserved := false // reserve runs inside RawIndex, on this goroutine
		if r.cfg.HeldMemory != nil {
			reserve = func(n int64) { reserved = true; r.cfg.HeldMemory(n) }
		}
		x, err := r.state.RawIndex(ctx, r.scope, est, rawIndexRatio*est+1024, reserve)
		if x == nil && reserved {
			r.cfg.HeldMemory(0) // given up: nothing is held
		}
		if err != nil {
			// Only an economy, as in normalizeChunk.
			r.log.Debug("raw-row index skipped", "err", err)
		}
		ch <- x
	}()
}

// indexRaw waits for the index startRawIndex began (nil when it gave up).
func (r *runner) indexRaw() {
	if r.rawIndexC == nil {
		return
	}
	x := <-r.rawIndexC
	r.rawIndexC = nil
	if x != nil {
		r.log.Debug("raw-row digests indexed", "customers", x.Len(), "bytes", x.Bytes())
		r.rawIndex = x
	}
}

// dropRawIndex waits for an index not taken (a run that stopped before its
// main pass), so that the walk never outlives the state.
func (r *runner) dropRawIndex() {
	if r.rawIndexC != nil {
		<-r.rawIndexC
		r.rawIndexC = nil
	}
}

// rawIndexRatio: reading a customer's record in key order costs a small
// part of a random lookup, so the walk pays for itself while the state
// holds up to a few customers for each row to decide.
const rawIndexRatio = 4

// normalizeChunk is produce's middle stage for one chunk: its records are
// decoded, and each row not carried over is either found unchanged from
// its raw digest (one lookup for the chunk, no normalizing) or normalized.
func (r *runner) normalizeChunk(c *chunk) {
	recs := make([]*input.Record, len(c.items))
	for i := range c.items {
		recs[i] = c.items[i].rec
	}
	input.Decode(recs) // what the reader left (deferDecode)
	var (
		ids  []string
		idx  []int
		buf  []byte
		fast = r.shortcut()
	)
	for i := range c.items {
		it := &c.items[i]
		if it.carry {
			continue
		}
		it.raw, buf = rawDigest(r.rawBase, it.rec, buf)
		// Only a row that is the sole row of its id, valid as read and not
		// in flight from an earlier invocation (that one keeps its key).
		if fast && it.rec.Err == nil && it.prev == nil {
			if gid := groupID(it.rec); gid != "" && r.scan.occurrences(gid) < 2 {
				idx = append(idx, i)
				if r.rawIndex == nil {
					ids = append(ids, gid) // to be looked up
				}
			}
		}
	}
	if r.rawIndex != nil {
		for _, i := range idx {
			if it := &c.items[i]; r.rawIndex.Has(it.raw) {
				it.unchanged = true
				r.rawHits.Add(1)
			}
		}
	} else if len(ids) > 0 {
		stored := make([][32]byte, len(ids))
		if err := r.state.RawDigests(r.scope, ids, stored); err != nil {
			// Only an economy: the rows take the long way, which reads
			// the state again and reports what is wrong with it.
			r.log.Debug("raw-row shortcut skipped", "err", err)
			clear(stored)
		}
		for j, i := range idx {
			it := &c.items[i]
			if stored[j] != ([32]byte{}) && stored[j] == truncRaw(it.raw) {
				it.unchanged = true
				r.rawHits.Add(1)
			}
		}
	}
	for i := range c.items {
		if it := &c.items[i]; !it.carry && !it.unchanged {
			it.upd, it.rowErr = r.norm.Update(it.rec)
			if it.rowErr != nil && it.rec.File != "" {
				it.rowErr.File = it.rec.File // the shard the row is in
			}
		}
	}
}

// truncRaw is d as the state keeps it.
func truncRaw(d [32]byte) [32]byte {
	clear(d[checkpoint.RawDigestSize:])
	return d
}

// finishUnchanged records t's rows unchanged, found so the long way (its
// update compared field by field with applied). When the customer's record
// does not yet name this raw row, it is recorded with the rows, so that
// the next run recognises the row from its raw digest: the first run after
// an upgrade or a rules change does the long work once.
func (r *runner) finishUnchanged(t *task, applied checkpoint.Applied) error {
	if r.rl == nil || t.raw == ([32]byte{}) || applied.Raw == truncRaw(t.raw) || len(t.rows) != 1 {
		return r.finishRows(outUnchanged, 0, "", t.rows...)
	}
	row := t.rows[0]
	u := checkpoint.RawUpdate{Scope: r.scope, CustomerID: t.id, Raw: t.raw}
	if r.keepQuiet(outUnchanged, row) {
		if err := r.rl.PutRaw(u); err != nil {
			return fmt.Errorf("record the raw digest of row %d: %w", row.Num, err)
		}
		r.mu.Lock()
		r.outcomes[outUnchanged]++
		r.mu.Unlock()
		return nil
	}
	row.Status = checkpoint.StatusDone
	row.Outcome = outUnchanged
	row.UpdatedAt = r.clock.Now()
	if err := r.rl.PutUnchanged(row, u); err != nil {
		return fmt.Errorf("record row %d: %w", row.Num, err)
	}
	r.mu.Lock()
	r.outcomes[outUnchanged]++
	r.mu.Unlock()
	return nil
}
