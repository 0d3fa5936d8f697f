package checkpoint

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRowRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		row  Row
	}{
		{name: "zero fields", row: Row{Num: 1}},
		{name: "typical", row: inflight(42, "jb1-3f2a")},
		{name: "everything set", row: Row{
			Num: 1 << 40, Line: 7, CustomerID: "cus_ünï", Status: StatusDone, Outcome: "rejected",
			HTTPStatus: 422, Attempts: 6, Key: "k", Error: "email: is invalid (request req_123)",
			Digest: [32]byte{1, 2, 3, 31: 0xFF}, UpdatedAt: time.Date(2026, 11, 27, 23, 59, 59, 999999999, time.UTC),
		}},
		{name: "negative numbers", row: Row{Num: 3, Line: -1, HTTPStatus: -1, Attempts: -2}},
		{name: "long error", row: Row{Num: 4, Error: string(make([]byte, 70000))}},
		{name: "warnings", row: Row{Num: 5, Status: StatusDone, Outcome: "updated", HTTPStatus: 200,
			Warnings: "first_name: contains a digit: \"A1\"\nbilling_address.line2: contains a line break (U+000A): \"a\\nb\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t, Options{})
			if err := s.RunLog("r").Outcome([]Row{tt.row}, nil); err != nil {
				t.Fatal(err)
			}
			got, ok, err := s.Row("r", tt.row.Num)
			if err != nil || !ok {
				t.Fatalf("Row(r, %d) = %v, %v; want found", tt.row.Num, ok, err)
			}
			if diff := cmp.Diff(tt.row, got); diff != "" {
				t.Errorf("Row(r, %d) mismatch (-want +got):\n%s", tt.row.Num, diff)
			}
		})
	}
}

// TestRowWarnings: a row's warnings cost nothing when there are none (no
// flag, no bytes) and come back as written when there are.
func TestRowWarnings(t *testing.T) {
	r := Row{Num: 1, Line: 2, CustomerID: "c", Status: StatusDone, Outcome: "updated", Error: "e"}
	plain := appendRow(nil, &r)
	r.Warnings = "w"
	warned := appendRow(nil, &r)
	if len(warned) != len(plain)+2 || !bytes.HasSuffix(warned, []byte{1, 'w'}) {
		t.Fatalf("appendRow with Warnings = %x; want %x's fields and the string after them", warned, plain)
	}
	var got Row
	if err := decodeRow(rowKey(1), plain, &got); err != nil || got.Warnings != "" {
		t.Fatalf("decodeRow(without warnings) = %+v, %v", got, err)
	}
	if err := decodeRow(rowKey(1), warned, &got); err != nil || got.Warnings != "w" {
		t.Fatalf("decodeRow(with warnings) = %+v, %v", got, err)
	}
}

func TestRowTimeIsUTC(t *testing.T) {
	s, _ := openTest(t, Options{})
	r := row(1)
	r.UpdatedAt = time.Date(2026, 11, 27, 10, 0, 0, 5, time.FixedZone("WAT", 3600))
	if err := s.RunLog("r").Outcome([]Row{r}, nil); err != nil {
		t.Fatal(err)
	}
	got, _, _ := s.Row("r", 1)
	want := time.Date(2026, 11, 27, 9, 0, 0, 5, time.UTC)
	if got.UpdatedAt != want {
		t.Errorf("UpdatedAt = %v; want %v", got.UpdatedAt, want)
	}
}

func TestRowsOrder(t *testing.T) {
	tests := []struct {
		name  string
		nums  []int
		want  []int
		runID string
	}{
		{name: "no run", runID: "missing"},
		{name: "shuffled", nums: []int{5, 3, 300, 1, 256, 2}, want: []int{1, 2, 3, 5, 256, 300}},
		{name: "many chunks", nums: shuffled(seq(1, 3*readChunk+5)), want: seq(1, 3*readChunk+5)},
		{name: "big numbers sort numerically", nums: []int{1 << 20, 255, 256, 65536}, want: []int{255, 256, 65536, 1 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t, Options{})
			l := s.RunLog("r")
			for _, n := range tt.nums {
				if err := l.Put(row(n)); err != nil {
					t.Fatal(err)
				}
			}
			mustFlush(t, l)
			// Rows of another run must not show up.
			if err := s.RunLog("other").Outcome([]Row{row(2)}, nil); err != nil {
				t.Fatal(err)
			}
			runID := tt.runID
			if runID == "" {
				runID = "r"
			}
			var got []int
			err := s.Rows(runID, func(r Row) error {
				if r != row(r.Num) {
					t.Errorf("Rows(%s) gave %+v; want %+v", runID, r, row(r.Num))
				}
				got = append(got, r.Num)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Rows(%s) numbers mismatch (-want +got):\n%s", runID, diff)
			}
		})
	}
}

