// Package checkpoint owns juicebatch's state file: a bbolt database that
// remembers what a run has done so that it can be resumed exactly, what was
// last applied to each customer so that unchanged rows are not sent again,
// and how much of each API key's daily quota has been spent.
//
// # What is stored
//
// The file holds, and only holds:
//
//   - a header (magic, format version) and a random per-file salt;
//   - one [Run] record per run: its identity, progress and counters;
//   - one [Row] record per input row of a run: outcome, HTTP status,
//     attempts, idempotency key, error text and a digest of the input row;
//   - per scope and customer id, the [Applied] record: a digest per field of
//     the last update the server accepted (no field values);
//   - per API-key fingerprint and UTC day, the number of requests sent
//     ([Quota]), and the last 256 send instants per fingerprint;
//   - per scope and customer id, since when a change has been pending
//     (decided, not yet applied: the budget ran out), and per scope the
//     last run's count of new changes ([PendingMark], [PendingStats]; see
//     pending.go for the layout).
//
// No personal data is kept beyond customer ids and error texts, and never an
// API key (only the fingerprints the caller hands in).
//
// # Layout
//
// Top-level buckets: "meta" (magic, version, salt, created), "runs" (run id →
// run), "rows" (one nested bucket per run id; key = row number as 8 big-endian
// bytes, so cursors walk rows in order), "applied" (one nested bucket per
// scope; key = customer id), "quota" (one nested bucket per fingerprint; key
// = UTC day "2006-01-02", value = 8 big-endian bytes) and "recent"
// (fingerprint → sorted send instants). Records are a compact binary
// encoding whose first byte is the encoding version; times are stored in UTC
// with nanoseconds and come back in UTC.
//
// # Durability
//
// [Store.PutRun], [RunLog.Intent], [RunLog.Outcome] and [RunLog.Flush] commit
// a transaction and, unless the store was opened with [Options.NoSync], fsync
// it before they return. [RunLog.Put] only buffers: rows decided without a
// request (invalid, unchanged, carried over) are cheap to decide again, so
// they are written in batches of a few thousand, or together with the next
// Intent, Outcome or Flush. That keeps a run over a million rows from being
// dominated by fsyncs while a request still never leaves before its intent
// is on disk ("intent before effect").
//
// # Concurrency
//
// A [Store] is safe for concurrent use by many goroutines. A [RunLog] is safe
// for concurrent use by the producer and any number of workers; its writes are
// applied in the order its calls take its lock. A [RowReader] is for one
// goroutine. No method holds a bbolt transaction open between calls, so
// readers never block writers for long and a write never waits on a reader
// the caller forgot to close.
//
// Only one process may have a state file open for writing: [Open] takes an
// exclusive flock (shared with [Options.ReadOnly]) and gives up after
// [Options.LockTimeout] with [ErrLocked]. flock conflicts between two opens in
// the same process as well.
//
// # Errors
//
// Callers branch with errors.Is on [ErrLocked] (another process holds the
// file), [ErrNotState] (the file is not a juicebatch state file, is corrupt,
// truncated or from an unknown format version), [ErrBudgetSpent] (the day's
// budget for a fingerprint is used up) and fs.ErrNotExist (a read-only open
// of a missing file). bbolt panics on corrupt pages; every transaction here
// recovers such panics (and memory faults on the mapped file) and returns
// them as ErrNotState errors. After that the Store refuses further work with
// the same error. The zero Store is not usable: get one from [Open] or
// [OpenScratch].
package checkpoint
