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
//     and hands updates to the workers;
//  3. the report pass re-reads the input beside the state's row records and
//     writes results.csv (input order) and the failed file (original rows).
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
// # Concurrency
//
// One producer goroutine reads rows; a scheduler hands updates to
// Config.Concurrency workers, keeping a row waiting for a retry out of the
// way of the rows behind it; every request of every worker first waits on one
// shared ratelimit.Pacer. Row problems are results, not errors: only what
// makes the run impossible (the state cannot be written, the key is
// rejected, the input cannot be read) ends it with an error.
package batch
