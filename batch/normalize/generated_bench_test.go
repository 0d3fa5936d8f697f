package normalize_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/batch/normalize"
	"github.com/juicebatch/juicebatch/scripts/benchgen/gen"
)

// BenchmarkUpdateGenerated is Normalizer.Update alone (records read
// beforehand) over the generated rows of scripts/benchgen: mostly E.164
// phones (95 % take the fast path) and all national (every phone goes
// through phonenumbers.Parse and IsValidNumber). One op is one row.
func BenchmarkUpdateGenerated(b *testing.B) {
	for _, tc := range []struct {
		name   string
		phones gen.Phones
	}{{"e164", gen.PhonesMostlyE164}, {"national", gen.PhonesNational}} {
		var buf bytes.Buffer
		if err := gen.WriteCSV(&buf, gen.Options{Rows: 10000, Seed: 1, Phones: tc.phones}); err != nil {
			b.Fatal(err)
		}
		rd, err := input.Open(&buf, input.CSV, input.Options{Name: "bench.csv"})
		if err != nil {
			b.Fatal(err)
		}
		var recs []*input.Record
		for {
			rec, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			recs = append(recs, rec)
		}
		n, err := normalize.New(normalize.Options{File: "bench.csv"})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				n.Update(recs[i%len(recs)])
				i++
			}
		})
	}
}
