package batch

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/juicebatch/juicebatch/batch/input"
)

// sniffSize is how much of stdin is looked at before anything is read: the
// format is sniffed from it and a stdin run's identity is derived from it,
// since the whole content is not known until the end.
const sniffSize = 64 << 10

// source is the run's input: a file read in up to three passes, or stdin read
// once and copied to a spool file that the report pass reads instead.
type source struct {
	name   string // as the user gave it ("-" for stdin)
	format input.Format
	opts   input.Options

	stdin     *bufio.Reader // nil for a file
	spoolPath string
	spool     *os.File
	// digest identifies the content: SHA-256 of the whole file, or of
	// stdin's first sniffSize bytes.
	digest string
}

// openSource decides the format and, for stdin, prepares the spool. Nothing
// is sent before this succeeds, so every problem here is a clean fatal error.
func openSource(cfg *Config, reportDir string) (*source, error) {
	s := &source{name: cfg.Input}
	s.opts = input.Options{Name: displayName(cfg.Input), Mapping: cfg.Mapping, EmptyClears: cfg.EmptyClears, Strict: cfg.Strict}
	if cfg.Input != "-" {
		f, err := input.DetectFormat(cfg.Input, cfg.Format)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		s.format = f
		return s, nil
	}
	if cfg.Stdin == nil {
		return nil, configErr("no standard input to read")
	}
	s.stdin = bufio.NewReaderSize(cfg.Stdin, sniffSize)
	head, err := s.stdin.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, &InputError{Err: fmt.Errorf("read stdin: %w", err)}
	}
	if cfg.Format != "" {
		if s.format, err = input.DetectFormat("-", cfg.Format); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	} else {
		f, ok := input.Sniff(head)
		if !ok {
			return nil, configErr("cannot tell whether stdin is CSV or NDJSON: add --format csv or --format ndjson")
		}
		s.format = f
	}
	sum := sha256.Sum256(head)
	s.digest = "stdin:" + hex.EncodeToString(sum[:])
	if err := os.MkdirAll(reportDir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: create report directory %s: %w", ErrConfig, reportDir, err)
	}
	s.spool, err = os.CreateTemp(reportDir, ".stdin-*.spool")
	if err != nil {
		return nil, fmt.Errorf("%w: create stdin spool in %s: %w", ErrConfig, reportDir, err)
	}
	s.spoolPath = s.spool.Name()
	return s, nil
}

// displayName is how messages name the input: its path, or "stdin" (a
// message beginning "-:3:" would read badly, and a spreadsheet would take
// it for a formula).
func displayName(input string) string {
	if input == "-" {
		return "stdin"
	}
	return input
}

// close removes the spool.
func (s *source) close() {
	if s.spool != nil {
		s.spool.Close()
		os.Remove(s.spoolPath)
	}
}

// InputError is a problem with the input as a whole (unreadable, no header,
// no id column, cut off mid-record): the run stops before sending anything,
// or, when it is met mid-file, stops feeding and reports the rest pending.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// scan is the first pass over a file: it hashes the content, counts the rows,
// and finds the ids that occur more than once. It keeps 8 bytes per row (a
// hash of the id), not the ids themselves.
type scan struct {
	rows int
	dups map[uint64]int // id hash → occurrences, for ids seen more than once
	seed maphash.Seed
}

func (s *source) scan() (*scan, error) {
	f, err := os.Open(s.name)
	if err != nil {
		return nil, &InputError{Err: fmt.Errorf("open input: %w", err)}
	}
	defer f.Close()
	h := sha256.New()
	sc := &scan{seed: maphash.MakeSeed()}
	// Sized once from the file's size: an append-grown slice would hold up
	// to twice the 8 bytes a row at its peak.
	est, _ := EstimateRows(s.name)
	hashes := make([]uint64, 0, est+est/8)
	n, err := input.ScanIDs(io.TeeReader(f, h), s.format, s.opts, func(_ int, id string) {
		hashes = append(hashes, sc.hash(strings.TrimSpace(id)))
	})
	if err != nil {
		return nil, &InputError{Err: err}
	}
	sc.rows = n
	// The reader may stop before the last bytes (trailing blank lines);
	// the digest covers the whole file.
	if _, err := io.Copy(h, f); err != nil {
		return nil, &InputError{Err: fmt.Errorf("read input: %w", err)}
	}
	s.digest = hex.EncodeToString(h.Sum(nil))
	slices.Sort(hashes)
	sc.dups = map[uint64]int{}
	for i := 0; i < len(hashes); {
		j := i + 1
		for j < len(hashes) && hashes[j] == hashes[i] {
			j++
		}
		if j-i > 1 && hashes[i] != 0 {
			sc.dups[hashes[i]] = j - i
		}
		i = j
	}
	return sc, nil
}

// EstimateRows guesses how many rows the file at path holds, from its size
// and the length of the lines in its first 64 KiB: enough to size buffers
// and memory limits, not to count on.
func EstimateRows(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return 0, err
	}
	head := make([]byte, sniffSize)
	n, _ := io.ReadFull(f, head)
	lines := bytes.Count(head[:n], []byte{'\n'})
	if lines == 0 {
		return 1, nil
	}
	if int64(n) == fi.Size() {
		return lines, nil
	}
	return int(fi.Size() / int64(max(1, n/lines))), nil
}

// hash hashes a trimmed id; "" hashes to 0 and is never merged.
func (sc *scan) hash(id string) uint64 {
	if id == "" {
		return 0
	}
	h := maphash.String(sc.seed, id)
	if h == 0 {
		h = 1
	}
	return h
}

// occurrences says how often rec's id occurs in the file when more than
// once, and 0 otherwise (or when there was no first pass: stdin).
func (sc *scan) occurrences(id string) int {
	if sc == nil || len(sc.dups) == 0 {
		return 0
	}
	return sc.dups[sc.hash(id)]
}

// groupID is the id rows are merged by: the id cell, trimmed.
func groupID(rec *input.Record) string {
	v := rec.Values[input.ID]
	if v.State != input.Set {
		return ""
	}
	return strings.TrimSpace(v.Text)
}

// reader opens the main pass: the file again, or stdin copied to the spool as
// it is read.
func (s *source) reader() (input.Reader, io.Closer, error) {
	if s.stdin != nil {
		rd, err := input.Open(io.TeeReader(s.stdin, s.spool), s.format, s.opts)
		if err != nil {
			return nil, nil, &InputError{Err: err}
		}
		return rd, io.NopCloser(nil), nil
	}
	f, err := os.Open(s.name)
	if err != nil {
		return nil, nil, &InputError{Err: fmt.Errorf("open input: %w", err)}
	}
	rd, err := input.Open(f, s.format, s.opts)
	if err != nil {
		f.Close()
		return nil, nil, &InputError{Err: err}
	}
	return rd, f, nil
}

// drainStdin copies what is left of stdin to the spool, so that the report
// has a line for rows the run stopped before reading.
func (s *source) drainStdin() error {
	if s.stdin == nil {
		return nil
	}
	_, err := io.Copy(s.spool, s.stdin)
	return err
}

// rawPath is the file the report pass reads.
func (s *source) rawPath() (string, error) {
	if s.stdin != nil {
		if err := s.spool.Sync(); err != nil {
			return "", fmt.Errorf("sync stdin spool: %w", err)
		}
		return s.spoolPath, nil
	}
	return s.name, nil
}

// absName is the input's name for the run record: absolute for files, so
// `status` says which file a run read.
func (s *source) absName() string {
	if s.stdin != nil {
		return "-"
	}
	if abs, err := filepath.Abs(s.name); err == nil {
		return abs
	}
	return s.name
}
