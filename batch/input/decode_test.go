package input

import (
	"reflect"
	"slices"
	"testing"
)

// TestDeferredAgreesWithOpen checks, on the whole corpus and under each
// empty-value rule, that records read with Options.Deferred and then
// decoded (in chunks of 3, across which a file's records are split) equal
// those Open decodes as it reads: the same values from gocsv's cell hook
// as from its tagged fields, the same broken records, the same errors.
func TestDeferredAgreesWithOpen(t *testing.T) {
	var m Mapping
	for _, c := range []string{"Record ID=id", "E-mail=email", "Tel=phone_number"} {
		if err := m.AddColumn(c); err != nil {
			t.Fatal(err)
		}
	}
	checked := 0
	for _, in := range corpus(t)[CSV] {
		for _, clears := range []bool{false, true} {
			opts := Options{Name: "in", Mapping: m, EmptyClears: clears}
			want, wwarn, wend, wopen := readAll(t, CSV, in, opts)
			opts.Deferred = true
			got, gwarn, gend, gopen := readAll(t, CSV, in, opts)
			// Before Decode, a pending record holds its id and nothing else.
			for i, rec := range got {
				if rec.pending == nil || i >= len(want) {
					continue
				}
				var only Record
				only.Values[ID] = want[i].Values[ID]
				if rec.Values != only.Values {
					t.Errorf("%.60q record %d before Decode: %s; want the id alone, %+v", in, i+1, describe(rec), want[i].Values[ID])
				}
			}
			for i := 0; i < len(got); i += 3 {
				Decode(got[i:min(i+3, len(got))])
			}
			if errText(wopen) != errText(gopen) || errText(wend) != errText(gend) || !slices.Equal(wwarn, gwarn) {
				t.Errorf("%.60q: deferred read: open %v, end %v, warnings %q; Open: %v, %v, %q", in, gopen, gend, gwarn, wopen, wend, wwarn)
				continue
			}
			if len(got) != len(want) {
				t.Errorf("%.60q: deferred read gives %d records; Open %d", in, len(got), len(want))
				continue
			}
			for i := range want {
				if !reflect.DeepEqual(*got[i], *want[i]) {
					t.Errorf("%.60q record %d: deferred and decoded %s; Open gives %s", in, i+1, describe(got[i]), describe(want[i]))
				}
				checked++
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d records compared; the corpus should give more", checked)
	}
}

// TestCellHookMatchesTags: gocsv's per-cell hook (UnmarshalCSVWithFields)
// sets, for each tagged field's name, that field and no other.
func TestCellHookMatchesTags(t *testing.T) {
	typ := reflect.TypeFor[csvRow]()
	for i := range typ.NumField() {
		tag := typ.Field(i).Tag.Get("csv")
		var r csvRow
		if err := r.UnmarshalCSVWithFields(tag, "x"); err != nil {
			t.Fatal(err)
		}
		v := reflect.ValueOf(r)
		for j := range typ.NumField() {
			if got, want := v.Field(j).String(), map[bool]string{true: "x"}[i == j]; got != want {
				t.Errorf("hook(%q): %s = %q; want %q", tag, typ.Field(j).Name, got, want)
			}
		}
	}
	var r csvRow
	if err := r.UnmarshalCSVWithFields("", "x"); err != nil || r != (csvRow{}) {
		t.Errorf("hook(\"\") set %+v, %v; want nothing: an unmapped column", r, err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
