package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RowStatus says where a row stands.
type RowStatus uint8

// Row statuses. The zero value means "unset" and is not written by the
// pipeline.
const (
	// StatusInFlight: a request carrying the row may have left; on resume
	// it is sent again with the same Key.
	StatusInFlight RowStatus = 1
	// StatusDone: the row has its final Outcome and is not sent again.
	StatusDone RowStatus = 2
)

// String returns "in_flight", "done" or "status(N)".
func (s RowStatus) String() string {
	switch s {
	case StatusInFlight:
		return "in_flight"
	case StatusDone:
		return "done"
	default:
		return fmt.Sprintf("status(%d)", uint8(s))
	}
}

// Row is what the state keeps about one input row of a run. Num is its key
// within the run.
type Row struct {
	Num        int // 1-based row number; must be >= 1
	Line       int
	CustomerID string
	Status     RowStatus
	Outcome    string
	HTTPStatus int
	Attempts   int
	Key        string // idempotency key
	Error      string
	// Warnings is the row's warnings as the report shows them ("" when
	// none): what the values suggest is wrong although they were sent.
	Warnings  string
	Digest    [32]byte // digest of the input row's content, to notice a row that changed at the same position
	UpdatedAt time.Time
}

// readChunk is how many rows RowReader and Rows load per read transaction.
const readChunk = 4096

// Row returns row num of run runID, and whether it is stored.
func (s *Store) Row(runID string, num int) (Row, bool, error) {
	var r Row
	var ok bool
	if num < 1 {
		return r, false, nil
	}
	err := s.view(func(tx *bolt.Tx) error {
		b := runRows(tx, runID)
		if b == nil {
			return nil
		}
		k := rowKey(num)
		v := b.Get(k)
		if v == nil {
			return nil
		}
		ok = true
		return decodeRow(k, v, &r)
	})
	if err != nil {
		return Row{}, false, fmt.Errorf("checkpoint: read row %d of run %s: %w", num, runID, err)
	}
	return r, ok, nil
}

// Rows calls fn for each stored row of run runID in row order. fn runs
// outside any transaction (it may write to the Store); rows are read in
// chunks, so rows written during the walk ahead of it may or may not be
// seen. fn's error stops the walk and is returned as is.
func (s *Store) Rows(runID string, fn func(Row) error) error {
	var buf []Row
	next := 1
	for {
		var exhausted bool
		var err error
		buf, exhausted, err = s.loadRows(runID, next, buf[:0])
		if err != nil {
			return fmt.Errorf("checkpoint: read rows of run %s: %w", runID, err)
		}
		for _, r := range buf {
			if err := fn(r); err != nil {
				return err
			}
		}
		if exhausted || len(buf) == 0 {
			return nil
		}
		next = buf[len(buf)-1].Num + 1
	}
}

// loadRows appends up to readChunk rows of run runID numbered from from
// onwards, in one short read transaction. exhausted reports that no stored
// row follows the last one returned.
func (s *Store) loadRows(runID string, from int, buf []Row) (_ []Row, exhausted bool, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		b := runRows(tx, runID)
		if b == nil {
			exhausted = true
			return nil
		}
		c := b.Cursor()
		k, v := c.Seek(rowKey(from))
		for ; k != nil; k, v = c.Next() {
			if len(buf) == readChunk {
				return nil
			}
			buf = append(buf, Row{})
			if err := decodeRow(k, v, &buf[len(buf)-1]); err != nil {
				return err
			}
		}
		exhausted = true
		return nil
	})
	// A chunk of rows fills a few dozen pages: drop them with the chunk.
	s.dropNow()
	return buf, exhausted, err
}

// RowReader looks up the stored rows of one run for a merge-join: a resume
// re-reads its input in order and asks, for each row number, what the run
// recorded. It loads rows in chunks of a few thousand, each chunk in its own
// short read transaction, so lookups in increasing order cost a slice walk
// and no transaction, and no transaction stays open between calls (writes to
// the same Store, even to the same run, are never blocked by a reader).
//
// Lifetime: a RowReader holds only memory; drop it when done (there is no
// Close). It must not outlive its Store. Each chunk is a snapshot taken when
// it is loaded: a row written after the reader loaded the chunk covering its
// number may not be seen. A merge-join that writes row n only after reading
// it is unaffected.
//
// Concurrency: a RowReader is for one goroutine; use one per goroutine.
type RowReader struct {
	s     *Store
	runID string
	buf   []Row
	lo    int // buf covers row numbers [lo, hi]
	hi    int
	pos   int // index into buf of the last lookup
	valid bool
}

// RowReader returns a reader over the stored rows of run runID.
func (s *Store) RowReader(runID string) *RowReader {
	return &RowReader{s: s, runID: runID}
}

// Seek returns the stored row numbered num, and whether there is one.
// Non-decreasing numbers are cheapest; a smaller number than the previous
// chunk covers reloads from there.
func (r *RowReader) Seek(num int) (Row, bool, error) {
	if num < 1 {
		return Row{}, false, nil
	}
	if !r.valid || num < r.lo || num > r.hi {
		buf, exhausted, err := r.s.loadRows(r.runID, num, r.buf[:0])
		if err != nil {
			r.valid = false
			return Row{}, false, fmt.Errorf("checkpoint: read rows of run %s from %d: %w", r.runID, num, err)
		}
		r.buf, r.lo, r.pos, r.valid = buf, num, 0, true
		r.hi = math.MaxInt
		if !exhausted && len(buf) > 0 {
			r.hi = buf[len(buf)-1].Num
		}
	}
	if r.pos >= len(r.buf) || r.buf[r.pos].Num > num {
		r.pos = sort.Search(len(r.buf), func(i int) bool { return r.buf[i].Num >= num })
	}
	for r.pos < len(r.buf) && r.buf[r.pos].Num < num {
		r.pos++
	}
	if r.pos < len(r.buf) && r.buf[r.pos].Num == num {
		return r.buf[r.pos], true, nil
	}
	return Row{}, false, nil
}

// runRows returns the rows bucket of a run, or nil.
func runRows(tx *bolt.Tx, runID string) *bolt.Bucket {
	rows := tx.Bucket([]byte(bucketRows))
	if rows == nil || runID == "" {
		return nil
	}
	return rows.Bucket([]byte(runID))
}

// rowFill packs row pages fuller than bbolt's default (0.5): rows arrive
// mostly in order, so pages are rarely split again.
const rowFill = 0.9

// putRows writes rows into b. Keys and values are carved from one arena
// that is never overwritten, since bbolt keeps the slices until commit.
func putRows(b *bolt.Bucket, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	b.FillPercent = rowFill
	arena := make([]byte, 0, len(rows)*96)
	for i := range rows {
		start := len(arena)
		arena = binary.BigEndian.AppendUint64(arena, uint64(rows[i].Num))
		arena = appendRow(arena, &rows[i])
		rec := arena[start:len(arena):len(arena)]
		if err := b.Put(rec[:8:8], rec[8:]); err != nil {
			return fmt.Errorf("row %d: %w", rows[i].Num, err)
		}
	}
	return nil
}
