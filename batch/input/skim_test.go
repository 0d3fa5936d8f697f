package input

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// TestSkimAgreesWithOpen checks, on the whole corpus, that a Skimmer numbers
// records as Open does, finds the same id, gives the same raw record, and
// stops with the same error.
func TestSkimAgreesWithOpen(t *testing.T) {
	var m Mapping
	for _, c := range []string{"Record ID=id", "E-mail=email"} {
		if err := m.AddColumn(c); err != nil {
			t.Fatal(err)
		}
	}
	checked := 0
	for f, inputs := range corpus(t) {
		for _, in := range inputs {
			opts := Options{Name: "in", Mapping: m}
			rd, oerr := Open(strings.NewReader(in), f, opts)
			sk, serr := OpenSkim(strings.NewReader(in), f, opts)
			if (oerr == nil) != (serr == nil) || (oerr != nil && oerr.Error() != serr.Error()) {
				t.Errorf("%s %.40q: Open error %v, OpenSkim error %v; want the same", f, in, oerr, serr)
				continue
			}
			if oerr != nil {
				continue
			}
			if f == CSV {
				raw, err := OpenRaw(strings.NewReader(in), f, "in")
				if err != nil || !slices.Equal(raw.Header(), sk.Header()) {
					t.Errorf("%.40q: Skimmer.Header() = %q; want %q (err %v)", in, sk.Header(), raw.Header(), err)
				}
			}
			for {
				rec, rerr := rd.Next()
				s, err := sk.Next()
				if (rerr == nil) != (err == nil) || (rerr != nil && rerr.Error() != err.Error()) {
					t.Errorf("%s %.40q: Next errors %v and %v; want the same", f, in, rerr, err)
					break
				}
				if rerr != nil {
					if !errors.Is(rerr, io.EOF) {
						checked++
					}
					break
				}
				checked++
				wantID := ""
				if v := rec.Values[ID]; v.State == Set {
					wantID = strings.TrimSpace(v.Text)
				}
				raw, sraw := rd.(RawSource).Raw(), sk.Raw()
				if s.Num != rec.Num || s.Line != rec.Line || s.ID != wantID || sraw == nil || sraw.Num != raw.Num || sraw.Line != raw.Line || !bytes.Equal(sraw.Text, raw.Text) || !slices.Equal(sraw.Fields, raw.Fields) {
					t.Errorf("%s %.40q row %d: skim %+v (raw %+v); want num %d line %d id %q raw %+v", f, in, rec.Num, s, sraw, rec.Num, rec.Line, wantID, *raw)
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("compared only %d records; the corpus is missing", checked)
	}
}

func BenchmarkSkimCSV(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("id,first_name,email,phone_number\n")
	for i := range 10000 {
		buf.WriteString("c-")
		buf.WriteString(strings.Repeat("x", i%7))
		buf.WriteString(",Ada,ada@example.com,+2348031234567\n")
	}
	data := buf.Bytes()
	b.ResetTimer()
	for b.Loop() {
		sk, err := OpenSkim(bytes.NewReader(data), CSV, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := sk.Next(); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/row")
}
