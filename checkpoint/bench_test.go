package checkpoint

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// benchStore opens a store in b's temp dir; sync chooses real fsyncs.
func benchStore(b *testing.B, sync bool) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "state.db"), Options{NoSync: !sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// fill writes rows 1..n of run r.
func fill(b *testing.B, s *Store, n int) {
	b.Helper()
	l := s.RunLog("r")
	for i := 1; i <= n; i++ {
		r := row(i)
		r.Key = "jb1-0123456789abcdef0123456789abcdef"
		if err := l.Put(r); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPut: per buffered row, including its share of the batch writes
// (one fsync per 4096 rows with sync).
func BenchmarkPut(b *testing.B) {
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync=%v", sync), func(b *testing.B) {
			s := benchStore(b, sync)
			l := s.RunLog("r")
			r := row(1)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				r.Num = i
				if err := l.Put(r); err != nil {
					b.Fatal(err)
				}
			}
			if err := l.Flush(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkIntent: one durable intent (quota, row, recent sends) per op.
func BenchmarkIntent(b *testing.B) {
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync=%v", sync), func(b *testing.B) {
			s := benchStore(b, sync)
			l := s.RunLog("r")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				a := Attempt{Rows: []Row{inflight(i, "jb1-key")}, Fingerprint: "live_abcd", Day: "2026-11-27", Budget: -1, At: day0.Add(time.Duration(i))}
				if err := l.Intent(a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOutcome: one durable outcome with an Applied merge per op.
func BenchmarkOutcome(b *testing.B) {
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync=%v", sync), func(b *testing.B) {
			s := benchStore(b, sync)
			l := s.RunLog("r")
			fields := map[string][32]byte{"email": {1}, "phone_number": {2}, "billing_address": {3}}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				done := row(i)
				done.Outcome = "updated"
				u := &AppliedUpdate{Scope: "s", CustomerID: fmt.Sprintf("cus_%d", i%10000), Fields: fields, At: day0}
				if err := l.Outcome([]Row{done}, u); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

const benchCustomers = 100000

func fillApplied(b *testing.B, s *Store) []string {
	b.Helper()
	ids := make([]string, benchCustomers)
	err := s.update(func(tx *bolt.Tx) error {
		for i := range ids {
			ids[i] = fmt.Sprintf("cus_%07d", i)
			u := AppliedUpdate{Scope: "s", CustomerID: ids[i], Fields: map[string][32]byte{"email": {byte(i)}, "first_name": {2}}, At: day0}
			if err := mergeApplied(tx, &u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return ids
}

// BenchmarkApplied: one lookup per op among 100k customers.
func BenchmarkApplied(b *testing.B) {
	s := benchStore(b, false)
	ids := fillApplied(b, s)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok, err := s.Applied("s", ids[(i*7919)%len(ids)]); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkAppliedMany: per customer, looked up 1000 at a time.
func BenchmarkAppliedMany(b *testing.B) {
	s := benchStore(b, false)
	ids := fillApplied(b, s)
	batch := make([]string, 0, 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch = append(batch, ids[(i*7919)%len(ids)])
		if len(batch) == cap(batch) || i == b.N-1 {
			if _, err := s.AppliedMany("s", batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// BenchmarkRowReader: a merge-join over a run of b.N rows, one Seek per
// row in order; reports lookups/s (the target is > 500k/s).
func BenchmarkRowReader(b *testing.B) {
	s := benchStore(b, false)
	fill(b, s, b.N)
	rr := s.RowReader("r")
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 1; i <= b.N; i++ {
		if _, ok, err := rr.Seek(i); !ok || err != nil {
			b.Fatal(i, ok, err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lookups/s")
}

// BenchmarkRows: walking a run of b.N rows.
func BenchmarkRows(b *testing.B) {
	s := benchStore(b, false)
	fill(b, s, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	if err := s.Rows("r", func(Row) error { n++; return nil }); err != nil || n != b.N {
		b.Fatal(n, err)
	}
}