func TestRowsStopsOnError(t *testing.T) {
	s, _ := openTest(t, Options{})
	l := s.RunLog("r")
	for n := 1; n <= 10; n++ {
		if err := l.Put(row(n)); err != nil {
			t.Fatal(err)
		}
	}
	mustFlush(t, l)
	stop := errors.New("stop")
	calls := 0
	err := s.Rows("r", func(r Row) error {
		calls++
		if r.Num == 4 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("Rows = %v; want fn's error as is", err)
	}
	if calls != 4 {
		t.Errorf("fn called %d times; want 4", calls)
	}
}

func shuffled(in []int) []int {
	out := append([]int(nil), in...)
	rng := rand.New(rand.NewPCG(3, 4))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func TestRowReader(t *testing.T) {
	stored := []int{1, 2, 5, readChunk, readChunk + 1, 2*readChunk + 3, 9000, 9001, 20000}
	// Dense stored rows, to cross chunk boundaries inside runs of hits.
	for n := 10000; n < 10000+2*readChunk; n += 2 {
		stored = append(stored, n)
	}
	isStored := map[int]bool{}
	for _, n := range stored {
		isStored[n] = true
	}
	tests := []struct {
		name  string
		seeks []int
	}{
		{name: "every number in order", seeks: seq(0, 20002)},
		{name: "sparse jumps", seeks: []int{1, 3, 5, 4000, readChunk, 9001, 19999, 20000, 30000}},
		{name: "repeats", seeks: []int{5, 5, 5, 9000, 9000}},
		{name: "backwards", seeks: []int{20000, 9001, 5, 1, 2, 20000, 4}},
		{name: "start late", seeks: []int{9000, 9001, 10000, 10002, 10003}},
	}
	s, _ := openTest(t, Options{})
	l := s.RunLog("r")
	for _, n := range stored {
		r := row(n)
		r.Key = "key-" + r.CustomerID
		if err := l.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	mustFlush(t, l)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := s.RowReader("r")
			for _, n := range tt.seeks {
				got, ok, err := rr.Seek(n)
				if err != nil {
					t.Fatalf("Seek(%d) = %v", n, err)
				}
				if ok != isStored[n] {
					t.Fatalf("Seek(%d) found = %v; want %v", n, ok, isStored[n])
				}
				if ok && (got.Num != n || got.Key != "key-"+row(n).CustomerID) {
					t.Fatalf("Seek(%d) = %+v; want row %d", n, got, n)
				}
			}
		})
	}
	t.Run("missing run", func(t *testing.T) {
		rr := s.RowReader("nope")
		for _, n := range []int{1, 2, 100000} {
			if _, ok, err := rr.Seek(n); ok || err != nil {
				t.Errorf("Seek(%d) on a missing run = %v, %v; want not found", n, ok, err)
			}
		}
	})
	// The merge-join of a resume: read row n, then write row n. Writing
	// behind the reader neither blocks nor confuses it.
	t.Run("merge-join while writing", func(t *testing.T) {
		rr := s.RowReader("r")
		w := s.RunLog("r")
		for n := 1; n <= 12000; n++ {
			got, ok, err := rr.Seek(n)
			if err != nil {
				t.Fatal(err)
			}
			if ok != isStored[n] {
				t.Fatalf("Seek(%d) found = %v; want %v", n, ok, isStored[n])
			}
			if !ok {
				continue
			}
			got.Outcome = "carried"
			if err := w.Outcome([]Row{got}, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}
