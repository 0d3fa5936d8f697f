package input

import (
	"errors"
	"io"
	"slices"
	"strings"
)

// Files is an input of one or more files read one after the other as one
// input, as warehouses write exports (export-000000000000.csv.gz, ...).
//
// Records are numbered across the files: the first record of a file is
// numbered one after the last record of the file before it (for NDJSON,
// whose records are numbered by line, one after that record's line, so
// trailing blank lines do not count). Record.Line counts within each file,
// and Record.File names it. Each CSV file has a header of its own, read and
// mapped on its own; ScanFiles checks that every header maps to the same
// fields. Files are opened one at a time, when reading reaches them.
type Files struct {
	// Names are the files' names for messages and Record.File, in the
	// order they are read.
	Names []string
	// Open opens the i-th file and returns its content, already
	// decompressed (see Decompress). Close is called once the file has
	// been read to its end, or by the reader's Close. When ScanFiles
	// stops on a broken file, it calls Abort() error instead if the
	// reader has such a method: a Close that reads the rest of the file
	// (to hash it) need not do so for a pass that has failed.
	Open func(i int) (io.ReadCloser, error)
}

// abort closes rc after a failed read.
func abort(rc io.ReadCloser) {
	if a, ok := rc.(interface{ Abort() error }); ok {
		a.Abort()
		return
	}
	rc.Close()
}

func (fs Files) open(i int) (io.ReadCloser, error) {
	rc, err := fs.Open(i)
	if err != nil {
		return nil, asFileError(fs.Names[i], err)
	}
	return rc, nil
}

// asFileError returns err as a *FileError naming name.
func asFileError(name string, err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	return &FileError{File: name, Err: err}
}

// ScanFiles is ScanIDs over every file of fs, numbering records across them
// as OpenFiles does. It also checks that every CSV file's header maps to the
// same fields as the first file's, and fails with a *FileError matching
// ErrHeaderMismatch otherwise: the first pass finds this before anything is
// sent. It returns how many records there are in all.
func ScanFiles(fs Files, f Format, opts Options, fn func(num int, id string)) (int, error) {
	total, offset := 0, 0
	var first *csvHeader
	for i, name := range fs.Names {
		rc, err := fs.open(i)
		if err != nil {
			return total, err
		}
		o := opts
		o.Name = name
		n, last, h, err := scanIDs(rc, f, o, func(num int, id string) { fn(offset+num, id) })
		total += n
		if err != nil {
			abort(rc)
			return total, err
		}
		if err := rc.Close(); err != nil {
			return total, asFileError(name, err)
		}
		if h != nil {
			if first == nil {
				first = h
			} else if h.has != first.has {
				return total, fileErr(name, h.line, ErrHeaderMismatch,
					"header maps to %s, but the header of %s maps to %s: every file of one input must have the same fields",
					fieldList(&h.has), fs.Names[0], fieldList(&first.has))
			}
		}
		offset += last
	}
	return total, nil
}

// fieldList names the fields in has, in canonical order.
func fieldList(has *[NumFields]bool) string {
	var names []string
	for f := range NumFields {
		if has[f] {
			names = append(names, f.String())
		}
	}
	return strings.Join(names, ", ")
}

// FilesReader reads the records of every file of a Files in turn. It is a
// Reader and a RawSource, and is not safe for concurrent use.
type FilesReader struct {
	parts
	cur Reader
	num int // the number of the record Next returned last

	seen    map[string]bool
	pending []string
}

// OpenFiles opens fs's first file as format f (failing as Open does) and
// returns a reader of all of them. A later file's header is read when the
// reader reaches it; a problem with it is a *FileError from Next, which
// ScanFiles would have found first.
func OpenFiles(fs Files, f Format, opts Options) (*FilesReader, error) {
	if len(fs.Names) == 0 {
		return nil, errors.New("input: open: no files")
	}
	m := &FilesReader{parts: parts{fs: fs, format: f, opts: opts}, seen: map[string]bool{}}
	if err := m.openPart(0); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *FilesReader) openPart(i int) error {
	rc, err := m.fs.open(i)
	if err != nil {
		return err
	}
	o := m.opts
	o.Name = m.fs.Names[i]
	rd, err := Open(rc, m.format, o)
	if err != nil {
		rc.Close()
		return err
	}
	m.i, m.cur, m.closer, m.last = i, rd, rc, 0
	m.collect()
	return nil
}

// Next returns the next record of the input, io.EOF after the last record
// of the last file, or a *FileError (from whichever file it came) after
// which the input cannot be read on.
func (m *FilesReader) Next() (*Record, error) {
	for m.fail == nil {
		rec, err := m.cur.Next()
		if err == nil {
			m.last = rec.Num
			rec.Num += m.offset
			rec.File = m.fs.Names[m.i]
			if rec.Err != nil {
				rec.Err.Row = rec.Num
			}
			m.num = rec.Num
			return rec, nil
		}
		if err != io.EOF {
			m.fail = err
			break
		}
		m.collect()
		m.advance(m.openPart)
	}
	return nil, m.fail
}

// Close closes the file being read, when reading stopped before the end.
func (m *FilesReader) Close() error { return m.closePart() }

// collect gathers the current file's new warnings, each text once: shards
// of one export share a header, and its warnings are worth saying once.
func (m *FilesReader) collect() {
	for _, w := range m.cur.Warnings() {
		if !m.seen[w] {
			m.seen[w] = true
			m.pending = append(m.pending, w)
		}
	}
}

