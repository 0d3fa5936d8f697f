package batch

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
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

// source is the run's input: one or more files read in up to three passes
// (each a stream, gzip decompressed as it is read), or stdin read once and
// copied to a spool file that the report pass reads instead.
type source struct {
	name    string   // for messages: the file as the user gave it, the files joined, or "-"
	paths   []string // the files, in order; nil for stdin
	display []string // their names in messages and the report's file column
	format  input.Format
	opts    input.Options

	stdin     *bufio.Reader // nil for files; decompressed
	tee       *spoolTee
	spoolPath string
	spool     *os.File
	// digest identifies the content: SHA-256 of the whole file (of the
	// digests of every file, in order, for several), or of stdin's first
	// sniffSize bytes.
	digest string
}

// openSource decides the format and, for stdin, prepares the spool. Nothing
// is sent before this succeeds, so every problem here is a clean fatal error.
func openSource(cfg *Config, reportDir string) (*source, error) {
	names := cfg.inputNames()
	s := &source{name: strings.Join(names, ", ")}
	s.opts = input.Options{Name: displayName(names[0]), Mapping: cfg.Mapping, EmptyClears: cfg.EmptyClears, Strict: cfg.Strict}
	if len(names) > 1 && slices.Contains(names, "-") {
		return nil, fmt.Errorf("%w: stdin (\"-\") is read alone: give either files or \"-\"", ErrUsage)
	}
	if names[0] != "-" {
		s.paths = names
		for i, name := range names {
			f, err := input.DetectFormat(name, cfg.Format)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrConfig, err)
			}
			if i > 0 && f != s.format {
				return nil, fmt.Errorf("%w: %s is %v but %s is %v: one run reads files of one format; run them separately", ErrUsage, names[0], s.format, name, f)
			}
			s.format = f
			s.display = append(s.display, displayName(name))
		}
		return s, nil
	}
	if cfg.Stdin == nil {
		return nil, configErr("no standard input to read")
	}
	// gzip is told by its magic bytes; the format is sniffed from what
	// they decompress to. The spool keeps stdin's bytes as they came
	// (gzip stays compressed: nothing is unpacked to disk).
	s.tee = &spoolTee{}
	dec, err := input.Decompress(io.TeeReader(cfg.Stdin, s.tee), "stdin")
	if err != nil {
		return nil, &InputError{Err: err}
	}
	s.stdin = bufio.NewReaderSize(dec, sniffSize)
	s.display = []string{"stdin"}
	head, err := s.stdin.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, &InputError{Err: &input.FileError{File: "stdin", Err: fmt.Errorf("read: %w", err)}}
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
	if err := s.tee.attach(s.spool); err != nil {
		s.close()
		return nil, fmt.Errorf("%w: write stdin spool: %w", ErrConfig, err)
	}
	return s, nil
}

// spoolTee is where stdin's bytes are copied as they are read: memory
// until the spool file exists (the first bytes are read to tell the
// format), the spool after.
type spoolTee struct {
	buf  bytes.Buffer
	file *os.File
}

func (t *spoolTee) Write(p []byte) (int, error) {
	if t.file == nil {
		return t.buf.Write(p)
	}
	return t.file.Write(p)
}

func (t *spoolTee) attach(f *os.File) error {
	t.file = f
	_, err := f.Write(t.buf.Bytes())
	t.buf = bytes.Buffer{}
	return err
}

