package input

import (
	"errors"
	"fmt"
)

// Sentinel errors for file-level problems. Every error that Open, Next,
// OpenRaw or ScanIDs returns for a problem with the input itself is a
// *FileError whose Err matches one of these with errors.Is; a failure of the
// underlying reader comes back as a *FileError wrapping that reader's error.
var (
	// ErrFormatNeeded: the format cannot be told from the name (stdin, an
	// unknown extension) and no --format was given. A usage error.
	ErrFormatNeeded = errors.New("input format needed")
	// ErrEmptyFile: the CSV file has no header line at all.
	ErrEmptyFile = errors.New("file is empty")
	// ErrNoHeader: the CSV header names no column.
	ErrNoHeader = errors.New("no header")
	// ErrEncoding: the file is UTF-16, or its header is not valid UTF-8
	// or holds NUL bytes.
	ErrEncoding = errors.New("not UTF-8")
	// ErrMalformedHeader: the CSV header line cannot be parsed.
	ErrMalformedHeader = errors.New("malformed header")
	// ErrNoIDColumn: no column maps to id.
	ErrNoIDColumn = errors.New("no id column")
	// ErrDuplicateColumn: two columns map to the same field.
	ErrDuplicateColumn = errors.New("two columns map to one field")
	// ErrUnmappedColumns: Options.Strict and some column maps to nothing.
	ErrUnmappedColumns = errors.New("unmapped columns")
	// ErrUnterminatedQuote: a quoted CSV field is never closed, so the rest
	// of the file cannot be split into records.
	ErrUnterminatedQuote = errors.New("unterminated quoted field")
	// ErrRecordTooLong: a CSV record grew past the size limit (16 MiB)
	// before it ended. (An over-long NDJSON line is a row error instead:
	// lines have a boundary that can be found without parsing.)
	ErrRecordTooLong = errors.New("record too long")
	// ErrHeaderMismatch: of several CSV files read as one input, one's
	// header maps to other fields than the first file's.
	ErrHeaderMismatch = errors.New("files map to different fields")
)

// FileError is a problem with the input as a whole: the run cannot go on
// with this input. Its text reads "FILE:LINE: what is wrong", or
// "FILE: what is wrong" when no line applies.
type FileError struct {
	File string // Options.Name ("-" for stdin)
	Line int    // physical line of the problem, 0 when none applies
	Err  error  // matches an Err* sentinel, or is the reader's own error
}

// Error formats as "FILE:LINE: what is wrong".
func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

// Unwrap returns Err, so errors.Is(err, ErrNoIDColumn) works.
func (e *FileError) Unwrap() error { return e.Err }

// detailError is a sentinel with a full human message: Error returns msg,
// errors.Is matches kind.
type detailError struct {
	kind error
	msg  string
}

func (e *detailError) Error() string { return e.msg }
func (e *detailError) Unwrap() error { return e.kind }

func fileErr(name string, line int, kind error, format string, args ...any) *FileError {
	return &FileError{File: name, Line: line, Err: &detailError{kind: kind, msg: fmt.Sprintf(format, args...)}}
}

// readErr wraps a failure of the underlying reader.
func readErr(name string, err error) *FileError {
	return &FileError{File: name, Err: fmt.Errorf("read: %w", err)}
}
