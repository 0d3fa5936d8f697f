package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// Names of the files in a report directory.
const (
	ResultsName      = "results.csv"
	FailedCSVName    = "failed.csv"
	FailedNDJSONName = "failed.ndjson"
	SummaryName      = "summary.json"
)

// ErrorColumn is the column (failed.csv) or member (failed.ndjson) that
// carries a failed row's error. The reader ignores it on input.
const ErrorColumn = "juicebatch_error"

// InputMember is the member of a failed.ndjson line that carries an input
// line which was not a JSON object (see the package doc).
const InputMember = "juicebatch_input"

// resultsHeader is results.csv's header. It is a function, not a variable,
// so the package holds no mutable state.
func resultsHeader() []string {
	return []string{"row", "id", "outcome", "http_status", "attempts", "idempotency_key", "error", "warnings", "file", "line"}
}

// File modes: the failed file copies customers' personal data.
const (
	dirMode    = 0o755
	publicMode = 0o644
	privMode   = 0o600
)

var (
	// ErrRowOrder is returned by [Writer.Result] when a row number is not
	// greater than the previous one.
	ErrRowOrder = errors.New("rows out of order")
	// ErrClosed is returned by a Writer's methods after Commit or Abort.
	ErrClosed = errors.New("writer closed")
	// ErrFormat is returned when a failed row of one format is written to a
	// report of the other, or when a Format is unknown.
	ErrFormat = errors.New("wrong input format")
)

// Format is the input's format, which the failed file copies. The zero
// Format is not valid: use [CSV] or [NDJSON].
type Format int

// Input formats.
const (
	CSV Format = iota + 1
	NDJSON
)

