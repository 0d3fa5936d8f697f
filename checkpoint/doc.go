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
//   - one [Row] record per input row of a run that can still be resumed,
//     except rows found unchanged with nothing else to report (the caller
//     keeps those in memory; see below): outcome, HTTP status, attempts,
//     idempotency key, error text, warnings and (on stdin) a digest of the
//     input row;
//   - per scope and customer id, the [Applied] record: a truncated digest
//     per field of the last update the server accepted (no field values)
//     and a digest of the raw input row it was made from;
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
// # What is kept, how long, and why
//
// Row records exist for resume ("intent before effect", no duplicate after
// a kill) and for the run's own report pass, which reads them beside the
// input. A run that went through its input to the end (Status "finished")
// needs neither once its report is written, so [Store.PruneRuns], which the
// pipeline calls right after writing that report, deletes its rows; only its
// [Run] summary (counts, times, requests, exit code) stays, for status,
// for the newest 30 runs. Unfinished runs (running, stopped by a signal or
// the budget) keep their rows, the newest three of them; an older one keeps
// its summary only. A finished (or row-less) run invoked again on the same
// input goes through the input like a new run: nothing is carried over,
// every row is decided by change detection, and rows already applied come
// out unchanged without a request.
//
// Even within a run, a row decided unchanged that has nothing else to say
// (no warning, no error) gets no record: the pipeline (batch) reports it
// from a bit in memory, and if the run is interrupted, its next invocation
// decides the row again from the same applied record, which takes a
// raw-digest lookup. A record would buy nothing the state does not already
// hold, and a nightly run of a million mostly unchanged rows would write,
// read back and delete a million of them. A raw-row digest learnt while
// deciding such a row is still written ([RunLog.PutRaw]).
//
// Applied records are kept for good: they are change detection. Encoding 2
// keeps each field digest to [FieldDigestSize] bytes and the raw-row digest
// to [RawDigestSize] bytes, names the API's fields by a one-byte code and
// does not store the whole-update digest (it is recomputed), so a customer
// with five fields costs about 73 bytes of value plus its id and bbolt's 16
// bytes of page overhead: 138 bytes on disk with 36-byte UUID ids, with
// compaction packing pages to 90%. A nightly run of 1% changes leaves too
// few free pages to compact (its own rows and the pages it copies), and
// bbolt reuses them the next night: measured after 40 nights, 154 bytes a
// customer at 1,000,000 and 168 at 100,000, the size of night 2.
// Records of encoding 1 (older files) are still read.
//
// Quota days and read counts are kept 400 days (a few bytes a key and day,
// charted by report.html across a migration's weeks), send instants until
// a fingerprint has sent nothing for 7 days.
//
// # Size and memory
//
// bbolt reuses free pages but never gives them back, and writes the list of
// free pages with every commit. Deleting a big run's rows frees many pages,
// so PruneRuns compacts the file when free pages make up a quarter of it
// ([Store.MaybeCompact], [Store.Compact]): the data is copied into a new
// file beside it, which is fsynced and renamed over the old one under the
// lock, so a kill at any step leaves a whole file. The freelist is the map
// kind and is written with each commit (NoFreelistSync is off: with it,
// bbolt would walk the whole file at every open to rebuild the list, reading
// all of it into memory).
//
// The file is read through a memory mapping, and pages read stay resident
// until dropped: the Store drops them (madvise) every few thousand records
// read, so a run's resident memory does not grow with the state file.
// A plan or apply that decides most customers reads their raw-row digests
// in one walk in key order into a [RawIndex] (8 bytes a customer in memory)
// rather than a random lookup a row: a walk reads each page once, where a
// million lookups in file order, with the pages dropped behind them, fault
// most pages in again (see batch's startRawIndex).
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
// it before they return. [RunLog.Put] and [RunLog.PutRaw] only buffer: rows
// decided without a request (invalid, unchanged, carried over) are cheap to
// decide again, so
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
