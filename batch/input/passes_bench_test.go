package input_test

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/scripts/benchgen/gen"
)

// The reads of a file a run makes, over the generated rows of
// scripts/benchgen (10k rows in memory): ScanIDs (the first pass: ids
// only), Open/Next (the main pass: every field mapped), OpenSkim/Next (the
// report pass: id and raw row) and OpenRaw/Next (the raw rows alone, the
// least a report pass can read). Each reports ns/row and allocs/row.

const passRows = 10000

type passInput struct {
	name   string
	format input.Format
	data   []byte
}

func passInputs(b *testing.B) []passInput {
	b.Helper()
	var ins []passInput
	for _, f := range []struct {
		name   string
		format input.Format
		write  func(io.Writer, gen.Options) error
	}{{"csv", input.CSV, gen.WriteCSV}, {"ndjson", input.NDJSON, gen.WriteNDJSON}} {
		for _, ph := range []struct {
			name   string
			phones gen.Phones
		}{{"e164", gen.PhonesMostlyE164}, {"national", gen.PhonesNational}} {
			var buf bytes.Buffer
			if err := f.write(&buf, gen.Options{Rows: passRows, Seed: 1, Phones: ph.phones}); err != nil {
				b.Fatal(err)
			}
			ins = append(ins, passInput{f.name + "/" + ph.name, f.format, buf.Bytes()})
		}
	}
	return ins
}

// passLoop runs pass once per iteration and reports per-row figures.
func passLoop(b *testing.B, in passInput, pass func(r io.Reader) int) {
	b.SetBytes(int64(len(in.data)))
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	rows := 0
	for b.Loop() {
		rows += pass(bytes.NewReader(in.data))
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(rows), "allocs/row")
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(rows), "B/row")
}

func BenchmarkPassScanIDs(b *testing.B) {
	for _, in := range passInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			passLoop(b, in, func(r io.Reader) int {
				n, err := input.ScanIDs(r, in.format, input.Options{Name: "bench"}, func(int, string) {})
				if err != nil || n != passRows {
					b.Fatalf("ScanIDs = %d, %v; want %d rows", n, err, passRows)
				}
				return n
			})
		})
	}
}

// BenchmarkPassMain reads every record decoded (Open/Next); "deferred"
// is the main pass's split (Options.Deferred): "read" what the reading
// goroutine does, "read+decode" that and Decode in chunks of 256, the
// work the normalizing goroutines take over.
func BenchmarkPassMain(b *testing.B) {
	for _, mode := range []string{"decoded", "deferred-read", "deferred-read+decode"} {
		for _, in := range passInputs(b) {
			if mode != "decoded" && in.format != input.CSV {
				continue // NDJSON ignores Deferred
			}
			b.Run(mode+"/"+in.name, func(b *testing.B) {
				passLoop(b, in, func(r io.Reader) int {
					rd, err := input.Open(r, in.format, input.Options{Name: "bench", Deferred: mode != "decoded"})
					if err != nil {
						b.Fatal(err)
					}
					n := 0
					chunk := make([]*input.Record, 0, 256)
					flush := func() {
						if mode == "deferred-read+decode" {
							input.Decode(chunk)
						}
						chunk = chunk[:0]
					}
					for {
						rec, err := rd.Next()
						if errors.Is(err, io.EOF) {
							flush()
							return n
						}
						if err != nil {
							b.Fatal(err)
						}
						n++
						if chunk = append(chunk, rec); len(chunk) == cap(chunk) {
							flush()
						}
					}
				})
			})
		}
	}
}

func BenchmarkPassRaw(b *testing.B) {
	for _, in := range passInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			passLoop(b, in, func(r io.Reader) int {
				rd, err := input.OpenRaw(r, in.format, "bench")
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, err := rd.Next()
					if errors.Is(err, io.EOF) {
						return n
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
			})
		})
	}
}

func BenchmarkPassSkim(b *testing.B) {
	for _, in := range passInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			passLoop(b, in, func(r io.Reader) int {
				sk, err := input.OpenSkim(r, in.format, input.Options{Name: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, err := sk.Next()
					if errors.Is(err, io.EOF) {
						return n
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
			})
		})
	}
}