// String returns "csv" or "ndjson".
func (f Format) String() string {
	switch f {
	case CSV:
		return "csv"
	case NDJSON:
		return "ndjson"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// failedName returns the failed file's name for f.
func (f Format) failedName() string {
	if f == NDJSON {
		return FailedNDJSONName
	}
	return FailedCSVName
}

// Result is one line of results.csv.
type Result struct {
	// Row is the 1-based data row number (header excluded; for NDJSON the
	// line number).
	Row int
	// ID is the customer id as read from the input.
	ID string
	// Outcome is one of the command's outcomes (see [ApplyOutcomes]).
	Outcome string
	// HTTPStatus is the last response's status; 0 when no request was sent,
	// written as an empty cell.
	HTTPStatus int
	// Attempts is how many requests were sent for the row; 0 is written as
	// an empty cell.
	Attempts int
	// IdempotencyKey is the key the row was (or would be) sent with.
	IdempotencyKey string
	// Error is why the row did not succeed: the validation error, or the
	// server's message and request id.
	Error string
	// Warnings are what the row's values suggest is wrong although the
	// update endpoint allows them (the row was sent as given), one a line.
	Warnings string
	// File is the input file the row is in (of several, the shard); Line
	// the line it starts on in that file, 0 written as an empty cell.
	File string
	Line int
}

// Writer streams one report into temporary files inside the report
// directory. See the package doc for its lifecycle; it is not safe for
// concurrent use.
type Writer struct {
	dir    string
	format Format

	results    *os.File
	resultsCSV *csv.Writer
	lastRow    int
	resultRec  [10]string

	failed    *os.File
	failedCSV *csv.Writer   // CSV format
	failedBuf *bufio.Writer // NDJSON format
	errCol    int           // CSV: index of the juicebatch_error column
	errAdded  bool          // CSV: that column was added, not in the input
	failedRec []string      // CSV: reused record
	jsonBuf   bytes.Buffer  // NDJSON: reused line
	members   []member      // NDJSON: reused scan result

	closed bool

	page *Page // report.html's content beyond the summary; see SetPage
}

// Create creates dir (mode 0755) if it is missing and starts a report in it.
// header is the input CSV's header as read (nil for NDJSON, where it is
// ignored). Nothing in dir is replaced until [Writer.Commit].
func Create(dir string, f Format, header []string) (*Writer, error) {
	if f != CSV && f != NDJSON {
		return nil, fmt.Errorf("report: create: %w: %v", ErrFormat, f)
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("report: create directory: %w", err)
	}
	w := &Writer{dir: dir, format: f}
	var err error
	if w.results, err = createTemp(dir, ResultsName, publicMode); err != nil {
		return nil, err
	}
	if w.failed, err = createTemp(dir, f.failedName(), privMode); err != nil {
		w.removeTemps()
		return nil, err
	}
	w.resultsCSV = csv.NewWriter(w.results)
	if err := writeNeutral(w.resultsCSV, resultsHeader()); err != nil {
		w.removeTemps()
		return nil, fmt.Errorf("report: write %s: %w", ResultsName, err)
	}
	if f == NDJSON {
		w.failedBuf = bufio.NewWriter(w.failed)
		return w, nil
	}
	w.failedCSV = csv.NewWriter(w.failed)
	w.errCol = errorColumn(header)
	w.errAdded = w.errCol == len(header)
	out := append([]string(nil), header...)
	if w.errAdded {
		out = append(out, ErrorColumn)
	}
	if err := writeNeutral(w.failedCSV, out); err != nil {
		w.removeTemps()
		return nil, fmt.Errorf("report: write %s: %w", FailedCSVName, err)
	}
	return w, nil
}

// createTemp creates a hidden temporary file for name in dir with mode perm.
func createTemp(dir, name string, perm os.FileMode) (*os.File, error) {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("report: create %s: %w", name, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("report: create %s: %w", name, err)
	}
	return f, nil
}

// errorColumn returns the index of header's juicebatch_error column, or
// len(header) when there is none and one is to be added.
func errorColumn(header []string) int {
	for i, h := range header {
		if isErrorName(h) {
			return i
		}
	}
	return len(header)
}

// writeNeutral writes rec through Neutralize, in place.
func writeNeutral(cw *csv.Writer, rec []string) error {
	for i, c := range rec {
		rec[i] = Neutralize(c)
	}
	return cw.Write(rec)
}

// Result writes one line of results.csv. Rows must come in strictly
// increasing Row order, starting at 1; otherwise it returns an error
// wrapping [ErrRowOrder] and writes nothing.
func (w *Writer) Result(r Result) error {
	if w.closed {
		return fmt.Errorf("report: write %s: %w", ResultsName, ErrClosed)
	}
	if r.Row <= w.lastRow {
		return fmt.Errorf("report: write %s: row %d after row %d: %w", ResultsName, r.Row, w.lastRow, ErrRowOrder)
	}
	rec := w.resultRec[:]
	rec[0] = strconv.Itoa(r.Row)
	rec[1] = r.ID
	rec[2] = r.Outcome
	rec[3] = itoaOrEmpty(r.HTTPStatus)
	rec[4] = itoaOrEmpty(r.Attempts)
	rec[5] = r.IdempotencyKey
	rec[6] = r.Error
	rec[7] = r.Warnings
	rec[8] = r.File
	rec[9] = itoaOrEmpty(r.Line)
	if err := writeNeutral(w.resultsCSV, rec); err != nil {
		return fmt.Errorf("report: write %s: %w", ResultsName, err)
	}
	w.lastRow = r.Row
	return nil
}

func itoaOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// FailedCSV writes one record of failed.csv: the input record as read, with
// msg in the juicebatch_error column. A record whose length differs from the
// header's is handled as the package doc says. It returns an error wrapping
// [ErrFormat] on an NDJSON report. record is not modified.
func (w *Writer) FailedCSV(record []string, msg string) error {
	if w.closed {
		return fmt.Errorf("report: write %s: %w", FailedCSVName, ErrClosed)
	}
	if w.format != CSV {
		return fmt.Errorf("report: write %s: %w: csv record in an %v report", FailedCSVName, ErrFormat, w.format)
	}
	rec := append(w.failedRec[:0], record...)
	for len(rec) < w.errCol {
		rec = append(rec, "")
	}
	switch {
	case len(rec) == w.errCol:
		rec = append(rec, msg)
	case !w.errAdded:
		// The input has a juicebatch_error column: replace its value.
		rec[w.errCol] = msg
	default:
		// No juicebatch_error column in the input and a record longer than
		// the header: insert the error under its header, extras after it.
		rec = append(rec, "")
		copy(rec[w.errCol+1:], rec[w.errCol:])
		rec[w.errCol] = msg
	}
	w.failedRec = rec
	if err := writeNeutral(w.failedCSV, rec); err != nil {
		return fmt.Errorf("report: write %s: %w", FailedCSVName, err)
	}
	return nil
}

// Commit finishes the report: it writes summary.json from s (see the package
// doc for what it adds) and report.html (see [Writer.SetPage]), flushes and
// fsyncs every file, renames the temporary files over results.csv, the
// failed file, report.html and summary.json, in that order, removes a failed file of the other format left by an earlier
// report, and fsyncs the directory. s.Command must be "apply" or "plan";
// s.Outcomes is not modified. Commit closes the Writer whether or not it
// succeeds, and leaves no temporary file behind.
func (w *Writer) Commit(s Summary) (err error) {
	if w.closed {
		return fmt.Errorf("report: commit: %w", ErrClosed)
	}
	w.closed = true
	var summaryTemp *os.File
	defer func() {
		if err != nil {
			w.removeTemps()
			if summaryTemp != nil {
				os.Remove(summaryTemp.Name())
			}
		}
	}()

	js, err := marshalSummary(s)
	if err != nil {
		return err
	}
	if err := finish(w.results, w.resultsCSV.Flush, w.resultsCSV.Error); err != nil {
		return fmt.Errorf("report: write %s: %w", ResultsName, err)
	}
	failedName := w.format.failedName()
	if w.format == CSV {
		err = finish(w.failed, w.failedCSV.Flush, w.failedCSV.Error)
	} else {
		err = finish(w.failed, func() {}, w.failedBuf.Flush)
	}
	if err != nil {
		return fmt.Errorf("report: write %s: %w", failedName, err)
	}
	htmlTemp, err := w.writeHTML(s)
	if err != nil {
		return err
	}
	defer func() {
		if htmlTemp != "" {
			os.Remove(htmlTemp)
		}
	}()
	if summaryTemp, err = createTemp(w.dir, SummaryName, publicMode); err != nil {
		return err
	}
	if _, err := summaryTemp.Write(js); err != nil {
		summaryTemp.Close()
		return fmt.Errorf("report: write %s: %w", SummaryName, err)
	}
	if err := finish(summaryTemp, func() {}, func() error { return nil }); err != nil {
		return fmt.Errorf("report: write %s: %w", SummaryName, err)
	}

	if err := w.rename(w.results, ResultsName); err != nil {
		return err
	}
	if err := w.rename(w.failed, failedName); err != nil {
		return err
	}
	stale := FailedNDJSONName
	if w.format == NDJSON {
		stale = FailedCSVName
	}
	if err := os.Remove(filepath.Join(w.dir, stale)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("report: remove stale %s: %w", stale, err)
	}
	if err := os.Rename(htmlTemp, filepath.Join(w.dir, HTMLName)); err != nil {
		return fmt.Errorf("report: replace %s: %w", HTMLName, err)
	}
	htmlTemp = ""
	if err := w.rename(summaryTemp, SummaryName); err != nil {
		return err
	}
	summaryTemp = nil
	return syncDir(w.dir)
}

// finish flushes a file's buffer, checks the buffer's error, fsyncs and
// closes the file. The file is closed even when an earlier step fails.
func finish(f *os.File, flush func(), check func() error) error {
	flush()
	err := check()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// rename moves a closed temporary file to its final name. On success the
// Writer forgets the temporary file, so a later cleanup does not touch it.
func (w *Writer) rename(f *os.File, name string) error {
	if err := os.Rename(f.Name(), filepath.Join(w.dir, name)); err != nil {
		return fmt.Errorf("report: replace %s: %w", name, err)
	}
	switch f {
	case w.results:
		w.results = nil
	case w.failed:
		w.failed = nil
	}
	return nil
}

// syncDir fsyncs dir so the renames survive a crash. Windows cannot fsync a
// directory (and does not need to).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("report: sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("report: sync directory: %w", err)
	}
	return nil
}

// Abort closes the Writer and removes its temporary files; an earlier report
// in the directory is left as it was. Abort after Commit does nothing and
// returns nil, so it can be deferred.
func (w *Writer) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	return w.removeTemps()
}

