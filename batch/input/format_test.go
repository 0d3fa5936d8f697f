package input

import (
	"errors"
	"strings"
	"testing"
)

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name, flag string
		want       Format
		errMsg     string
	}{
		{name: "a.csv", want: CSV},
		{name: "dir.x/A.CSV", want: CSV},
		{name: "a.ndjson", want: NDJSON},
		{name: "a.JsonL", want: NDJSON},
		{name: "a.txt", flag: "csv", want: CSV},
		{name: "a.csv", flag: "NDJSON", want: NDJSON},
		{name: "-", flag: "jsonl", want: NDJSON},
		{name: "-", errMsg: "cannot tell the format of stdin: add --format csv or --format ndjson"},
		{name: "a.txt", errMsg: "cannot tell the format of a.txt from its extension"},
		{name: "a.json", errMsg: "add --format ndjson"},
		{name: "noext", errMsg: "add --format csv or --format ndjson"},
		{name: "a.csv", flag: "tsv", errMsg: `unknown format "tsv": want csv, ndjson or jsonl`},
	}
	for _, tt := range tests {
		got, err := DetectFormat(tt.name, tt.flag)
		if tt.errMsg != "" {
			if !errors.Is(err, ErrFormatNeeded) || !strings.Contains(err.Error(), tt.errMsg) {
				t.Errorf("DetectFormat(%q, %q) = %v, %v; want ErrFormatNeeded containing %q", tt.name, tt.flag, got, err, tt.errMsg)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("DetectFormat(%q, %q) = %v, %v; want %v", tt.name, tt.flag, got, err, tt.want)
		}
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		prefix string
		want   Format
		ok     bool
	}{
		{`{"id":"1"}`, NDJSON, true},
		{"\ufeff\n  {\"id\"", NDJSON, true},
		{"id,email\n1,a", CSV, true},
		{"\ufeffid,email", CSV, true},
		{"id,em\xc3", CSV, true}, // a rune cut off by the prefix's end
		{"id\n1,2", 0, false},    // one column: cannot tell
		{`[{"id":"1"}]`, 0, false},
		{"", 0, false},
		{"\xff\xfei\x00,\x00", 0, false},
		{"i\xffd,email\n", 0, false},
	}
	for _, tt := range tests {
		got, ok := Sniff([]byte(tt.prefix))
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("Sniff(%q) = %v, %v; want %v, %v", tt.prefix, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFormatString(t *testing.T) {
	for f, want := range map[Format]string{CSV: "csv", NDJSON: "ndjson", Format(9): "Format(9)"} {
		if got := f.String(); got != want {
			t.Errorf("Format(%d).String() = %q; want %q", int(f), got, want)
		}
	}
}
