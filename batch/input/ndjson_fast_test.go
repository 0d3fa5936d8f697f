package input

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/juicebatch/juicebatch/scripts/benchgen/gen"
)

// fastOptions are the ways the differential tests read each input: the
// fast path depends on the mapping (which keys are fields, ignored, or
// unknown) and on Strict.
func fastOptions(t testing.TB) []Options {
	t.Helper()
	var m Mapping
	for _, c := range []string{
		"Record ID=id", "E-mail=email", "x=-", "billing_address.zip=billing_address.zip_code",
		"billing_address.street=billing_address.line1", "nick=first_name", "billing_address.custid=id",
	} {
		if err := m.AddColumn(c); err != nil {
			t.Fatalf("AddColumn(%q) = %v", c, err)
		}
	}
	var ba Mapping // billing_address itself mapped to a field
	if err := ba.AddColumn("Billing_Address=last_name"); err != nil {
		t.Fatal(err)
	}
	return []Options{
		{Name: "in"},
		{Name: "in", Strict: true},
		{Name: "in", Mapping: m},
		{Name: "in", Mapping: m, Strict: true, maxRecord: 64},
		{Name: "in", Mapping: ba},
	}
}

// fastLines are lines that exercise the fast path's corners (and a few
// just past them), beside the corpus.
var fastLines = []string{
	`{"id":"1","first_name":"Ann","last_name":null,"email":"","phone_number":"+2348012345678"}`,
	` { "id" : "2" , "email" : "a@b.c" } `,
	"\t{\"id\":\"3\"}\t\r",
	`{}`, `{ }`, `{"id":"4",}`, `{"id":"5"}}`, `{"id":"6"} x`, `{"id" "7"}`, `{"id":"8"`, `{"id":"9",`, `{`, `}`, `{"id`,
	`{"id":"\"\\\/\b\f\n\r\t"}`, `{"id":"\u00e9\u20AC\ud83d\ude00\u0000"}`, `{"id":"\uD83D\uDE00x"}`,
	`{"id":"\ud800"}`, `{"id":"\udc00"}`, `{"id":"\ud800\u0041"}`, `{"id":"\ud800\ud800"}`, `{"id":"\ud83d\ude0"}`,
	`{"id":"\u12"}`, `{"id":"\u12g4"}`, `{"id":"\x"}`, `{"id":"\'"}`, `{"id":"a\`, `{"id":"\u"}`,
	"{\"id\":\"a\x01b\"}", "{\"id\":\"a\x7fb\"}", "{\"id\":\"\xc3\xa9\"}", "{\"id\":\"\xc3\"}", "{\"id\":\"\xed\xa0\x80\"}",
	"{\"id\":\"1\",\"\xc3\xa9\":\"x\"}", "{\"id\":\"1\",\"\xff\":\"x\"}", `{"i\u0064":"1"}`, `{"id":"1","\u0078":2}`,
	`{"id":0}`, `{"id":007}`, `{"id":10}`, `{"id":-1}`, `{"id":1.0}`, `{"id":1e3}`, `{"id":1E3}`, `{"id":12345678901234567890123}`,
	`{"id":true}`, `{"id":false}`, `{"id":nul}`, `{"id":nullx}`, `{"id":null}`, `{"id":null,"id":"2"}`, `{"id":[]}`, `{"id":{}}`,
	`{"email":5}`, `{"email":"a","Email":"b"}`, `{"ID":"1"," id ":"2"}`, `{"Record ID":"r","id":"i"}`,
	`{"id":"1","u":null,"v":true,"w":false,"x1":-0.5e+10,"y":[1,"a",{"b":[null]}],"z":{"a":{"b":{}}}}`,
	`{"id":"1","u":-,"v":1}`, `{"id":"1","u":01}`, `{"id":"1","u":1.}`, `{"id":"1","u":1e}`, `{"id":"1","u":.5}`, `{"id":"1","u":+1}`,
	`{"id":"1","u":[1,]}`, `{"id":"1","u":{"a":1,}}`, `{"id":"1","u":{"a"}}`, `{"id":"1","u":{1:2}}`, `{"id":"1","u":[}`,
	`{"id":"1","u":"\ud800"}`, `{"id":"1","u":{"\ud800":1}}`, `{"id":"1","u":"\u00e9"}`, "{\"id\":\"1\",\"u\":\"\xff\"}",
	`{"id":"1","u":1,"u":2}`, `{"id":"1","billing_address.u":1,"billing_address":{"u":2}}`,
	`{"id":"1","x":1,"x":2}`, `{"id":"1","juicebatch_error":"a","juicebatch_error":"b"}`,
	`{"id":"1","billing_address":{"line1":"1 Main","line2":"","city":"Lagos","state":null,"zip_code":"1","country":"NG"}}`,
	`{"id":"1","billing_address":{}}`, `{"id":"1","billing_address":null}`, `{"id":"1","billing_address":"x"}`,
	`{"id":"1","billing_address":{"city":5}}`, `{"id":"1","billing_address":{"zip":"9","street":"s","custid":"c"}}`,
	`{"billing_address":{"custid":"c"},"id":"1"}`, `{"billing_address":{"custid":7}}`,
	`{"id":"1","billing_address":{"billing_address":{"a":1}}}`, `{"id":"1","Billing_Address ":{"city":"c"}}`,
	`{"id":"1","billing_address":{},"billing_address":{}}`, `{"id":"1","billing_address":{"city":"a"},"billing_address.city":"b"}`,
	`{"id":"1","billing_address":{"city":"a","city":"b"}}`, `{"id":"1","billing_address":{"city":"a",}}`,
	`{"id":"1","e-mail":"a","phone_numer":"1","Owner":"o","billing_address":{"Zip Code":"1","citty":"c"}}`,
	`{"id":"1","nick":"n","first_name":"f"}`, `{"Billing_Address":"Smith"}`, `{"Billing_Address":{"city":"c"}}`,
	`{"id":"1","u":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"id":"1","u":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]}`, `{"id":"1","u":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}`,
	`[1]`, `"x"`, `42`, `null`, `true`, `{"id":"1"} {"id":"2"}`, "\ufeff{\"id\":\"1\"}", `{"":"x","id":"1"}`,
	`{"id":"` + strings.Repeat("y", 70) + `"}`,
}

// fastInputs is every input the differential tests read: the corpus, the
// lines above one per line and all in one input, and generated rows.
func fastInputs(t testing.TB) []string {
	t.Helper()
	ins := corpus(t)[NDJSON]
	ins = append(ins, strings.Join(fastLines, "\n")+"\n")
	ins = append(ins, fastLines...)
	var buf bytes.Buffer
	if err := gen.WriteNDJSON(&buf, gen.Options{Rows: 300, Seed: 2, Phones: gen.PhonesMostlyE164}); err != nil {
		t.Fatal(err)
	}
	ins = append(ins, buf.String())
	// More distinct unmapped keys than are warned about, among good and
	// bad lines, so that the cap on warnings is reached on both paths.
	var many strings.Builder
	for i := range maxWarnedKeys + 20 {
		fmt.Fprintf(&many, `{"id":"%d","k%d":1,"k%d":"x"%s}`+"\n", i, i, i+1, []string{"", ",", `,"k0":[}`}[i%3])
	}
	return append(ins, many.String())
}

// compareDecoders reads in with the fast path and with encoding/json alone,
// side by side, and fails unless they give the same records (Num, Line,
// Values, Err and its text), the same warnings at the same time, and the
// same end. It also compares nextID, ScanIDs and the Skimmer with the
// decoder's ids. It returns how many records it compared.
func compareDecoders(t testing.TB, in []byte, opts Options) int {
	t.Helper()
	fast, ferr := openNDJSON(bytes.NewReader(in), opts)
	slow, serr := openNDJSON(bytes.NewReader(in), opts)
	ids, ierr := openNDJSON(bytes.NewReader(in), opts)
	if ferr != nil || serr != nil || ierr != nil {
		if ferr == nil || serr == nil || ferr.Error() != serr.Error() {
			t.Fatalf("%q: openNDJSON = %v and %v", in, ferr, serr)
		}
		return 0
	}
	slow.noFast = true
	type hit struct {
		num int
		id  string
	}
	var want []hit
	var wantSkim []Skim
	var wantRaw []*RawRecord
	n := 0
	for ; ; n++ {
		got, gerr := fast.Next()
		exp, eerr := slow.Next()
		idRec, iderr := ids.nextID()
		if gw, ew := fast.Warnings(), slow.Warnings(); !reflect.DeepEqual(gw, ew) {
			t.Fatalf("%q (%+v): after record %d: Warnings() = %q; the decoder gives %q", in, opts, n, gw, ew)
		}
		if gerr != nil || eerr != nil || iderr != nil {
			if gerr == nil || eerr == nil || iderr == nil || gerr.Error() != eerr.Error() || iderr.Error() != eerr.Error() {
				t.Fatalf("%q (%+v): after %d records: Next() = %v; the decoder's %v; nextID %v", in, opts, n, gerr, eerr, iderr)
			}
			break
		}
		if !reflect.DeepEqual(got, exp) {
			t.Fatalf("%q (%+v): record %d:\nfast    %s\ndecoder %s", in, opts, n, describe(got), describe(exp))
		}
		if idRec.Num != exp.Num || idRec.Line != exp.Line || idRec.Values[ID] != exp.Values[ID] {
			t.Fatalf("%q (%+v): record %d: nextID() = %s; Next gives %s", in, opts, n, describe(idRec), describe(exp))
		}
		if g, w := ids.Raw(), slow.Raw(); !reflect.DeepEqual(g, w) {
			t.Fatalf("%q (%+v): record %d: Raw() after nextID = %+v; after Next %+v", in, opts, n, g, w)
		}
		var id string
		if v := exp.Values[ID]; v.State == Set {
			want = append(want, hit{exp.Num, v.Text})
			id = strings.TrimSpace(v.Text)
		}
		wantSkim = append(wantSkim, Skim{Num: exp.Num, Line: exp.Line, ID: id})
		wantRaw = append(wantRaw, slow.Raw())
	}

	var got []hit
	rows, err := ScanIDs(bytes.NewReader(in), NDJSON, opts, func(num int, id string) { got = append(got, hit{num, id}) })
	_, end := slow.Next()
	if rows != n || !reflect.DeepEqual(got, want) || fmt.Sprint(err) != fmt.Sprint(nilIfEOF(end)) {
		t.Fatalf("%q (%+v): ScanIDs = %v, %d rows, %v; the decoder gives %v, %d rows, %v", in, opts, got, rows, err, want, n, end)
	}
	sk, err := OpenSkim(bytes.NewReader(in), NDJSON, opts)
	if err != nil {
		t.Fatalf("%q: OpenSkim = %v", in, err)
	}
	for i := 0; ; i++ {
		s, err := sk.Next()
		if err != nil {
			if i != len(wantSkim) || err.Error() != end.Error() {
				t.Fatalf("%q (%+v): Skimmer ends after %d records with %v; the decoder after %d with %v", in, opts, i, err, len(wantSkim), end)
			}
			break
		}
		if i >= len(wantSkim) || !reflect.DeepEqual(*s, wantSkim[i]) {
			t.Fatalf("%q (%+v): skim %d = %+v; the decoder gives %+v", in, opts, i, s, wantSkim[min(i, len(wantSkim)-1)])
		}
		if raw := sk.Raw(); !reflect.DeepEqual(raw, wantRaw[i]) {
			t.Fatalf("%q (%+v): skim %d: Raw() = %+v; the decoder gives %+v", in, opts, i, raw, wantRaw[i])
		}
	}
	return n
}

func nilIfEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// fastTaken counts the lines of in that the fast path reads itself.
func fastTaken(t testing.TB, in []byte, opts Options) int {
	t.Helper()
	r, err := openNDJSON(bytes.NewReader(in), opts)
	if err != nil {
		return 0
	}
	n := 0
	for {
		ln, err := r.lines.next()
		if err != nil {
			return n
		}
		if !ln.tooLong && r.fast.decode(r, &Record{Num: ln.num, Line: ln.num}, ln.text, false) {
			n++
		}
	}
}

// TestNDJSONFastAgrees runs the corpus and the lines above through the fast
// path and the decoder, with each set of options.
func TestNDJSONFastAgrees(t *testing.T) {
	records, taken := 0, 0
	for _, opts := range fastOptions(t) {
		for _, in := range fastInputs(t) {
			records += compareDecoders(t, []byte(in), opts)
			taken += fastTaken(t, []byte(in), opts)
		}
	}
	// The comparison means something only if both paths were taken often.
	if taken < 1000 || records-taken < 1000 {
		t.Errorf("compared %d records, %d of them read by the fast path; want over 1000 read by each path", records, taken)
	}
}

// TestNDJSONFastMutations compares the two paths on random mutations of
// every line of the corpus: bytes changed, dropped, doubled, tokens put in.
func TestNDJSONFastMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1))
	var lines []string
	for _, in := range fastInputs(t) {
		for l := range strings.SplitSeq(in, "\n") {
			if len(l) < 2000 {
				lines = append(lines, l)
			}
		}
	}
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	records := 0
	for range rounds {
		var buf bytes.Buffer
		for _, l := range lines {
			buf.WriteString(mutate(rng, l))
			buf.WriteByte('\n')
		}
		for _, opts := range fastOptions(t) {
			records += compareDecoders(t, buf.Bytes(), opts)
		}
	}
	if records < 10000 {
		t.Errorf("compared %d records; want over 10000", records)
	}
}

// mutate changes s in one to three random ways.
func mutate(rng *rand.Rand, s string) string {
	tokens := []string{`"`, `\`, `,`, `:`, `{`, `}`, `[`, `]`, ` `, `null`, `0`, `1`, `-`, `.`, `e`, `\u`, `\ud800`,
		`\udc00`, `\u00e9`, "\xff", "\xc3", "\x00", "\t", `"id":`, `"id":"x",`, `"billing_address":{`, `"x":`, `"Owner":1,`}
	b := []byte(s)
	for range 1 + rng.IntN(3) {
		i := 0
		if len(b) > 0 {
			i = rng.IntN(len(b) + 1)
		}
		switch rng.IntN(5) {
		case 0: // put a token in
			b = append(b[:i], append([]byte(tokens[rng.IntN(len(tokens))]), b[i:]...)...)
		case 1: // replace a byte with a token
			if i < len(b) {
				b = append(b[:i], append([]byte(tokens[rng.IntN(len(tokens))]), b[i+1:]...)...)
			}
		case 2: // drop a few bytes
			j := min(len(b), i+1+rng.IntN(4))
			b = append(b[:i], b[j:]...)
		case 3: // double a stretch (a key, a member)
			j := min(len(b), i+rng.IntN(24))
			b = append(b[:j], append(bytes.Clone(b[i:j]), b[j:]...)...)
		case 4: // flip a bit
			if i < len(b) {
				b[i] ^= 1 << rng.IntN(8)
			}
		}
	}
	return string(b)
}

