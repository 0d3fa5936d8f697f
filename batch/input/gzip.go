package input

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// gzipMagic is the first two bytes of every gzip stream (RFC 1952).
var gzipMagic = []byte{0x1f, 0x8b}

// IsGzipName reports whether name says the file is gzip-compressed: it ends
// in ".gz" (any case), as in "export-000000000000.csv.gz".
func IsGzipName(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".gz")
}

// GzipError is a gzip stream that cannot be read on: cut off (a shard
// still being written, a partial download) or corrupt. Offset is the
// position in the compressed file, in bytes from its start, where the
// decompressor gave up, so a user can compare it with the file's size.
type GzipError struct {
	Offset int64
	Err    error // compress/gzip's or compress/flate's error, or io.ErrUnexpectedEOF
}

func (e *GzipError) Error() string {
	what := "corrupt"
	if errors.Is(e.Err, io.ErrUnexpectedEOF) {
		what = "cut off (truncated)"
	}
	return fmt.Sprintf("gzip data %s at compressed byte %d: %v", what, e.Offset, e.Err)
}

func (e *GzipError) Unwrap() error { return e.Err }

// Decompress returns a reader of r's content: r itself, or, when name ends
// in .gz or r begins with gzip's magic bytes, its decompressed stream.
// The stream is decompressed as it is read (nothing is unpacked to disk,
// memory stays flat); concatenated gzip members are read one after the
// other, as gzip(1) does. A stream that cannot be read (a bad header, data
// cut off, a checksum that does not match) makes a read fail with a
// *GzipError, which the readers of this package return inside the
// *FileError naming the file.
//
// A name ending in .gz whose content is not gzip fails at once: the user
// said it was compressed, and reading it as text would hide that mistake.
func Decompress(r io.Reader, name string) (io.Reader, error) {
	or := &offsetReader{r: r, buf: make([]byte, readBuf)}
	head, _ := or.peek(len(gzipMagic))
	if !IsGzipName(name) && !bytes.Equal(head, gzipMagic) {
		if or.err != nil && !errors.Is(or.err, io.EOF) {
			return nil, readErr(name, or.err)
		}
		// Plain: what was read ahead, then the input itself, so that a
		// plain file costs no extra copy.
		ahead := bytes.NewReader(or.buf[or.i:or.n])
		if or.err != nil {
			return ahead, nil // all of it (io.EOF)
		}
		return io.MultiReader(ahead, r), nil
	}
	zr, err := gzip.NewReader(or)
	if err != nil {
		return nil, &FileError{File: name, Err: &GzipError{Offset: or.offset(), Err: err}}
	}
	return &gzipReader{zr: zr, or: or}, nil
}

// gzipReader turns the decompressor's errors into *GzipError values that
// say where in the compressed file the stream broke.
type gzipReader struct {
	zr *gzip.Reader
	or *offsetReader
}

func (g *gzipReader) Read(p []byte) (int, error) {
	n, err := g.zr.Read(p)
	if err != nil && err != io.EOF {
		var ge *GzipError
		if !errors.As(err, &ge) {
			err = &GzipError{Offset: g.or.offset(), Err: err}
		}
	}
	return n, err
}

// offsetReader is a small buffered reader that knows how many bytes its
// consumer has taken. It implements io.ByteReader, so compress/gzip uses it
// as it is rather than wrapping it in a bufio.Reader of its own, and the
// offset it reports is the decompressor's real position in the file.
type offsetReader struct {
	r    io.Reader
	buf  []byte
	i, n int
	base int64 // offset of buf[0] in the input
	err  error // sticky, returned once the buffer is empty
}

func (o *offsetReader) offset() int64 { return o.base + int64(o.i) }

// fill reads more input once the buffer is used up; it reports false when
// there is none.
func (o *offsetReader) fill() bool {
	for o.i == o.n && o.err == nil {
		o.base += int64(o.n)
		o.i, o.n = 0, 0
		o.n, o.err = o.r.Read(o.buf)
	}
	return o.i < o.n
}

// peek returns up to k bytes ahead without consuming them (k is small).
func (o *offsetReader) peek(k int) ([]byte, error) {
	for o.n-o.i < k && o.err == nil {
		if o.i > 0 {
			copy(o.buf, o.buf[o.i:o.n])
			o.base += int64(o.i)
			o.n -= o.i
			o.i = 0
		}
		var m int
		m, o.err = o.r.Read(o.buf[o.n:])
		o.n += m
	}
	return o.buf[o.i:min(o.n, o.i+k)], o.err
}

func (o *offsetReader) ReadByte() (byte, error) {
	if o.i == o.n && !o.fill() {
		return 0, o.err
	}
	b := o.buf[o.i]
	o.i++
	return b, nil
}

func (o *offsetReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if o.i == o.n {
		if len(p) >= len(o.buf) && o.err == nil {
			// A large read goes straight through, without a copy.
			o.base += int64(o.n)
			o.i, o.n = 0, 0
			n, err := o.r.Read(p)
			o.base += int64(n)
			o.err = err
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if !o.fill() {
			return 0, o.err
		}
	}
	n := copy(p, o.buf[o.i:o.n])
	o.i += n
	return n, nil
}

// CompressedOffset reports, for a reader Decompress returned for a gzip
// stream, how many stored (compressed) bytes it has consumed; ok is false
// for a plain input.
func CompressedOffset(r io.Reader) (n int64, ok bool) {
	g, ok := r.(*gzipReader)
	if !ok {
		return 0, false
	}
	return g.or.offset(), true
}
