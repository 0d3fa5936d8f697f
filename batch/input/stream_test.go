package input

import (
	"fmt"
	"io"
	"runtime"
	"testing"
)

// rowSource produces a large input on demand, so the test itself holds
// none of it.
type rowSource struct {
	head  string
	row   func(i int) string
	rows  int
	i     int
	spare []byte
}

func (s *rowSource) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.spare) == 0 {
			switch {
			case s.head != "":
				s.spare, s.head = []byte(s.head), ""
			case s.i < s.rows:
				s.spare = []byte(s.row(s.i))
				s.i++
			default:
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}
		}
		c := copy(p[n:], s.spare)
		s.spare, n = s.spare[c:], n+c
	}
	return n, nil
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestMemoryDoesNotGrow streams inputs several times larger than the bound
// through each reader and checks the live heap, with the reader in use.
func TestMemoryDoesNotGrow(t *testing.T) {
	const rows, bound = 60000, 4 << 20
	tests := []struct {
		name   string
		format Format
		src    *rowSource
	}{
		{"CSV", CSV, &rowSource{head: "id,first_name,billing_address.line1\n", rows: rows, row: func(i int) string {
			return fmt.Sprintf("%d,%0120d,\"Flat %d\nMain Rd\"\n", i, i, i) // about 150 bytes
		}}},
		{"NDJSON", NDJSON, &rowSource{rows: rows, row: func(i int) string {
			return fmt.Sprintf(`{"id":"%d","first_name":"%0120d","owner%d":"x"}`+"\n", i, i, i%500) // unmapped keys galore
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := liveHeap()
			rd, err := Open(tt.src, tt.format, Options{Name: "in"})
			if err != nil {
				t.Fatal(err)
			}
			var peak uint64
			for n := 0; ; n++ {
				rec, err := rd.Next()
				if err == io.EOF {
					break
				}
				if err != nil || rec.Err != nil {
					t.Fatalf("Next() = %+v, %v", rec, err)
				}
				if n%(rows/3) == rows/3-1 {
					peak = max(peak, liveHeap())
				}
			}
			rd.Warnings()
			if grown := int64(peak) - int64(base); grown > bound {
				t.Errorf("live heap grew by %d bytes while streaming %d rows; want at most %d", grown, rows, bound)
			}
		})
	}
}
