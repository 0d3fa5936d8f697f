package input

import (
	"slices"
	"strings"
	"testing"
)

func lines(l ...string) string { return strings.Join(l, "\n") + "\n" }

var longNDJSON = strings.Repeat("x", 100<<10) // longer than the read buffer

var ndjsonRecordTests = []struct {
	name     string
	in       string
	opts     Options
	columns  []string
	want     []row
	warnings []string
}{{
	name: "strings, null and empty strings",
	in:   lines(`{"id":"1","first_name":"Ann","last_name":null,"email":""}`),
	want: []row{{num: 1, line: 1, vals: map[Field]Value{ID: set("1"), FirstName: set("Ann"), Email: clear}}},
}, {
	name: "nested billing_address",
	in:   lines(`{"id":"2","billing_address":{"line1":"1 Main","city":" Lagos ","country":"","state":null}}`),
	want: []row{{num: 1, line: 1, vals: map[Field]Value{ID: set("2"), Line1: set("1 Main"), City: set(" Lagos "), Country: clear}}},
}, {
	name: "flat dotted keys in any case; billing_address null",
	in:   lines(`{"ID":"3","Billing_Address.Zip_Code":"123"}`, `{"id":"4","billing_address":null}`),
	want: []row{
		{num: 1, line: 1, vals: map[Field]Value{ID: set("3"), ZipCode: set("123")}},
		{num: 2, line: 2, vals: map[Field]Value{ID: set("4")}},
	},
}, {
	name: "BOM, CRLF, blank lines counted",
	in:   "\ufeff{\"id\":\"1\"}\r\n\r\n  \t\n{\"id\":\"2\"}\r\n\n",
	want: []row{
		{num: 1, line: 1, vals: map[Field]Value{ID: set("1")}},
		{num: 4, line: 4, vals: map[Field]Value{ID: set("2")}},
	},
}, {
	name: "no final line break; a line longer than the read buffer",
	in:   `{"id":"1","first_name":"` + longNDJSON + "\"}\n" + `{"id":"2"}`,
	want: []row{
		{num: 1, line: 1, vals: map[Field]Value{ID: set("1"), FirstName: set(longNDJSON)}},
		{num: 2, line: 2, vals: map[Field]Value{ID: set("2")}},
	},
}, {
	name: "id as a whole number, but nothing else",
	in:   lines(`{"id":12345}`, `{"id":1.5}`, `{"id":-3}`, `{"id":"7","phone_number":2348012345678}`),
	want: []row{
		{num: 1, line: 1, vals: map[Field]Value{ID: set("12345")}},
		{num: 2, line: 2, errField: "id", errReason: "must be a string, got number"},
		{num: 3, line: 3, errField: "id", errReason: "must be a string, got number"},
		{num: 4, line: 4, vals: map[Field]Value{ID: set("7")}, errField: "phone_number", errReason: "must be a string, got number"},
	},
}, {
	name: "wrong types",
	in: lines(`{"id":"2","email":{"a":1}}`, `{"id":"3","first_name":true}`, `{"id":"4","last_name":["x"]}`,
		`{"id":"5","billing_address":"1 Main St"}`, `{"id":"6","billing_address":["x"]}`, `{"id":"7","billing_address":{"city":7}}`),
	want: []row{
		{num: 1, line: 1, vals: map[Field]Value{ID: set("2")}, errField: "email", errReason: "must be a string, got object"},
		{num: 2, line: 2, vals: map[Field]Value{ID: set("3")}, errField: "first_name", errReason: "must be a string, got boolean"},
		{num: 3, line: 3, vals: map[Field]Value{ID: set("4")}, errField: "last_name", errReason: "must be a string, got array"},
		{num: 4, line: 4, vals: map[Field]Value{ID: set("5")}, errField: "billing_address", errReason: "must be an object, got string"},
		{num: 5, line: 5, vals: map[Field]Value{ID: set("6")}, errField: "billing_address", errReason: "must be an object, got array"},
		{num: 6, line: 6, vals: map[Field]Value{ID: set("7")}, errField: "billing_address.city", errReason: "must be a string, got number"},
	},
}, {
	name: "not an object",
	in:   lines(`[1,2]`, `"x"`, `42`, `null`, `true`),
	want: []row{
		{num: 1, line: 1, errReason: "must be a JSON object, got array"},
		{num: 2, line: 2, errReason: "must be a JSON object, got string"},
		{num: 3, line: 3, errReason: "must be a JSON object, got number"},
		{num: 4, line: 4, errReason: "must be a JSON object, got null"},
		{num: 5, line: 5, errReason: "must be a JSON object, got boolean"},
	},
}, {
	name: "a syntax error does not derail the next line",
	in:   lines(`{"id":"1",}`, `{"id":"2"}`, `{"id":"3"`, `{"id":"4"} {"id":"5"}`, `{"id":"6"}`),
	want: []row{
		{num: 1, line: 1, vals: map[Field]Value{ID: set("1")}, errReason: "invalid JSON at column 11: invalid character '}' looking for beginning of object key string"},
		{num: 2, line: 2, vals: map[Field]Value{ID: set("2")}},
		{num: 3, line: 3, vals: map[Field]Value{ID: set("3")}, errReason: "invalid JSON: the line ends before the JSON value does"},
		{num: 4, line: 4, vals: map[Field]Value{ID: set("4")}, errReason: "invalid JSON at column 12: invalid character '{' after top-level value"},
		{num: 5, line: 5, vals: map[Field]Value{ID: set("6")}},
	},
}, {
	name: "over-long lines",
	in:   lines(`{"id":"1"}`, `{"id":"`+strings.Repeat("2", 100)+`"}`, `{"id":"3"}`, `{"id":"`+longNDJSON+`"}`, `{"id":"5"}`),
	opts: Options{maxRecord: 32},
	want: []row{
		{num: 1, line: 1, vals: map[Field]Value{ID: set("1")}},
		{num: 2, line: 2, errReason: "line is longer than 32 bytes"},
		{num: 3, line: 3, vals: map[Field]Value{ID: set("3")}},
		{num: 4, line: 4, errReason: "line is longer than 32 bytes"},
		{num: 5, line: 5, vals: map[Field]Value{ID: set("5")}},
	},
}, {
	name: "unknown keys warn once per key",
	in: lines(`{"id":"1","Owner":"x","e-mail":"a"}`, `{"id":"2","Owner":{"n":[1,{"m":2}]}}`,
		`{"id":"3","lead":[1,[2]],"juicebatch_error":"x"}`, `{"id":"4","billing_address":{"Zip Code":"1"}}`),
	want: []row{
		{num: 1, line: 1, vals: map[Field]Value{ID: set("1")}},
		{num: 2, line: 2, vals: map[Field]Value{ID: set("2")}},
		{num: 3, line: 3, vals: map[Field]Value{ID: set("3")}},
		{num: 4, line: 4, vals: map[Field]Value{ID: set("4")}},
	},
	warnings: []string{
		`ignoring key "Owner" (first on line 1): not mapped to any field`,
		`key "e-mail" (line 1) is not mapped; did you mean email? add --column "e-mail=email"`,
		`ignoring key "lead" (first on line 3): not mapped to any field`,
		`key "billing_address.Zip Code" (line 4) is not mapped; did you mean billing_address.zip_code? add --column "billing_address.Zip Code=billing_address.zip_code"`,
	},
}, {
	name:    "strict: an unknown key makes the row invalid",
	in:      lines(`{"id":"1","Owner":"x"}`, `{"id":"2","juicebatch_error":"old","x":null}`, `{"id":"3","phone_numer":"1"}`),
	opts:    Options{Strict: true},
	columns: []string{"x=-"},
	want: []row{
		{num: 1, line: 1, vals: map[Field]Value{ID: set("1")}, errField: "Owner", errReason: "key not mapped to any field (--strict)"},
		{num: 2, line: 2, vals: map[Field]Value{ID: set("2")}},
		{num: 3, line: 3, vals: map[Field]Value{ID: set("3")}, errField: "phone_numer", errReason: "did you mean phone_number?"},
	},
}, {
	name: "duplicate keys",
	in: lines(`{"id":"1","id":"2"}`, `{"id":"1","Email":"a","email":"b"}`, `{"x":1,"x":2,"id":"3"}`,
		`{"id":"4","billing_address":{},"billing_address":null}`, `{"id":"5","billing_address":{"city":"a"},"billing_address.city":"b"}`),
	want: []row{
		{num: 1, line: 1, vals: map[Field]Value{ID: set("1")}, errField: "id", errReason: `duplicate key "id"`},
		{num: 2, line: 2, vals: map[Field]Value{ID: set("1"), Email: set("a")}, errField: "email", errReason: `set twice in one object, by keys "Email" and "email"`},
		{num: 3, line: 3, errField: "x", errReason: `duplicate key "x"`},
		{num: 4, line: 4, vals: map[Field]Value{ID: set("4")}, errField: "billing_address", errReason: `duplicate key "billing_address"`},
		{num: 5, line: 5, vals: map[Field]Value{ID: set("5"), City: set("a")}, errField: "billing_address.city", errReason: `by keys "city" and "billing_address.city"`},
	},
	warnings: []string{`ignoring key "x" (first on line 3): not mapped to any field`},
}, {
	name: "invalid UTF-8 and unpaired surrogates",
	in: lines("{\"id\":\"1\",\"email\":\"a\xffb\"}", "{\"id\":\"2\",\"no\xfete\":\"x\"}", `{"id":"\ud800"}`,
		`{"id":"\ud83d\ude00","first_name":"\\ud800"}`, `{"id":"5","billing_address":{"city":"\udc00x"}}`),
	want: []row{
		{num: 1, line: 1, vals: map[Field]Value{ID: set("1")}, errField: "email", errReason: "not valid UTF-8"},
		{num: 2, line: 2, vals: map[Field]Value{ID: set("2")}, errField: "no\ufffdte", errReason: "key not valid UTF-8"},
		{num: 3, line: 3, errField: "id", errReason: "unpaired UTF-16 surrogate"},
		{num: 4, line: 4, vals: map[Field]Value{ID: set("\U0001F600"), FirstName: set(`\ud800`)}},
		{num: 5, line: 5, vals: map[Field]Value{ID: set("5")}, errField: "billing_address.city", errReason: "unpaired UTF-16 surrogate"},
	},
}, {
	name:    "mapping applies to keys, nested ones by their dotted path",
	in:      lines(`{"Record ID":"R1","billing_address":{"Zip":"9"}}`),
	columns: []string{"Record ID=id", "billing_address.zip=billing_address.zip_code"},
	want:    []row{{num: 1, line: 1, vals: map[Field]Value{ID: set("R1"), ZipCode: set("9")}}},
}, {
	name: "empty input",
	in:   "",
}, {
	name: "blank lines only",
	in:   "\n \r\n\n",
}}

func TestNDJSONRecords(t *testing.T) {
	tests := ndjsonRecordTests
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Mapping = mustMapping(t, tt.columns...)
			recs, warnings, end, err := readAll(t, NDJSON, tt.in, opts)
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			checkRows(t, tt.name, recs, tt.want)
			checkErr(t, tt.name, end, nil)
			if !slices.Equal(warnings, tt.warnings) {
				t.Errorf("Warnings() = %q; want %q", warnings, tt.warnings)
			}
		})
	}
}

func TestNDJSONOpenErrors(t *testing.T) {
	for _, in := range []string{"\xff\xfe{\x00", "\xfe\xff\x00{"} {
		_, err := Open(strings.NewReader(in), NDJSON, Options{Name: "in"})
		checkErr(t, "Open", err, ErrEncoding, "in: file is UTF-16; save it as UTF-8")
		_, err = OpenRaw(strings.NewReader(in), NDJSON, "in")
		checkErr(t, "OpenRaw", err, ErrEncoding, "in: file is UTF-16; save it as UTF-8")
	}
}
