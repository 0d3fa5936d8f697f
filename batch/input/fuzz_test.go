package input

import (
	"testing"
	"unicode/utf8"
)

func utf8Valid(s string) bool { return utf8.ValidString(s) }

var csvSeeds = []string{
	"id,email\n1,a@b.c\n",
	"\ufeffid,email\r\n1,a@b.c\r\n\r\n2,\"x,\"\"y\"\"\nz\"\r\n",
	"id,email\n1\n2,a,b\n3,\"x\"y\n4,x\"y\n5,ok\n",
	"id,email\n1,\"open\n2,x\n",
	"id,\"open\n",
	"id\n\"a\"\"\n\"\n\"b\n",
	"id,email\n1,\xff\n",
	"\xff\xfei\x00d\x00",
	"i\x00d\n",
	"",
	"\n\n",
	",,\n",
	"id,id\n",
	"id;email\n",
	"id\n\"\"\"\n",
	"id\n\r\r\n\r\n1\r",
	"id,x\n1,\"a\"\r\n2,\"b\"\rc\n",
}

var ndjsonSeeds = []string{
	`{"id":"1","email":"a@b.c","billing_address":{"city":"X"}}` + "\n",
	"\ufeff{\"id\":1}\r\n\n[1]\n\"x\"\n{bad\n{\"id\":\"1\",\"id\":\"2\"}\n",
	"{\"id\":\"\xff\"}\n{\"\xfe\":1}\n{\"id\":\"\\ud800\"}\n",
	`{"billing_address":null,"billing_address.city":"x","x":[{"y":{}}]}` + "\n{} {}\n{\"id\":\"1\"",
	"\xff\xfe{\x00",
	"",
	"\n\n\n",
	"{\"id\":\"1\",\"phone_number\":5}\r\n{\"id\":\"2\",\"email\":{}}",
}

func fuzz(f *testing.F, format Format, seeds []string) {
	for _, s := range seeds {
		f.Add([]byte(s), 0)
		f.Add([]byte(s), 16)
	}
	for _, in := range corpus(f)[format] {
		if len(in) <= 4<<10 { // big seeds slow the fuzzer down; TestNumberingAgrees reads them
			f.Add([]byte(in), 0)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, maxRecord int) {
		if maxRecord < 0 || maxRecord > 1<<16 {
			maxRecord = 16
		}
		checkAgreement(t, format, in, maxRecord)
	})
}

// FuzzCSV checks on any input that the CSV readers do not panic, number
// records 1, 2, 3... with rising lines, point every row error at a line of
// 1 or more, and agree with one another (Open, OpenRaw, Raw, ScanIDs).
func FuzzCSV(f *testing.F) { fuzz(f, CSV, csvSeeds) }

// FuzzNDJSON is FuzzCSV for NDJSON.
func FuzzNDJSON(f *testing.F) { fuzz(f, NDJSON, ndjsonSeeds) }