// FuzzNDJSONFast compares the fast path with the decoder on any input,
// read with one of the sets of options.
func FuzzNDJSONFast(f *testing.F) {
	opts := fastOptions(f)
	for _, in := range fastInputs(f) {
		if len(in) <= 4<<10 {
			for i := range opts {
				f.Add([]byte(in), uint8(i))
			}
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, which uint8) {
		compareDecoders(t, in, opts[int(which)%len(opts)])
	})
}

// TestNDJSONFastTakes checks which lines the fast path reads itself (with
// the values it gives, written by hand) and which it leaves to the decoder.
func TestNDJSONFastTakes(t *testing.T) {
	tests := []struct {
		name string
		line string
		want map[Field]Value // nil: left to the decoder
	}{
		{"generated row", `{"id":"5692161d-100b","first_name":"José","last_name":"O'Brien","email":"","phone_number":null}`,
			map[Field]Value{ID: set("5692161d-100b"), FirstName: set("José"), LastName: set("O'Brien"), Email: clear}},
		{"nested address", `{"id":"1","billing_address":{"line1":"1 Main","city":" Lagos ","country":"","state":null}}`,
			map[Field]Value{ID: set("1"), Line1: set("1 Main"), City: set(" Lagos "), Country: clear}},
		{"dotted keys, case", `{"ID":"3","Billing_Address.Zip_Code":"123"}`, map[Field]Value{ID: set("3"), ZipCode: set("123")}},
		{"escapes", `{"id":"a\"\\\/\b\f\n\r\tz","email":"\u00e9\u20ac\ud83d\ude00"}`,
			map[Field]Value{ID: set("a\"\\/\b\f\n\r\tz"), Email: set("é€\U0001F600")}},
		{"id as a whole number", `{"id":0,"first_name":"A"}`, map[Field]Value{ID: set("0"), FirstName: set("A")}},
		{"white space", " {\t\"id\" :\r\"7\" ,\"email\": null } ", map[Field]Value{ID: set("7")}},
		{"unmapped keys of any type", `{"id":"1","Owner":{"n":[1,-2.5e3,true,false,null,"x\u0041"]},"juicebatch_error":"e"}`,
			map[Field]Value{ID: set("1")}},
		{"empty object", `{}`, map[Field]Value{}},
		{"a number in a field", `{"id":"1","phone_number":2348012345678}`, nil},
		{"a negative id", `{"id":-3}`, nil},
		{"a fractional id", `{"id":1.5}`, nil},
		{"duplicate key", `{"id":"1","id":"2"}`, nil},
		{"duplicate unmapped key", `{"x":1,"x":2,"id":"3"}`, nil},
		{"an escaped key", `{"i\u0064":"1"}`, nil},
		{"unpaired surrogate", `{"id":"\ud800"}`, nil},
		{"invalid UTF-8", "{\"id\":\"1\",\"email\":\"a\xffb\"}", nil},
		{"trailing comma", `{"id":"1",}`, nil},
		{"two objects", `{"id":"4"} {"id":"5"}`, nil},
		{"not an object", `[1,2]`, nil},
		{"deep nesting", `{"id":"1","x":` + strings.Repeat("[", fastMaxDepth+1) + strings.Repeat("]", fastMaxDepth+1) + `}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := openNDJSON(strings.NewReader(""), Options{Name: "in"})
			if err != nil {
				t.Fatal(err)
			}
			rec := &Record{Num: 1, Line: 1}
			took := r.fast.decode(r, rec, []byte(tt.line), false)
			if took != (tt.want != nil) {
				t.Fatalf("fast decode(%q) = %v; want %v", tt.line, took, tt.want != nil)
			}
			if !took {
				if *rec != (Record{Num: 1, Line: 1}) {
					t.Errorf("fast decode(%q) gave up but changed the record: %s", tt.line, describe(rec))
				}
				return
			}
			for f := range NumFields {
				if rec.Values[f] != tt.want[f] {
					t.Errorf("fast decode(%q): %s = %+v; want %+v", tt.line, f, rec.Values[f], tt.want[f])
				}
			}
		})
	}
}

// TestNDJSONFastIDOnly checks that the id-only scan stops at the id: what
// follows it is not read.
func TestNDJSONFastIDOnly(t *testing.T) {
	tests := []struct {
		name string
		line string
		took bool
		id   Value
	}{
		{"what follows the id is not read", `{"id":"a","email":5,"x":[}`, true, set("a")},
		{"not even a syntax error", `{"id":7 , broken`, true, set("7")},
		{"a null id, then a duplicate", `{"id":null,"id":"b"}`, true, Value{}},
		{"the id inside billing_address comes first", `{"email":"e","billing_address":{"custid":"c"},"id":"b"}`, true, set("c")},
		{"a problem before the id", `{"email":5,"id":"a"}`, false, Value{}},
		{"no id", `{"email":"e"}`, true, Value{}},
		{"no id, and a problem", `{"email":"e"} x`, false, Value{}},
		{"a fractional id", `{"id":1.5,"email":"e"}`, false, Value{}},
	}
	var m Mapping
	if err := m.AddColumn("billing_address.custid=id"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := openNDJSON(strings.NewReader(""), Options{Name: "in", Mapping: m})
			if err != nil {
				t.Fatal(err)
			}
			rec := &Record{Num: 1, Line: 1}
			took := r.fast.decode(r, rec, []byte(tt.line), true)
			if took != tt.took || rec.Values[ID] != tt.id {
				t.Errorf("id-only decode(%q) = %v, id %+v; want %v, %+v", tt.line, took, rec.Values[ID], tt.took, tt.id)
			}
		})
	}
}

func BenchmarkNDJSONNextID(b *testing.B) {
	in := ndjsonInput(benchRows)
	b.SetBytes(int64(len(in)))
	rows := 0
	for b.Loop() {
		r, err := openNDJSON(bytes.NewReader(in), Options{Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.nextID(); err != nil {
				break
			}
			rows++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
}

// TestSpecial8 checks the eight-bytes-at-once search against the
// byte-by-byte rule: every byte value at every position among ordinary
// neighbours, and random words made of edge values.
func TestSpecial8(t *testing.T) {
	special := func(c byte) bool { return c < 0x20 || c >= 0x80 || c == '"' || c == '\\' }
	check := func(w [8]byte) {
		want := 8 // none
		for i, c := range w {
			if special(c) {
				want = i
				break
			}
		}
		m := special8(binary.LittleEndian.Uint64(w[:]))
		if got := bits.TrailingZeros64(m) / 8; got != want {
			t.Fatalf("special8(%q) = %#x, the first at %d; want %d", w[:], m, got, want)
		}
	}
	for _, fill := range []byte{0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 'a'} {
		for p := range 8 {
			for c := range 256 {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[p] = byte(c)
				check(w)
			}
		}
	}
	edges := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0x80, 0x81, 0xa2, 0xdc, 0xff, 'a', '0'}
	rng := rand.New(rand.NewPCG(8, 8))
	for range 200000 {
		var w [8]byte
		for i := range w {
			w[i] = edges[rng.IntN(len(edges))]
		}
		check(w)
	}
}
