// Package batch runs juicebatch's pipeline: it reads an input file, turns
// each row into the PATCH the API will get, skips what it need not send, and
// sends the rest through one shared pace, recording every step in the state
// file so that a run interrupted at any moment resumes exactly.
//
// # The pipeline
//
// A file is read up to three times, each time as a stream:
//
//  1. a cheap first pass hashes the content (the run's identity), counts the
//     rows and finds the ids that occur more than once;
//  2. the main pass maps, normalizes and validates each row, merges the rows
//     of a repeated id into one update sent at the position of its last row,
//     and hands updates to the workers. One goroutine splits the file into
//     records; the decoding into fields (gocsv), the raw-row digest that
//     finds an unchanged row without normalizing it, and the normalizing
//     run on GOMAXPROCS goroutines;
//  3. the report pass re-reads the input beside the state's row records and
//     writes results.csv (input order) and the failed file (original rows).
//     A row found unchanged with nothing else to say has no record (see
//     checkpoint's doc): the runner remembers it in a bit a row.
//
// Standard input is read once: it is copied to a spool file in the report
// directory for pass 3, it has no first pass, and rows for the same id are
// sent one after the other in file order instead of merged.
//
// # What is never wasted
//
// An invalid row is never sent. An update equal to what the state says was
// last applied to that customer is "unchanged" and never sent (unless Full).
// Before a request leaves, its idempotency key, its rows' "in flight" mark
// and one unit of the day's budget are durable in the state file; after it,
// its outcome is. A resumed run therefore never re-sends a finished row and
// re-sends an in-flight one with its original key, which the server
// recognises.
//
// # Backlog
//
// When a night's changes exceed the day's budget, the run stops (exit 4)
// and, sending nothing more, reads the rest of the file once more to mark
// every remaining change pending in the state, per customer, with since
// when it waits (checkpoint/pending.go); the mark goes in the same
// transaction that records the customer's update applied. The next run,
// whatever its file, reads the longest-waiting marks, as many as today's
// budget has left, and splits the main pass in two: a first sub-pass reads
// the file for those customers only and sends their updates oldest first (at
// most a day's budget of updates, so they fit in memory), and a second reads
// it for every other customer and sends in file order. A customer's rows
// are all in one sub-pass, so they still merge into one request at their
// last row, every row is recorded once, and intent still goes before effect
// and resume still carries finished rows (each sub-pass reads the run's row
// records). Reading the file twice costs a decode pass, not a request; it
// was chosen over holding back rows in one pass because a merged id is only
// complete at its last row, so "first" would otherwise mean buffering the
// file. An invocation that has looked at every row sweeps the marks it did
// not renew (applied, unchanged, rejected, invalid, or gone from the
// export). Standard input, read once, keeps file order.
//
// # Counters
//
// Every figure a run reports (summary, log, progress, metrics) is this
// invocation's; a resumed run's whole totals go beside them as run_totals
// (totals.go).
//
// # Concurrency
//
// One producer goroutine reads rows; a scheduler hands updates to
// Config.Concurrency workers, keeping a row waiting for a retry out of the
// way of the rows behind it; every request of every worker first waits on one
// shared ratelimit.Pacer. Row problems are results, not errors: only what
// makes the run impossible (the state cannot be written, the key is
// rejected, the input cannot be read) ends it with an error.
package batch