// removeTemps closes and removes the temporary files still held, returning
// the first removal error.
func (w *Writer) removeTemps() error {
	var first error
	for _, f := range []*os.File{w.results, w.failed} {
		if f == nil {
			continue
		}
		f.Close() // may already be closed; the removal is what matters
		if err := os.Remove(f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = fmt.Errorf("report: remove temporary file: %w", err)
		}
	}
	w.results, w.failed = nil, nil
	return first
}

// SetPage gives report.html what the summary does not hold: the problem
// rows, the charts, plan's samples, verify's differences. Parts of p left
// empty are filled from the summary at Commit: Run from [SummaryRun],
// Reasons and WarningReasons from the summary's. Without SetPage, Commit
// writes a page of the summary alone, so report.html never describes an
// earlier run than summary.json.
func (w *Writer) SetPage(p Page) {
	w.page = &p
}

// writeHTML renders report.html into a temporary file, closed and synced,
// and returns its name.
func (w *Writer) writeHTML(s Summary) (string, error) {
	var p Page
	if w.page != nil {
		p = *w.page
	}
	if p.Run == nil {
		ri := SummaryRun(s)
		p.Run = &ri
	}
	if p.Reasons == nil {
		p.Reasons = s.Reasons
	}
	if p.WarningReasons == nil {
		p.WarningReasons = s.WarningReasons
	}
	f, err := createTemp(w.dir, HTMLName, publicMode)
	if err != nil {
		return "", err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := RenderHTML(bw, p); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := finish(f, func() {}, bw.Flush); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("report: write %s: %w", HTMLName, err)
	}
	return f.Name(), nil
}
