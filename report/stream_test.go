package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestStreams writes a report far larger than the heap growth it allows: a
// Writer that collected rows in memory would fail it.
func TestStreams(t *testing.T) {
	const rows = 40_000
	dir := t.TempDir()
	w, err := Create(dir, NDJSON, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	errText := strings.Repeat("server said no; ", 8)
	line := []byte(`{"id":"cus_0123456789","email":"someone@example.com","phone_number":"+2348012345678"}`)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 1; i <= rows; i++ {
		if err := w.Result(Result{Row: i, ID: "cus_0123456789", Outcome: "rejected", HTTPStatus: 422, Attempts: 1, Error: errText}); err != nil {
			t.Fatal(err)
		}
		if err := w.FailedNDJSON(line, errText); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if err := w.Commit(summaryFor(CommandApply)); err != nil {
		t.Fatal(err)
	}

	var written int64
	for _, name := range []string{ResultsName, FailedNDJSONName} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		written += fi.Size()
	}
	const limit = 1 << 20
	if written < 8*limit {
		t.Fatalf("wrote only %d bytes; the test needs a report much larger than %d", written, limit)
	}
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > limit {
		t.Errorf("heap grew by %d bytes while writing %d bytes of report; want under %d", grown, written, limit)
	}
}

// FuzzFailedNDJSON checks that any line gives one valid JSON object a line,
// and that an object line keeps its other members' values.
func FuzzFailedNDJSON(f *testing.F) {
	for _, seed := range []string{
		`{"id":"c1","n":1.0}`,
		`{ "juicebatch_error" : "x" , "a" : [1,{"b":"}"}] }`,
		`{"a":"\"\\"}`,
		`[1]`, `"s"`, `{`, `{}`, "\xff{}", "{\"a\":\n1}",
	} {
		f.Add([]byte(seed), "msg")
	}
	f.Fuzz(func(t *testing.T, line []byte, msg string) {
		var buf bytes.Buffer
		appendFailedLine(&buf, nil, line, msg)
		out := buf.Bytes()
		if !json.Valid(out) || !utf8.Valid(out) || bytes.ContainsAny(out, "\r\n") {
			t.Fatalf("line %q gave %q: not one line of valid JSON", line, out)
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("line %q gave %q, not an object: %v", line, out, err)
		}
		if _, ok := got[ErrorColumn]; !ok {
			t.Fatalf("line %q gave %q, no %s", line, out, ErrorColumn)
		}
		var in map[string]any
		if !utf8.Valid(line) || json.Unmarshal(line, &in) != nil || in == nil {
			return
		}
		for k := range in {
			if isErrorName(k) {
				delete(in, k)
			}
		}
		delete(got, ErrorColumn)
		if len(got) != len(in) {
			t.Fatalf("line %q gave %q: members %v; want %v", line, out, got, in)
		}
		for k, v := range in {
			gv, err1 := json.Marshal(got[k])
			wv, err2 := json.Marshal(v)
			if err1 != nil || err2 != nil || !bytes.Equal(gv, wv) {
				t.Fatalf("line %q gave %q: member %q = %s; want %s", line, out, k, gv, wv)
			}
		}
	})
}
