package checkpoint_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/juicebatch/juicebatch/checkpoint"
)

// BenchmarkScratchPut is what plan pays per row for its row store: a
// buffered RunLog.Put into a checkpoint.OpenScratch store (no fsync), with
// the batch writes and the final Flush included. One op is one row.
func BenchmarkScratchPut(b *testing.B) {
	s, err := checkpoint.OpenScratch(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	l := s.RunLog("0123456789abcdef")
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		r := checkpoint.Row{Num: i, Line: i + 1, CustomerID: fmt.Sprintf("%08x-93d1-4fcc-b7a4-738f869615c8", i),
			Status: checkpoint.StatusDone, Outcome: "would_update", UpdatedAt: at}
		if err := l.Put(r); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAppliedMiss is change detection for a customer the state has
// never applied anything to: the common case of a first run, and of every
// new customer later. "no-scope": the state has no record for the scope at
// all; "100k-others": it has 100k other customers of that scope.
func BenchmarkAppliedMiss(b *testing.B) {
	for _, others := range []int{0, 100000} {
		name := "no-scope"
		if others > 0 {
			name = "100k-others"
		}
		b.Run(name, func(b *testing.B) {
			s, err := checkpoint.Open(filepath.Join(b.TempDir(), "state.db"), checkpoint.Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			l := s.RunLog("r")
			at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
			for i := range others {
				u := &checkpoint.AppliedUpdate{Scope: "s", CustomerID: fmt.Sprintf("known-%07d", i),
					Fields: map[string][32]byte{"email": {1}}, At: at}
				if err := l.Outcome(nil, u); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, ok, err := s.Applied("s", fmt.Sprintf("new-%07d", i)); ok || err != nil {
					b.Fatalf("Applied(new) = %v, %v; want a miss", ok, err)
				}
			}
		})
	}
}
