// Package report writes juicebatch's report directory: results.csv,
// failed.csv or failed.ndjson, summary.json (contract.md, "Report"), and
// report.html, the same run as a page for people.
//
// It defines its records in its own terms and imports nothing else of
// juicebatch; the pipeline converts its rows into [Result]s and a [Summary].
//
// # Basics
//
// [Create] opens a [Writer] on a directory. Rows are streamed into temporary
// files inside that directory as they finish ([Writer.Result],
// [Writer.FailedCSV], [Writer.FailedNDJSON]); memory does not grow with the
// number of rows. [Writer.Commit] writes summary.json and renames every
// temporary file over its final name; [Writer.Abort] throws them away. Until
// Commit, an earlier report in the same directory stays untouched, so a run
// that dies half way never leaves a half-written report behind.
//
// Commit renames results.csv first, then the failed file, then report.html,
// then summary.json: each file is replaced atomically on its own, and a
// summary.json carrying the new run_id means the other files are already the
// new ones. A failed file of
// the other format (failed.ndjson after a CSV run, or the reverse) left by an
// earlier report is removed, so the directory never mixes two runs. The failed
// file is always written, with only its header (CSV) or empty (NDJSON) when no
// row failed.
//
// # report.html
//
// [RenderHTML] draws a [Page] with html/template, inline CSS and inline SVG:
// no script, no external asset, and a Content-Security-Policy meta tag
// (default-src 'none') that forbids both, so the page opens from disk or a
// volume and a hostile value in the input can neither run nor load
// anything. Every value is escaped for its context and none is put in a URL
// attribute. The Page model is command-agnostic: apply and plan give it
// through [Writer.SetPage] (Commit fills the run from the summary), verify
// adds its differing rows, status renders a page of every run with
// [WriteHTMLFile]. At most [MaxListedRows] rows are listed; the rest are
// counted, so the page of a million-row run stays small.
//
// # Formula-injection guard
//
// Every cell of results.csv and failed.csv (header cells included) goes
// through [Neutralize]: a cell that begins with '=', '+', '-', '@', TAB or CR
// gets a leading apostrophe, as OWASP's CSV-injection advice recommends, so a
// spreadsheet shows it as text instead of running it as a formula.
//
// The reader side of juicebatch applies the inverse rule: an apostrophe that
// precedes one of those six characters at the start of a cell is dropped. The
// pair makes failed.csv round-trip: a phone "+2348012345678" is written as
// "'+2348012345678" and read back as "+2348012345678", and a cell that already
// began with an apostrophe is written unchanged and read exactly as it was read
// from the original input, so feeding failed.csv back re-runs the same bodies.
//
// # failed.csv
//
// The header is the input's header plus a last column "juicebatch_error". If
// the header already has that column (matched like every header: case and
// surrounding spaces ignored; the first one wins), because the user is
// re-running a failed file, the column is reused and its value replaced.
//
// The cell under the juicebatch_error header always holds the error, and data
// cells keep their positions. A malformed record with fewer fields than the
// header is padded with empty cells (empty means "no change" on input) up to
// the error column; a record with more fields keeps its extra fields after
// the error column, so it is still visibly malformed when read back.
//
// # failed.ndjson
//
// Each failed line is copied byte for byte (surrounding white space, a
// leading BOM and line breaks between tokens aside) with a member
// "juicebatch_error" added as the object's last member. An existing
// juicebatch_error member (any case) is removed first, so a re-run file
// carries only the newest error. Key order, number text and escapes are kept:
// the object is never decoded into a map.
//
// A line that is not a JSON object (a syntax error, an array, a scalar) is
// written as {"juicebatch_error":MSG,"juicebatch_input":LINE}, LINE being the
// original line as a JSON string. A line that is not valid UTF-8 is written the
// same way, with each invalid byte of LINE replaced by U+FFFD, and MSG says
// so; the output is always valid JSON and valid UTF-8, one object a line.
//
// # summary.json
//
// Indented JSON with the names of [Summary]. Times are RFC 3339 in UTC, to
// the second (what jq's fromdateiso8601 accepts). The outcomes object holds
// every outcome of the command's list ([ApplyOutcomes] or [PlanOutcomes]),
// 0 when unused, in that list's order, then any other outcome given, sorted.
// reasons and warning_reasons are always lists ([] when empty) of
// [Reason]; [Reasons] counts them. A row's warnings sit in results.csv's
// last column, one a line within the cell.
//
// # Caveats
//
// A Writer is not safe for concurrent use: feed it from one goroutine. The
// zero Writer is not usable; use [Create]. Results must come in strictly
// increasing row order ([ErrRowOrder] otherwise), and a failed row must match
// the report's format ([ErrFormat] otherwise). Once Commit or Abort has
// been called the Writer is closed and further writes return [ErrClosed];
// Abort after Commit is a no-op, so `defer w.Abort()` is safe.
//
// Errors are wrapped with what was being done ("report: write results.csv:
// ..."); I/O errors from the os package come back wrapped, so errors.Is with
// fs.ErrPermission and the like works. A Commit that fails removes the
// temporary files and closes the Writer; whichever final files it had
// already renamed stay in place.
//
// failed.csv and failed.ndjson are created with mode 0600 because they copy
// customers' personal data; results.csv and summary.json with mode 0644.
// Temporary files are hidden (".results.csv.*.tmp" and so on). If the process
// is killed they stay behind; they are never mistaken for a report.
package report