// inputNames returns the files to read, in order: Inputs, or Input alone.
func (c *Config) inputNames() []string {
	if len(c.Inputs) > 0 {
		return c.Inputs
	}
	return []string{c.Input}
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
	sc := &scan{seed: maphash.MakeSeed()}
	// Sized once from the files' sizes: an append-grown slice would hold up
	// to twice the 8 bytes a row at its peak.
	est := 0
	for _, p := range s.paths {
		n, _ := EstimateRows(p)
		est += n
	}
	hashes := make([]uint64, 0, est+est/8)
	sums := make([][]byte, len(s.paths))
	files := input.Files{Names: s.display, Open: func(i int) (io.ReadCloser, error) {
		f, err := os.Open(s.paths[i])
		if err != nil {
			return nil, fmt.Errorf("open input: %w", err)
		}
		h := sha256.New()
		dec, err := input.Decompress(io.TeeReader(f, h), s.paths[i])
		if err != nil {
			f.Close()
			return nil, err
		}
		return &hashingFile{f: f, h: h, dec: dec, sum: &sums[i]}, nil
	}}
	n, err := input.ScanFiles(files, s.format, s.opts, func(_ int, id string) {
		hashes = append(hashes, sc.hash(strings.TrimSpace(id)))
	})
	if err != nil {
		return nil, &InputError{Err: err}
	}
	sc.rows = n
	if len(sums) == 1 {
		s.digest = hex.EncodeToString(sums[0])
	} else {
		// Every file's content, in order: the same shards in another order
		// are another run (their rows are numbered otherwise).
		h := sha256.New()
		for _, sum := range sums {
			h.Write(sum)
		}
		s.digest = fmt.Sprintf("files%d:%s", len(sums), hex.EncodeToString(h.Sum(nil)))
	}
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

// hashingFile is one file of the first pass: its content decompressed as
// it is read, its bytes as stored hashed on the way.
type hashingFile struct {
	f   *os.File
	h   hash.Hash
	dec io.Reader
	sum *[]byte
}

func (hf *hashingFile) Read(p []byte) (int, error) { return hf.dec.Read(p) }

// Close reads the stream to its end, so that a gzip stream's checksum and
// anything after the last record (trailing blank lines, another gzip
// member) are checked and hashed here, in the pass that runs before
// anything is sent; then it records the digest and closes the file.
func (hf *hashingFile) Close() error {
	defer hf.f.Close()
	if _, err := io.Copy(io.Discard, hf.dec); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if _, err := io.Copy(hf.h, hf.f); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	*hf.sum = hf.h.Sum(nil)
	return nil
}

// Abort closes the file after a failed first pass, without reading on.
func (hf *hashingFile) Abort() error { return hf.f.Close() }

// openFile opens one input file for the main or the report pass,
// decompressed as it is read.
func openFile(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open input: %w", err)
	}
	dec, err := input.Decompress(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{dec, f}, nil
}

// files is the input files for input.OpenFiles and OpenSkimFiles.
func (s *source) files() input.Files {
	return input.Files{Names: s.display, Open: func(i int) (io.ReadCloser, error) { return openFile(s.paths[i]) }}
}

// EstimateRows guesses how many rows the file at path holds, from its size
// and the length of the lines in its first 64 KiB (for a gzip file, of the
// first 64 KiB it decompresses to, against the stored bytes they took):
// enough to size buffers and memory limits, not to count on.
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
	var r io.Reader = f
	if dec, err := input.Decompress(f, path); err == nil {
		r = dec
	}
	n, _ := io.ReadFull(r, head)
	lines := bytes.Count(head[:n], []byte{'\n'})
	if lines == 0 {
		return 1, nil
	}
	// For a gzip file, the head's lines came from fewer stored bytes.
	stored, whole := int64(n), n < len(head)
	if off, ok := input.CompressedOffset(r); ok {
		stored = max(1, off)
	} else {
		whole = int64(n) == fi.Size()
	}
	if whole {
		return lines, nil
	}
	return int(fi.Size() * int64(lines) / stored), nil
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

// reader opens the main pass: the files again, or stdin (copied to the
// spool as it is read). deferred asks for CSV records whose values are
// decoded later, by input.Decode (see input.Options.Deferred).
func (s *source) reader(deferred bool) (input.Reader, io.Closer, error) {
	files := s.files()
	if s.stdin != nil {
		files.Open = func(int) (io.ReadCloser, error) { return io.NopCloser(s.stdin), nil }
	}
	opts := s.opts
	opts.Deferred = deferred
	rd, err := input.OpenFiles(files, s.format, opts)
	if err != nil {
		return nil, nil, &InputError{Err: err}
	}
	return rd, rd, nil
}

// drainStdin copies what is left of stdin to the spool, so that the report
// has a line for rows the run stopped before reading.
func (s *source) drainStdin() error {
	if s.stdin == nil {
		return nil
	}
	_, err := io.Copy(io.Discard, s.stdin) // the tee below writes the spool
	return err
}

// skimmer opens the report pass: the files a third time, as a stream, or
// the stdin spool.
func (s *source) skimmer() (*input.FilesSkimmer, error) {
	files := s.files()
	if s.stdin != nil {
		if err := s.spool.Sync(); err != nil {
			return nil, fmt.Errorf("sync stdin spool: %w", err)
		}
		files.Open = func(int) (io.ReadCloser, error) {
			f, err := os.Open(s.spoolPath)
			if err != nil {
				return nil, fmt.Errorf("reopen stdin spool for the report: %w", err)
			}
			dec, err := input.Decompress(f, "stdin")
			if err != nil {
				f.Close()
				return nil, err
			}
			return struct {
				io.Reader
				io.Closer
			}{dec, f}, nil
		}
	}
	return input.OpenSkimFiles(files, s.format, s.opts)
}

// absName is the input's name for the run record: absolute for files, so
// `status` says which file a run read.
func (s *source) absName() string {
	if s.stdin != nil {
		return "-"
	}
	names := make([]string, len(s.paths))
	for i, p := range s.paths {
		names[i] = p
		if abs, err := filepath.Abs(p); err == nil {
			names[i] = abs
		}
	}
	return strings.Join(names, ", ")
}
