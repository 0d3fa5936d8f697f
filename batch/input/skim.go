package input

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Skim is one record as a Skimmer reads it: its number and its id
// (trimmed, "" when the record has none Open would give as Set). Its raw
// form is the Skimmer's Raw, until the next record.
type Skim struct {
	Num, Line int
	File      string // as Record.File
	ID        string
}

// Skimmer reads an input a second time, cheaply: for each record, numbered
// exactly as Open numbers it, only the id and the raw record, which is what
// a report needs of a row whose outcome is already known. For CSV it does
// not decode the other columns (no gocsv, no per-field rules); for NDJSON it
// reads each line only as far as its id (the whole line when it is unusual).
// It is not safe for concurrent use.
type Skimmer struct {
	header []string
	cols   []Field // per CSV column: the field it maps to
	csv    *csvCore
	idCol  int
	opts   Options
	nd     *ndjsonReader
	// The last CSV record, for Raw: fields is csv.Reader's reused slice,
	// so Raw copies it (a report needs the raw form of few rows).
	last   csvStep
	fields []string
	have   bool
}

// OpenSkim starts skimming r as format f, with the same options (mapping)
// as the Open it stands beside; it fails as Open does.
func OpenSkim(r io.Reader, f Format, opts Options) (*Skimmer, error) {
	switch f {
	case CSV:
		core, h, idCol, err := openIDColumn(r, opts)
		if err != nil {
			return nil, err
		}
		core.cr.ReuseRecord = true // Raw copies what it keeps
		return &Skimmer{header: h.names, cols: h.cols, csv: core, idCol: idCol, opts: opts}, nil
	case NDJSON:
		rd, err := openNDJSON(r, opts)
		if err != nil {
			return nil, err
		}
		return &Skimmer{nd: rd}, nil
	}
	return nil, fmt.Errorf("input: skim %s: unknown format %v", opts.Name, f)
}

// openIDColumn reads and maps a CSV header, and finds the id column (-1 when
// none maps to id): the start of every pass that needs only ids.
func openIDColumn(r io.Reader, opts Options) (*csvCore, *csvHeader, int, error) {
	core, err := newCSVCore(r, opts.Name, opts.maxRecord)
	if err != nil {
		return nil, nil, 0, err
	}
	header, line, err := readHeader(core, func() error {
		_, err := core.cr.Read()
		return err
	})
	if err != nil {
		return nil, nil, 0, err
	}
	h, err := mapHeader(opts.Name, line, header, opts.Mapping, opts.Strict)
	if err != nil {
		return nil, nil, 0, err
	}
	idCol := -1
	for i, f := range h.cols {
		if f == ID {
			idCol = i
		}
	}
	return core, h, idCol, nil
}

// Header returns the CSV header as written (nil for NDJSON).
func (s *Skimmer) Header() []string { return s.header }

// Next returns the next record, io.EOF after the last one, or the same
// *FileError that Open's Reader returns at the same place.
func (s *Skimmer) Next() (*Skim, error) {
	if s.nd != nil {
		rec, err := s.nd.nextID()
		if err != nil {
			return nil, err
		}
		sk := &Skim{Num: rec.Num, Line: rec.Line}
		if v := rec.Values[ID]; v.State == Set {
			sk.ID = strings.TrimSpace(v.Text)
		}
		return sk, nil
	}
	var fields []string
	st, err := s.csv.step(false, func() error {
		var err error
		fields, err = s.csv.cr.Read()
		return err
	})
	if err != nil {
		s.have = false
		return nil, err
	}
	s.last, s.fields, s.have = st, fields, true
	sk := &Skim{Num: st.num, Line: st.line}
	if st.parsed {
		if s.idCol >= 0 && s.idCol < len(fields) && utf8.ValidString(fields[s.idCol]) {
			if v := cellValue(fields[s.idCol], s.opts.EmptyClears); v.State == Set {
				sk.ID = strings.TrimSpace(v.Text)
			}
		}
	}
	return sk, nil
}

// Raw returns the last record as read (as a Reader's RawSource does), or
// nil before the first and after the end.
func (s *Skimmer) Raw() *RawRecord {
	if s.nd != nil {
		return s.nd.Raw()
	}
	if !s.have {
		return nil
	}
	raw := &RawRecord{Num: s.last.num, Line: s.last.line, Text: bytes.Clone(s.csv.text)}
	if s.last.parsed {
		raw.Fields = slices.Clone(s.fields)
	}
	return raw
}
