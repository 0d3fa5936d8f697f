// Package input reads customer update files (CSV and NDJSON) as a stream and
// maps their columns to the API's canonical fields.
//
// It is the first stage of the pipeline: it turns the user's file into
// Records (one per data row, each value marked Absent, Clear or Set by the
// format's empty-value rules) and says precisely what is wrong with a row it
// cannot read, by file, line, field and reason. Trimming, normalization and
// validation happen later, in package normalize. Memory does not grow with
// the file: records are read one at a time and no record or line is held
// past 16 MiB.
//
// # Formats
//
// CSV is RFC 4180, read with encoding/csv and decoded with gocsv: a header
// line, then records; quoted fields may hold commas, doubled quotes and line
// breaks; CRLF line endings and one leading UTF-8 byte-order mark are
// accepted; blank lines are skipped. A UTF-16 file (by its byte-order mark)
// is refused with "file is UTF-16; save it as UTF-8".
//
// NDJSON is one JSON object a line. Blank lines are skipped but counted, so a
// record's number is its line number. billing_address may be a nested object
// (its keys are mapped as "billing_address.KEY") or flat dotted keys. A
// string value is Set, "" is Clear, null or a missing key is Absent. Every
// field must be a string; the one exception is an id written as a whole
// number, taken as written (warehouse exports often write ids so).
//
// # Gzip and several files
//
// Decompress turns a gzip-compressed input (a name ending in .gz, or gzip's
// magic bytes) into a stream of its content, decompressed as it is read;
// a stream that is cut off or corrupt fails with a *GzipError carrying the
// compressed byte offset, which the readers return inside the *FileError
// naming the file. DetectFormat looks past a .gz suffix (x.csv.gz is CSV).
//
// Files is an input of several files (the shards of a warehouse export)
// read as one: ScanFiles, OpenFiles and OpenSkimFiles are ScanIDs, Open and
// OpenSkim over all of them, numbering records across the files (Num) and
// saying which file each is in (Record.File, Skim.File) and on which of its
// lines (Line). Each CSV file's header is read on its own; ScanFiles fails
// with ErrHeaderMismatch when one maps to other fields than the first's.
//
// # Mapping
//
// Columns (CSV headers, NDJSON keys) are matched to fields ignoring case,
// surrounding white space and a byte-order mark; canonical names map to
// themselves; Mapping adds the user's own names (--map, --column), and
// the target "-" ignores a column on purpose. The column juicebatch_error,
// which failed.csv and failed.ndjson add, is ignored silently. Other
// unmapped columns are listed once as a warning, with a "did you mean"
// hint for a name close to a field's; under Strict they are fatal (CSV) or
// make the row invalid (NDJSON).
//
// # CSV empty values and neutralized cells
//
// An empty cell (or one of white space only) is Absent: no change. The cell
// #N/A (after trimming) is Clear. With EmptyClears every empty cell is Clear.
// Any other cell is Set to its text as is.
//
// The report writes a cell that begins with = + - @ TAB or CR with a leading
// ' so that a spreadsheet shows it instead of running it. So that a
// failed.csv fed back gives the same updates, a cell that begins with '
// followed by one of those characters loses that one ' on input. (A value
// that really begins so, such as "'+1", cannot be written in CSV input.)
//
// # Broken input
//
// A broken row never stops the run: it comes back as a Record with Err set,
// numbered like any other. For CSV: a record with the wrong number of fields;
// a quote out of place (encoding/csv's ParseError: the record is invalid
// with the line and column of the quote, and reading goes on at the next
// line, where encoding/csv resumes); a cell that is not valid UTF-8 (in any
// column, mapped or not: the text is never repaired). For NDJSON: a line that
// is not valid JSON, not an object, longer than 16 MiB, holds a key twice
// (or two keys that map to one field), a value of the wrong type, invalid
// UTF-8 or an unpaired \u surrogate escape, or (Strict) an unmapped key.
//
// A quoted CSV field that is never closed is different: inside an open
// quote, line breaks and commas are data, so nothing after the quote can be
// split into records with any confidence. Guessing would mean sending rows
// built from the wrong columns. So the records before that record are read
// normally, and then Next returns a *FileError (ErrUnterminatedQuote) naming
// the line and column where the quote opened: the input is unreadable from
// there. The same holds when a record grows past 16 MiB (ErrRecordTooLong,
// or ErrUnterminatedQuote when a quote is open by then). A caller that runs
// ScanIDs first learns this before anything is sent.
//
// # Errors
//
// Row problems are *RowError values in Record.Err. Problems with the input
// as a whole are *FileError values, returned by Open (a missing id column,
// two columns mapping to one field, ...) or by Next; they match the Err*
// sentinels with errors.Is. DetectFormat's errors match ErrFormatNeeded.
//
// # Concurrency
//
// A Reader or RawReader is used by one goroutine. Separate readers, and
// reads of one Mapping, are safe from several goroutines. The package has
// no global state (it never calls gocsv's global setters).
package input