// Warnings returns the warnings not returned before, from every file read
// so far; a warning all the files give is returned once.
func (m *FilesReader) Warnings() []string {
	m.collect()
	w := m.pending
	m.pending = nil
	return w
}

// Raw returns the last record as read, numbered as Next numbered it.
func (m *FilesReader) Raw() *RawRecord {
	rs, ok := m.cur.(RawSource)
	if !ok {
		return nil
	}
	raw := rs.Raw()
	if raw != nil {
		raw.Num = m.num
	}
	return raw
}

// FilesSkimmer is a Skimmer over every file of a Files, numbering records
// as OpenFiles does. It is not safe for concurrent use.
type FilesSkimmer struct {
	parts
	first *Skimmer // the first file's, for the failed file's header
	cur   *Skimmer
	perm  []int // the current file's columns in the first file's order; nil: the same
}

// parts is what FilesReader and FilesSkimmer share: which of the files is
// open, how many records its predecessors numbered, and the error (io.EOF
// after the last file) that ended reading.
type parts struct {
	fs     Files
	format Format
	opts   Options

	i      int
	closer io.Closer
	offset int // records numbered before the current file
	last   int // the current file's last record number so far
	fail   error
}

func (p *parts) closePart() error {
	if p.closer == nil {
		return nil
	}
	c := p.closer
	p.closer = nil
	if err := c.Close(); err != nil {
		return asFileError(p.fs.Names[p.i], err)
	}
	return nil
}

// advance closes the file that has ended and opens the next one with
// open; when there is none, or either step fails, reading ends with fail.
func (p *parts) advance(open func(i int) error) {
	if err := p.closePart(); err != nil {
		p.fail = err
		return
	}
	if p.i+1 == len(p.fs.Names) {
		p.fail = io.EOF
		return
	}
	p.offset += p.last
	if err := open(p.i + 1); err != nil {
		p.fail = err
	}
}

// OpenSkimFiles starts skimming fs, with the same options as the OpenFiles
// it stands beside; it fails as OpenSkim does on the first file.
func OpenSkimFiles(fs Files, f Format, opts Options) (*FilesSkimmer, error) {
	if len(fs.Names) == 0 {
		return nil, errors.New("input: skim: no files")
	}
	m := &FilesSkimmer{parts: parts{fs: fs, format: f, opts: opts}}
	if err := m.openPart(0); err != nil {
		return nil, err
	}
	m.first = m.cur
	return m, nil
}

func (m *FilesSkimmer) openPart(i int) error {
	rc, err := m.fs.open(i)
	if err != nil {
		return err
	}
	o := m.opts
	o.Name = m.fs.Names[i]
	sk, err := OpenSkim(rc, m.format, o)
	if err != nil {
		rc.Close()
		return err
	}
	m.i, m.cur, m.closer, m.last = i, sk, rc, 0
	m.perm = nil
	if m.first != nil {
		m.perm = columnOrder(m.first, sk)
	}
	return nil
}

// Header returns the first file's CSV header as written (nil for NDJSON):
// the header of the one failed file that the rows of every file go to.
func (m *FilesSkimmer) Header() []string { return m.first.Header() }

// Next returns the next record, io.EOF after the last, or the same
// *FileError that OpenFiles' reader returns at the same place.
func (m *FilesSkimmer) Next() (*Skim, error) {
	for m.fail == nil {
		sk, err := m.cur.Next()
		if err == nil {
			m.last = sk.Num
			sk.Num += m.offset
			sk.File = m.fs.Names[m.i]
			return sk, nil
		}
		if err != io.EOF {
			m.fail = err
			break
		}
		m.advance(m.openPart)
	}
	return nil, m.fail
}

// Raw returns the last record as read, numbered across the files, or nil
// before the first. A record of a CSV file whose header differs from the
// first file's (the same fields under other names, or in another order)
// has its Fields rearranged to the first file's columns, so that the
// failed file stays one valid input.
func (m *FilesSkimmer) Raw() *RawRecord {
	if m.fail != nil {
		return nil
	}
	raw := m.cur.Raw()
	if raw == nil {
		return nil
	}
	raw.Num += m.offset
	if m.perm != nil && len(raw.Fields) == len(m.cur.header) {
		raw.Fields = permute(raw.Fields, m.perm)
	}
	return raw
}

// Close closes the file being read, when reading stopped before the end.
func (m *FilesSkimmer) Close() error { return m.closePart() }

// columnOrder says where each of first's columns is in cur (-1: nowhere),
// or returns nil when the two headers are the same. A mapped column is
// found by its field, any other by its name (case and spaces aside).
func columnOrder(first, cur *Skimmer) []int {
	if slices.Equal(first.header, cur.header) {
		return nil
	}
	perm := make([]int, len(first.header))
	used := make([]bool, len(cur.header))
	for j, name := range first.header {
		perm[j] = -1
		for k, other := range cur.header {
			if used[k] {
				continue
			}
			f := first.cols[j]
			if (f >= 0 && cur.cols[k] == f) || (f < 0 && cur.cols[k] < 0 && normName(other) == normName(name)) {
				perm[j], used[k] = k, true
				break
			}
		}
	}
	return perm
}

func permute(fields []string, perm []int) []string {
	out := make([]string, len(perm))
	for j, k := range perm {
		if k >= 0 {
			out[j] = fields[k]
		}
	}
	return out
}

var (
	_ Reader    = (*FilesReader)(nil)
	_ RawSource = (*FilesReader)(nil)
)
