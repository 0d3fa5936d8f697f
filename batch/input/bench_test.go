package input

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"
)

const benchRows = 10000

func csvInput(rows int) []byte {
	var b bytes.Buffer
	b.WriteString("Record ID,first_name,last_name,email,phone_number,billing_address.line1,billing_address.city,billing_address.country,Owner\r\n")
	for i := range rows {
		fmt.Fprintf(&b, "%d,Ann,\"Smith, Jr\",ann%d@example.com,'+2348012345678,12 Oak St,Lagos,NG,x\r\n", i, i)
	}
	return b.Bytes()
}

func ndjsonInput(rows int) []byte {
	var b bytes.Buffer
	for i := range rows {
		fmt.Fprintf(&b, `{"id":"%d","first_name":"Ann","last_name":"Smith, Jr","email":"ann%d@example.com","phone_number":"+2348012345678","billing_address":{"line1":"12 Oak St","city":"Lagos","country":"NG"},"owner":"x"}`+"\n", i, i)
	}
	return b.Bytes()
}

// benchRead reads in whole b.N times and reports time and allocations per
// row (the ns/op and allocs/op of the framework are per file).
func benchRead(b *testing.B, f Format, in []byte, opts Options) {
	b.SetBytes(int64(len(in)))
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	rows := 0
	for b.Loop() {
		rd, err := Open(bytes.NewReader(in), f, opts)
		if err != nil {
			b.Fatal(err)
		}
		for {
			rec, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil || rec.Err != nil {
				b.Fatalf("Next() = %v, %v", rec, err)
			}
			rows++
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(rows), "allocs/row")
}

func BenchmarkCSV(b *testing.B) {
	var m Mapping
	if err := m.AddColumn("Record ID=id"); err != nil {
		b.Fatal(err)
	}
	benchRead(b, CSV, csvInput(benchRows), Options{Name: "bench.csv", Mapping: m})
}

func BenchmarkNDJSON(b *testing.B) {
	benchRead(b, NDJSON, ndjsonInput(benchRows), Options{Name: "bench.ndjson"})
}

func BenchmarkScanIDsCSV(b *testing.B) {
	in := csvInput(benchRows)
	var m Mapping
	if err := m.AddColumn("Record ID=id"); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	rows := 0
	for b.Loop() {
		n, err := ScanIDs(bytes.NewReader(in), CSV, Options{Name: "bench.csv", Mapping: m}, func(int, string) {})
		if err != nil {
			b.Fatal(err)
		}
		rows += n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
}
