package batch_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/batch/normalize"
	"github.com/juicebatch/juicebatch/sandbox"
)

// Bits of FuzzRowToRequest's opts.
const (
	fuzzMapping     = 1 << iota // the CRM mapping of testdata/crm-mapping.json
	fuzzEmptyClears             // --empty-clears
	fuzzStrict                  // --strict
	fuzzPhoneRegion             // --phone-region NG
)

// FuzzRowToRequest takes arbitrary bytes through what turns a row into a
// request: input.Open and Next, normalize.Update, Body.MarshalJSON. It
// checks that nothing panics, that every error is the documented type with
// a position, and that every body that comes out is one the API accepts:
// a JSON object of known fields only, for an id that is one safe path
// segment, answered 200 by a real sandbox (a fresh one per body, so that
// email uniqueness, a server-side rule juicebatch cannot know, plays no
// part). It is seeded from testdata/bad and the shipped example.
//
// CI runs it briefly:
//
//	go test -run '^$' -fuzz '^FuzzRowToRequest$' -fuzztime 10s ./batch
func FuzzRowToRequest(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "testdata", "bad", "*"))
	seeds = append(seeds, filepath.Join("..", "testdata", "crm-export.csv"))
	added := 0
	for _, path := range seeds {
		format, err := input.DetectFormat(path, "")
		if err != nil {
			continue // README.md
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		ndjson := format == input.NDJSON
		f.Add(data, ndjson, uint8(0))
		f.Add(data, ndjson, uint8(fuzzMapping|fuzzPhoneRegion))
		f.Add(data, ndjson, uint8(fuzzMapping|fuzzEmptyClears|fuzzStrict|fuzzPhoneRegion))
		added++
	}
	if added < 25 {
		f.Fatalf("seeded from %d files; want the whole testdata/bad corpus", added)
	}
	f.Add([]byte("id,email,phone_number,billing_address.line1,billing_address.city,billing_address.country\n"+
		"a-1,A@Example.COM,0803 123 4567,1 Road,Lagos,Nigeria\n"), false, uint8(fuzzPhoneRegion))
	f.Add([]byte(`{"id":"b-1","first_name":"Zoë","billing_address":{"line1":"1 Road","city":"Leeds","country":"gbr"}}`+"\n"), true, uint8(0))

	crm, err := input.LoadMapping(filepath.Join("..", "testdata", "crm-mapping.json"))
	if err != nil {
		f.Fatal(err)
	}
	norms := map[uint8]*normalize.Normalizer{}
	for opts := range uint8(16) {
		for _, blank := range []bool{false, true} {
			o := normalize.Options{File: "fuzz", BlankClears: blank}
			if opts&fuzzPhoneRegion != 0 {
				o.PhoneRegion = "NG"
			}
			n, err := normalize.New(o)
			if err != nil {
				f.Fatal(err)
			}
			key := opts & fuzzPhoneRegion
			if blank {
				key |= 0x80
			}
			norms[key] = n
		}
	}
	known := map[string]bool{"": true, "billing_address": true}
	for fl := range input.NumFields {
		known[fl.String()] = true
	}

	f.Fuzz(func(t *testing.T, data []byte, ndjson bool, opts uint8) {
		format := input.CSV
		if ndjson {
			format = input.NDJSON
		}
		iopts := input.Options{Name: "fuzz", EmptyClears: opts&fuzzEmptyClears != 0, Strict: opts&fuzzStrict != 0}
		if opts&fuzzMapping != 0 {
			iopts.Mapping = crm
		}
		rd, err := input.Open(bytes.NewReader(data), format, iopts)
		if err != nil {
			var fe *input.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("Open = %v; want a *FileError", err)
			}
			return
		}
		key := opts & fuzzPhoneRegion
		if ndjson || opts&fuzzEmptyClears != 0 {
			key |= 0x80 // as the pipeline: blank clears in NDJSON and with --empty-clears
		}
		norm := norms[key]
		for n := 0; ; n++ {
			if n > len(data)+1 {
				t.Fatalf("more records than bytes")
			}
			rec, err := rd.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				var fe *input.FileError
				if !errors.As(err, &fe) {
					t.Fatalf("Next = %v; want a *FileError", err)
				}
				return
			}
			upd, rowErr := norm.Update(rec)
			if rowErr != nil {
				// A row the reader could not read names the column as the
				// file does; normalize's errors name a canonical field.
				if rowErr.File != "fuzz" || rowErr.Line < 1 || rowErr.Row != rec.Num || rowErr.Reason == "" ||
					(rec.Err == nil && !known[rowErr.Field]) || (rec.Err != nil && rowErr != rec.Err) {
					t.Fatalf("Update(row %d) error %+v; want file fuzz, line ≥ 1, the row, a field and a reason", rec.Num, rowErr)
				}
				continue
			}
			if rec.Err != nil {
				t.Fatalf("Update(row %d) succeeded on a record with Err %v", rec.Num, rec.Err)
			}
			body, err := upd.Body.MarshalJSON()
			if err != nil {
				t.Fatalf("MarshalJSON = %v", err)
			}
			// A country juicebatch does not know is sent as written, with a
			// warning; the sandbox (like a server that wants alpha-2)
			// refuses it. Every other warned value is one the update
			// endpoint takes.
			if slices.ContainsFunc(upd.Warnings, func(w normalize.Warning) bool { return w.Field == "billing_address.country" }) {
				continue
			}
			checkAccepted(t, upd.ID, body)
		}
	})
}

// checkAccepted checks that body is a request the API accepts for id.
func checkAccepted(t *testing.T, id string, body []byte) {
	t.Helper()
	if !sandbox.ValidID(id) {
		t.Fatalf("id %q is not a safe path segment", id)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || len(fields) == 0 {
		t.Fatalf("body %s is not a non-empty JSON object: %v", body, err)
	}
	for k, v := range fields {
		switch k {
		case "first_name", "last_name", "email", "phone_number":
			var s string
			if json.Unmarshal(v, &s) != nil {
				t.Fatalf("body %s: %s is not a string", body, k)
			}
		case "billing_address":
			var a map[string]*string
			if json.Unmarshal(v, &a) != nil || len(a) != 6 {
				t.Fatalf("body %s: billing_address is not an object of six strings", body)
			}
			for _, ak := range []string{"line1", "line2", "city", "state", "zip_code", "country"} {
				if a[ak] == nil {
					t.Fatalf("body %s: billing_address.%s missing or null", body, ak)
				}
			}
		default:
			t.Fatalf("body %s has unknown field %q", body, k)
		}
	}
	sb, err := sandbox.New(sandbox.Options{Keys: []string{testKey}, CreateUnknown: true, Customers: []sandbox.Customer{}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPatch, "/customers/"+url.PathEscape(id), bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json;version=1")
	rec := httptest.NewRecorder()
	sb.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("sandbox answered %d to PATCH /customers/%s %s: %s", rec.Code, id, body, strings.TrimSpace(rec.Body.String()))
	}
}
