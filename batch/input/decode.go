package input

import (
	"fmt"
	"sync"

	"github.com/gocarina/gocsv"
)

// pendingCells is a CSV record read under Options.Deferred: its fields,
// split and checked (the field count, UTF-8), not yet decoded.
type pendingCells struct {
	fields []string
	dec    *csvDecoder
}

// csvDecoder turns a CSV file's records into Values: through gocsv into a
// csvRow, then each mapped field by the file's empty-value rule. One
// exists per file and it is never changed (but for its pool of scratch
// slices), so Decode may use it from many goroutines at once.
type csvDecoder struct {
	name        string   // the file, for a RowError
	header      []string // the mapped header gocsv matches tags against
	has         [NumFields]bool
	emptyClears bool
	idCol       int // the column mapped to id, -1 if none
	// rows holds *[]csvRow for gocsv to decode into, one per goroutine
	// decoding at a time.
	rows sync.Pool
}

// fill sets rec's Values from the decoded row.
func (d *csvDecoder) fill(rec *Record, row *csvRow) {
	cells := row.cells()
	for f := range NumFields {
		if d.has[f] {
			rec.Values[f] = cellValue(cells[f], d.emptyClears)
		}
	}
}

// Decode fills the Values of the records a Reader opened with
// Options.Deferred left to decode; records already decoded are left as
// they are. Decode may run on any goroutine, on records no other
// goroutine is using; the Reader need not be open any more. Consecutive
// records of one file are decoded in one call to gocsv.
//
// gocsv cannot fail on a struct of strings; if it ever did, each record
// of the failed batch gets the error as its Err (an invalid row, not a
// lost one).
func Decode(recs []*Record) {
	for i := 0; i < len(recs); {
		if recs[i].pending == nil {
			i++
			continue
		}
		dec := recs[i].pending.dec
		j := i + 1
		for j < len(recs) && recs[j].pending != nil && recs[j].pending.dec == dec {
			j++
		}
		dec.decode(recs[i:j])
		i = j
	}
}

// decode decodes recs, all pending and of this decoder's file.
func (d *csvDecoder) decode(recs []*Record) {
	rows := make([][]string, 0, len(recs)+1)
	rows = append(rows, d.header)
	for _, rec := range recs {
		rows = append(rows, rec.pending.fields)
	}
	// gocsv fills out in place when it is long enough: a slice from the
	// pool saves allocating one per chunk (a chunk's worth of rows).
	buf, _ := d.rows.Get().(*[]csvRow)
	if buf == nil {
		buf = new([]csvRow)
	}
	if cap(*buf) < len(recs) {
		*buf = make([]csvRow, len(recs))
	}
	out := (*buf)[:len(recs)]
	defer func() {
		for i := range out {
			out[i] = csvRow{} // drop the strings
		}
		d.rows.Put(buf)
	}()
	err := gocsv.UnmarshalDecoder(decodedRows(rows), &out)
	if err == nil && len(out) != len(recs) {
		err = fmt.Errorf("gocsv decoded %d rows of %d", len(out), len(recs))
	}
	for i, rec := range recs {
		rec.pending = nil
		if err != nil {
			rec.Err = &RowError{File: d.name, Line: rec.Line, Row: rec.Num, Reason: fmt.Sprintf("cannot decode the record: %v", err)}
			continue
		}
		d.fill(rec, &out[i])
	}
}

// decodedRows hands gocsv records already split, the header first.
type decodedRows [][]string

func (d decodedRows) GetCSVRows() ([][]string, error) { return d, nil }
