package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/juicebatch/juicebatch/sandbox"
)

// Issue 5, at the command line: the corpus of broken inputs under
// testdata/bad run through the real `apply` against a sandbox,
// and the API key looked for in everything the tool writes.

// canary is a recognisable API key; canaryCore is the part no fingerprint,
// hash or id could hold by chance, so a truncated leak is caught too.
const (
	canary     = "test_LEAKCANARY_1234567890"
	canaryCore = "LEAKCANARY"
)

func badFile(name string) string {
	return filepath.Join("..", "..", "testdata", "bad", name)
}

// recordingSandbox is a fresh sandbox that accepts canary and records the
// raw request-target of every request.
type recordingSandbox struct {
	*httptest.Server
	sb   *sandbox.Server
	mu   sync.Mutex
	uris []string
}

func newRecordingSandbox(t *testing.T, keys ...string) *recordingSandbox {
	t.Helper()
	if keys == nil {
		keys = []string{canary}
	}
	sb, err := sandbox.New(sandbox.Options{Keys: keys, CreateUnknown: true, PerMinute: 1 << 20, PerDay: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rs := &recordingSandbox{sb: sb}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.uris = append(rs.uris, r.RequestURI)
		rs.mu.Unlock()
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *recordingSandbox) seen() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Clone(rs.uris)
}

// rowWant is one line of results.csv: its outcome and, for an invalid row,
// what its error says after the file name: ":LINE: FIELD: reason"; for a
// row sent with a warning, what its warnings begin with.
type rowWant struct {
	outcome, err, warn string
}

func upd() rowWant                  { return rowWant{outcome: "updated"} }
func invalid(err string) rowWant    { return rowWant{outcome: "invalid", err: err} }
func warned(warn string) rowWant    { return rowWant{outcome: "updated", warn: warn} }
func sentTo(ids ...string) []string { return ids }

// corpusCases says, for every file of the corpus, what apply does with it.
// The expectations are written by hand from the input and normalize rules
// (and testdata/bad/README.md says the same in prose).
var corpusCases = []struct {
	file   string
	args   []string
	code   int
	stderr string    // for a file-level problem: what stderr says after the file name
	rows   []rowWant // results.csv, in order (nil: no report, nothing read)
	sent   []string  // ids the server got, once each
	// merged, when set, is a customer the server must hold afterwards.
	merged *sandbox.Customer
}{
	{file: "bare_quotes.csv", code: exitRowsBad, rows: []rowWant{upd(),
		invalid(`:3: bare " in a field without quotes at column 8`),
		invalid(`:4: extraneous or missing " in a quoted field at column 24`), upd()}, sent: sentTo("bq-1", "bq-4")},
	{file: "binary.csv", code: exitFatal, stderr: ":1: header: column 1 is not valid UTF-8"},
	// It begins with gzip's magic bytes, so it is read as gzip, and its
	// deflate data is broken: a file problem, found before sending.
	{file: "binary.ndjson", code: exitFatal, stderr: ": read: gzip data corrupt at compressed byte 20: flate: corrupt input before offset 10"},
	{file: "truncated.csv.gz", code: exitFatal, stderr: ": read: gzip data cut off (truncated) at compressed byte 1413: unexpected EOF"},
	{file: "corrupt.ndjson.gz", code: exitFatal, stderr: ": read: gzip data corrupt at compressed byte 2998: gzip: invalid checksum"},
	{file: "blank_lines_only.csv", code: exitFatal, stderr: ": file is empty: a CSV file needs a header line"},
	{file: "blank_lines_only.ndjson", code: exitOK, rows: []rowWant{}},
	{file: "bom_mid.csv", code: exitRowsBad, rows: []rowWant{upd(),
		invalid(`:3: id: contains U+FEFF; only A-Z, a-z, 0-9, "_" and "-" are allowed: "\ufeffbm-2"`),
		warned(`email: contains a byte-order mark (U+FEFF; were two files joined?)`),
		warned(`billing_address.city: contains a byte-order mark (U+FEFF; were two files joined?)`)}, sent: sentTo("bm-1", "bm-3", "bm-4")},
	{file: "bom_twice.csv", code: exitOK, rows: []rowWant{upd()}, sent: sentTo("bt-1")},
	{file: "bom_utf16be.csv", code: exitFatal, stderr: ": file is UTF-16; save it as UTF-8"},
	{file: "bom_utf16le.ndjson", code: exitFatal, stderr: ": file is UTF-16; save it as UTF-8"},
	{file: "bom_utf8.ndjson", code: exitOK, rows: []rowWant{upd()}, sent: sentTo("bn-1")},
	{file: "bom_utf8_crlf.csv", code: exitOK, rows: []rowWant{upd(), upd()}, sent: sentTo("bom-1", "bom-2")},
	{file: "control_chars.csv", code: exitOK, rows: []rowWant{
		warned(`first_name: contains a NUL byte (U+0000): "An\x00n"`),
		warned(`billing_address.line1: contains a line break (U+000A)`),
		warned(`first_name: contains control character U+001B`), upd()}, sent: sentTo("cc-1", "cc-2", "cc-3", "cc-4")},
	{file: "control_chars.csv", args: []string{"--strict-values"}, code: exitRowsBad, rows: []rowWant{
		invalid(`:2: first_name: contains a NUL byte (U+0000): "An\x00n"`),
		invalid(`:3: billing_address.line1: contains a line break (U+000A)`),
		invalid(`:5: first_name: contains control character U+001B`), upd()}, sent: sentTo("cc-4")},
	{file: "deep_nesting.ndjson", code: exitOK, stderr: `ignoring key \"extra\"`, rows: []rowWant{upd(), upd(), upd()}, sent: sentTo("dn-1", "dn-2", "dn-3")},
	{file: "duplicate_headers.csv", code: exitFatal, stderr: `:1: columns "email" (2) and "Email" (3) both map to email`},
	{file: "duplicate_keys.ndjson", code: exitRowsBad, rows: []rowWant{
		invalid(`:1: email: duplicate key "email"`),
		invalid(`:2: billing_address.city: set twice in one object, by keys "city" and "billing_address.city"`),
		invalid(`:3: email: set twice in one object, by keys "Email" and "email"`), upd()}, sent: sentTo("dk-4")},
	{file: "empty.csv", code: exitFatal, stderr: ": file is empty"},
	{file: "empty.ndjson", code: exitOK, rows: []rowWant{}},
	{file: "field_counts.csv", code: exitRowsBad, rows: []rowWant{upd(),
		invalid(":3: expected 3 fields, found 2"), invalid(":4: expected 3 fields, found 4"), upd()}, sent: sentTo("fc-1", "fc-4")},
	{file: "header_only.csv", code: exitOK, rows: []rowWant{}},
	{file: "hostile_ids.csv", code: exitRowsBad, rows: []rowWant{
		invalid(`:2: id: contains "/"`), invalid(`:3: id: contains "."`), invalid(`:4: id: contains "%"`),
		invalid(`:5: id: contains "?"`), invalid(`:6: id: contains "#"`), invalid(`:7: id: contains a space`),
		invalid(`:8: id: longer than 64 characters: 300 characters`), invalid(`:9: id: contains "é"`),
		invalid(`:10: id: contains "."`), invalid(`:11: id: missing`), upd()}, sent: sentTo("ok-1")},
	{file: "hostile_ids.ndjson", code: exitRowsBad, rows: []rowWant{
		invalid(`:1: id: contains "/"`), invalid(`:2: id: contains "."`), invalid(`:3: id: contains "."`),
		invalid(`:4: id: contains "%"`), invalid(`:5: id: contains "?"`), invalid(`:6: id: contains "#"`),
		invalid(`:7: id: contains a space`), invalid(`:8: id: longer than 64 characters: 300 characters`),
		invalid(`:9: id: contains U+0000`), invalid(`:10: id: missing`),
		invalid(`:11: id: must be a string, got number`), upd()}, sent: sentTo("ok-n")},
	{file: "invalid_utf8.csv", code: exitRowsBad, stderr: "ignoring columns not mapped to any field: notes", rows: []rowWant{upd(),
		invalid(":3: first_name: not valid UTF-8"), invalid(":4: notes: not valid UTF-8"), invalid(":5: id: not valid UTF-8"), upd()},
		sent: sentTo("iu-1", "iu-5")},
	{file: "invalid_utf8.ndjson", code: exitRowsBad, rows: []rowWant{
		invalid(":1: first_name: not valid UTF-8"),
		invalid(`:2: first_name: holds a \u escape of an unpaired UTF-16 surrogate`),
		invalid(":3: no\ufffdte: key not valid UTF-8"), upd()}, sent: sentTo("iu-4")},
	{file: "mixed.csv", code: exitFatal, stderr: `:1: no column maps to id; the columns are "Record ID", "E-mail", "Owner"; if "Record ID" holds the customer id, add --column "Record ID=id"`},
	{file: "mixed.csv", args: []string{"--column", "Record ID=id", "--column", "E-mail=email"}, code: exitRowsBad, rows: []rowWant{upd(),
		invalid(`:3: bare " in a field without quotes at column 4`), invalid(":4: expected 3 fields, found 1"),
		invalid(":5: email: not valid UTF-8"), invalid(`:6: email: `)}, sent: sentTo("1")},
	{file: "mixed.ndjson", code: exitRowsBad, rows: []rowWant{upd(),
		invalid(":3: invalid JSON at column 11"), invalid(":4: must be a JSON object, got array"),
		invalid(`:5: id: duplicate key "id"`), invalid(":6: phone_number: must be a string, got number"),
		invalid(":7: id: not valid UTF-8"), invalid(":8: billing_address: must be an object, got string")}, sent: sentTo("1")},
	{file: "no_id_column.csv", code: exitFatal, stderr: `:1: no column maps to id; the columns are "email", "first_name"`},
	{file: "not_objects.ndjson", code: exitRowsBad, rows: []rowWant{
		invalid(":1: must be a JSON object, got array"), invalid(":2: must be a JSON object, got string"),
		invalid(":3: must be a JSON object, got number"), invalid(":4: must be a JSON object, got null"),
		invalid(":5: must be a JSON object, got boolean"), upd()}, sent: sentTo("na-6")},
	{file: "nothing_to_update.csv", code: exitRowsBad, rows: []rowWant{
		invalid(":2: no fields to update"), invalid(":3: no fields to update"), upd()}, sent: sentTo("nu-3")},
	{file: "repeated_ids.csv", code: exitRowsBad, rows: []rowWant{upd(), upd(), upd(),
		invalid(`:5: email: not an email address (no "@"): "bad-email"`), upd()}, sent: sentTo("r-1", "r-2"),
		merged: &sandbox.Customer{ID: "r-1", FirstName: "Ann", Email: "last@example.com", PhoneNumber: "+2348031234567"}},
	{file: "repeated_ids.ndjson", code: exitOK, rows: []rowWant{upd(), upd(), upd(), upd()}, sent: sentTo("rn-1", "rn-2"),
		merged: &sandbox.Customer{ID: "rn-1", FirstName: "Ann", Email: "last@example.com",
			BillingAddress: &sandbox.Address{Line1: "1 Road", City: "Lagos", Country: "NG"}}},
	{file: "semicolons.csv", code: exitFatal, stderr: `the header is one column holding ";": fields must be separated by commas`},
	{file: "syntax_errors.ndjson", code: exitRowsBad, rows: []rowWant{upd(),
		invalid(":2: invalid JSON at column 40"), invalid(":3: invalid JSON at column 2"),
		invalid(":4: invalid JSON: the line ends before the JSON value does"),
		invalid(":5: invalid JSON at column 15: invalid character '{' after top-level value"), upd(),
		invalid(":7: invalid JSON: the line ends before the JSON value does")}, sent: sentTo("se-1", "se-7")},
	{file: "unknown_columns.csv", code: exitOK, stderr: `column \"phone_numer\" is not mapped; did you mean phone_number?`, rows: []rowWant{upd()}, sent: sentTo("uc-1")},
	{file: "unknown_columns.csv", args: []string{"--strict"}, code: exitFatal, stderr: `:1: --strict: columns not mapped to any field: e-mail, phone_numer, Nickname`},
	{file: "unknown_fields.ndjson", code: exitOK, stderr: `key \"phone_numer\" (line 2) is not mapped; did you mean phone_number?`, rows: []rowWant{upd(), upd(), upd()},
		sent: sentTo("uf-1", "uf-2", "uf-3")},
	{file: "unknown_fields.ndjson", args: []string{"--strict"}, code: exitRowsBad, rows: []rowWant{
		invalid(":1: nickname: key not mapped to any field (--strict)"), invalid(":2: phone_numer: key not mapped to any field (--strict)"),
		invalid(":3: billing_address.street: key not mapped to any field (--strict)")}},
	{file: "unterminated_quote.csv", code: exitFatal, stderr: `:3: quoted field opened at line 3, column 3 is never closed`},
	{file: "unterminated_quote_last.csv", code: exitFatal, stderr: `:3: quoted field opened at line 3, column 6 is never closed`},
	{file: "utf16.csv", code: exitFatal, stderr: ": file is UTF-16; save it as UTF-8"},
	{file: "wrong_types.ndjson", code: exitRowsBad, rows: []rowWant{
		invalid(":1: phone_number: must be a string, got number"), invalid(":2: billing_address: must be an object, got string"),
		invalid(":3: email: must be a string, got array"), invalid(":4: first_name: must be a string, got boolean"),
		invalid(":5: id: must be a string, got number"), invalid(":6: id: must be a string, got object"),
		invalid(":7: billing_address.city: must be a string, got number"), upd()}, sent: sentTo("808")},
}

// safeTarget is the only request-target the server may ever see: one
// customer segment that is a valid id.
var safeTarget = regexp.MustCompile(`^/customers/[A-Za-z0-9_-]{1,64}$`)

// TestCorpus runs `apply` against a sandbox on every file of the corpus
// and checks the exit code, what stderr or results.csv says (line, field,
// problem), what the server received, and that the key appears nowhere.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(badFile("*"))
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, tc := range corpusCases {
		covered[filepath.Base(tc.file)] = true
	}
	for _, f := range files {
		if name := filepath.Base(f); name != "README.md" && !covered[name] {
			t.Errorf("%s has no case in corpusCases", name)
		}
	}
	if len(files) < 26 {
		t.Errorf("the corpus has %d files; want at least 25 and its README", len(files))
	}
	for _, tc := range corpusCases {
		name := strings.Join(append([]string{tc.file}, tc.args...), " ")
		t.Run(name, func(t *testing.T) {
			srv := newRecordingSandbox(t)
			dir := t.TempDir()
			path := badFile(tc.file)
			args := append([]string{"apply", "--base-url", srv.URL, "--rate", "1000/s", "--log-level", "debug", "--log-format", "json", "--no-progress"}, tc.args...)
			got := invoke(t, dir, map[string]string{"JUICEBATCH_API_KEY": canary}, append(args, path)...)
			if got.code != tc.code {
				t.Errorf("exit %d; want %d\nstdout: %s\nstderr: %s", got.code, tc.code, got.stdout, got.stderr)
			}
			if tc.stderr != "" && !strings.Contains(got.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, got.stderr)
			}
			if tc.rows == nil { // a file-level problem: named, and nothing sent
				if !strings.Contains(got.stderr, "juicebatch apply: "+path) {
					t.Errorf("stderr does not name the file %s:\n%s", path, got.stderr)
				}
				if n := len(srv.seen()); n != 0 {
					t.Errorf("server saw %d requests; want 0", n)
				}
			} else {
				checkCorpusReport(t, filepath.Join(dir, "report"), path, tc.rows)
			}
			var ids []string
			for _, uri := range srv.seen() {
				if !safeTarget.MatchString(uri) {
					t.Errorf("server saw request-target %q; want only /customers/<a valid id>", uri)
				}
				ids = append(ids, strings.TrimPrefix(uri, "/customers/"))
			}
			slices.Sort(ids)
			if want := slices.Sorted(slices.Values(tc.sent)); !slices.Equal(ids, want) {
				t.Errorf("server got ids %q; want %q, once each", ids, want)
			}
			if w := tc.merged; w != nil {
				if c, ok := srv.sb.Customer(w.ID); !ok || !sameCustomer(c, *w) {
					t.Errorf("customer %s = %+v (address %+v); want %+v (address %+v): the rows merged in file order", w.ID, c, c.BillingAddress, *w, w.BillingAddress)
				}
			}
			if n := checkNoLeak(t, "apply "+name, got, dir); tc.rows != nil && n < 4 {
				t.Errorf("scanned %d files; want the state and the report's three", n)
			}

			// plan reads the same file the same way, sends nothing, and
			// leaks nothing either.
			planDir := t.TempDir()
			plan := invoke(t, planDir, map[string]string{"JUICEBATCH_API_KEY": canary},
				append([]string{"plan", "--log-level", "debug", "--log-format", "json", "--no-progress"}, append(tc.args, path)...)...)
			if wantPlan := tc.code; plan.code != wantPlan {
				t.Errorf("plan exit %d; want %d (as apply, everything being sendable)\n%s", plan.code, wantPlan, plan.stderr)
			}
			checkNoLeak(t, "plan "+name, plan, planDir)
		})
	}
}

func sameCustomer(a, b sandbox.Customer) bool {
	if (a.BillingAddress == nil) != (b.BillingAddress == nil) || (a.BillingAddress != nil && *a.BillingAddress != *b.BillingAddress) {
		return false
	}
	a.BillingAddress, b.BillingAddress = nil, nil
	return a == b
}

func checkCorpusReport(t *testing.T, reportDir, path string, want []rowWant) {
	t.Helper()
	f, err := os.Open(filepath.Join(reportDir, "results.csv"))
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read results.csv: %v", err)
	}
	rows := recs[1:]
	if len(rows) != len(want) {
		t.Fatalf("results.csv has %d rows; want %d:\n%q", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r[2] != w.outcome {
			t.Errorf("row %s outcome %s (%q); want %s", r[0], r[2], r[6], w.outcome)
		}
		if w.err != "" && !strings.HasPrefix(r[6], path+w.err) {
			t.Errorf("row %s error %q; want it to begin %q", r[0], r[6], path+w.err)
		}
		if got := r[7]; !strings.HasPrefix(got, w.warn) || (w.warn == "") != (got == "") {
			t.Errorf("row %s warnings %q; want them to begin %q", r[0], got, w.warn)
		}
	}
}

// checkNoLeak looks for the key in an invocation's stdout and stderr and in
// every file under dirs (report, state, spools), byte for byte, and returns
// how many files it read. The key file itself is not looked at.
func checkNoLeak(t *testing.T, what string, got invocation, dirs ...string) int {
	t.Helper()
	for name, s := range map[string]string{"stdout": got.stdout, "stderr": got.stderr} {
		if strings.Contains(s, canaryCore) {
			t.Errorf("%s: the key is in %s:\n%s", what, name, s)
		}
		if strings.Contains(s, "panic:") || strings.Contains(s, "goroutine ") {
			t.Errorf("%s: %s shows a panic:\n%s", what, name, s)
		}
	}
	scanned := 0
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() == keyFileName {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			scanned++
			if bytes.Contains(b, []byte(canaryCore)) {
				t.Errorf("%s: the key is in %s", what, p)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: scan %s: %v", what, dir, err)
		}
	}
	return scanned
}

// keyFileName is the --api-key-file of TestKeyNeverLeaks.
const keyFileName = "api-key"

// echoServer answers every request in a way that repeats the Authorization
// header back: in a JSON error (message, details, request id), in a plain
// text 500, in a 2xx that is not JSON, in a redirect's Location, in an
// X-Request-Id; by the path's id. "401" answers everything with a 401 that
// echoes the header.
func echoServer(t *testing.T, mode string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		auth := r.Header.Get("Authorization")
		if !strings.Contains(auth, canary) {
			t.Errorf("echo server got Authorization %q; want the canary key", auth)
		}
		bare := strings.TrimPrefix(auth, "Bearer ")
		if mode == "401" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":{"code":"unauthorized","message":"bad key %s","request_id":"req_%s"}}`, auth, bare)
			return
		}
		switch strings.TrimPrefix(r.URL.Path, "/customers/") {
		case "e-422":
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprintf(w, `{"error":{"code":"validation_error","message":"got %s","details":{"email":["header %s"]},"request_id":"%s"}}`, auth, auth, bare)
		case "e-500":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "<pre>Authorization: %s</pre>", auth)
		case "e-200":
			fmt.Fprintf(w, "OK %s", auth)
		case "e-302":
			w.Header().Set("Location", "https://elsewhere.example/"+url.PathEscape(bare)+"/customers/e-302?k="+bare)
			w.WriteHeader(http.StatusFound)
		case "e-409":
			w.Header().Set("X-Request-Id", auth)
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"error":{"code":"conflict","message":"conflict"}}`)
		default:
			fmt.Fprintf(w, `{"data":{"id":%q,"note":%q}}`, strings.TrimPrefix(r.URL.Path, "/customers/"), auth)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestKeyNeverLeaks runs every command with the canary key, from the
// environment and from a key file, with both auth schemes, against the
// sandbox, a server that rejects the key, servers that echo it back, an
// untrusted certificate and a closed port, all at debug level, and finds
// it in no output and no file.
func TestKeyNeverLeaks(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, keyFileName)
	if err := os.WriteFile(keyFile, []byte(canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(input, []byte("id,email,phone_number\n"+
		"e-422,a@example.com,+2348031234567\ne-500,b@example.com,\ne-200,c@example.com,\n"+
		"e-302,d@example.com,\ne-409,e@example.com,\ne-ok,f@example.com,\nbad id,g@example.com,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sb := newRecordingSandbox(t)
	wrongKey := newRecordingSandbox(t, "test_some_other_key")
	echo := echoServer(t, "")
	echo401 := echoServer(t, "401")
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	envKey := map[string]string{"JUICEBATCH_API_KEY": canary}
	fileKey := []string{"--api-key-file", keyFile}
	type run struct {
		name  string
		env   map[string]string
		args  []string // without --state and --report
		stdin string
		code  int
	}
	// --full --new-run: every run sends, whatever its state says. Only the
	// runs against the echo server retry (each retry waits a second), so
	// that "will retry" log lines, which quote the answer, are covered.
	common := []string{"--rate", "1000/s", "--log-level", "debug", "--no-progress", "--full", "--new-run"}
	var runs []run
	for _, scheme := range []string{"bearer", "plain"} {
		for _, key := range []struct {
			name string
			env  map[string]string
			args []string
		}{{"env", envKey, nil}, {"file", nil, fileKey}} {
			with := func(format string, retries int, args ...string) []string {
				return append(append(append([]string{"--auth-scheme", scheme, "--log-format", format, "--max-retries", fmt.Sprint(retries)},
					key.args...), common...), args...)
			}
			sbCode := exitRowsBad // the row "bad id"
			if scheme == "plain" {
				sbCode = exitFatal // the sandbox wants "Bearer KEY": 401
			}
			runs = append(runs,
				run{"apply sandbox " + scheme + " " + key.name, key.env, append([]string{"apply"}, with("json", 0, "--base-url", sb.URL, input)...), "", sbCode},
				run{"apply wrong key " + scheme + " " + key.name, key.env, append([]string{"apply"}, with("text", 0, "--base-url", wrongKey.URL, input)...), "", exitFatal},
				// The echo server's redirect stops the run (exit 1) wherever
				// it comes; the rows before it are answered and reported.
				run{"apply echo " + scheme + " " + key.name, key.env, append([]string{"apply"}, with("json", 1, "--base-url", echo.URL, input)...), "", exitFatal},
				run{"apply echo 401 " + scheme + " " + key.name, key.env, append([]string{"apply"}, with("text", 0, "--base-url", echo401.URL, input)...), "", exitFatal},
				run{"apply stdin echo " + scheme + " " + key.name, key.env, append([]string{"apply"}, with("json", 0, "--base-url", echo.URL, "--format", "csv", "-")...),
					"id,email\ne-422,a@example.com\ne-302,b@example.com\n", exitFatal},
				run{"apply untrusted TLS " + scheme + " " + key.name, key.env, append([]string{"apply"}, with("json", 0, "--base-url", tlsSrv.URL, input)...), "", exitFatal},
				run{"apply closed port " + scheme + " " + key.name, key.env, append([]string{"apply"}, with("text", 0, "--base-url", closedURL, input)...), "", exitRowsBad},
				run{"plan " + scheme + " " + key.name, key.env, append([]string{"plan"}, with("json", 0, "--base-url", sb.URL, input)...), "", exitRowsBad},
			)
		}
	}
	runs = append(runs,
		run{"apply --sandbox with a key in the environment", envKey, append([]string{"apply", "--sandbox", "--log-format", "json"}, append(common, input)...), "", exitRowsBad},
		run{"apply usage error", envKey, []string{"apply", "--bogus", input}, "", exitUsage},
		run{"apply key pasted into the base URL", envKey, append([]string{"apply", "--base-url", "https://api.example.com/?api_key=" + canary}, append(common, input)...), "", exitFatal},
	)
	// Each run has its own state file and report, so they run side by
	// side; status then reads that state file.
	t.Run("runs", func(t *testing.T) {
		for i, rn := range runs {
			t.Run(rn.name, func(t *testing.T) {
				t.Parallel()
				state := filepath.Join(dir, fmt.Sprintf("state-%02d", i), "juicebatch.db")
				report := filepath.Join(dir, fmt.Sprintf("report-%02d", i))
				args := append(rn.args[:1:1], append([]string{"--state", state, "--report", report}, rn.args[1:]...)...)
				got := invokeWith(t, rn.stdin, rn.env, args...)
				if got.code != rn.code {
					t.Errorf("exit %d; want %d\nstdout: %s\nstderr: %s", got.code, rn.code, got.stdout, got.stderr)
				}
				checkNoLeak(t, rn.name, got)
				if strings.Contains(rn.name, "echo") && rn.code != exitFatal {
					// The server did echo it: the report shows where it was cut out.
					if b, _ := os.ReadFile(filepath.Join(report, "results.csv")); !bytes.Contains(b, []byte("[redacted]")) {
						t.Errorf("results.csv shows no [redacted]; did the echo server echo?\n%s", b)
					}
				}
				if strings.Contains(rn.name, "401") && !strings.Contains(got.stderr, "[redacted]") {
					t.Errorf("stderr %q; want the echoed 401 shown with the key cut out", got.stderr)
				}
				if _, err := os.Stat(state); err != nil || rn.args[0] != "apply" {
					return
				}
				for _, extra := range [][]string{nil, {"--json"}} {
					st := invokeWith(t, "", rn.env, append([]string{"status", "--state", state}, extra...)...)
					if st.code != exitOK || !strings.Contains(st.stdout, "test_") {
						t.Errorf("status %v = %d:\n%s%s; want 0 and the key's fingerprint", extra, st.code, st.stdout, st.stderr)
					}
					checkNoLeak(t, "status after "+rn.name, st)
				}
			})
		}
	})
	// Every file any run left: reports, the state files (raw bytes), spools.
	if n := checkNoLeak(t, "files", invocation{}, dir); n < 2*len(runs) {
		t.Errorf("scanned %d files; want the reports of %d runs and their state", n, len(runs))
	}

	// The sandbox command: its key comes from --keys or the environment;
	// its log lines name a key by position, never by value.
	for _, how := range []string{"flag", "env"} {
		t.Run("sandbox "+how, func(t *testing.T) {
			var stderr syncBuffer
			args, env := []string{"--listen", "127.0.0.1:0", "--seed", "1"}, map[string]string(nil)
			if how == "flag" {
				args = append(args, "--keys", canary)
			} else {
				env = map[string]string{"JUICEBATCH_SANDBOX_KEYS": canary}
			}
			base, out, cancel, code := startSandbox(t, args, env, &stderr)
			for _, auth := range []string{"Bearer " + canary, "Bearer " + canary + "x", canary, "Basic " + canary} {
				req, _ := http.NewRequest(http.MethodPatch, base+"/customers/c-1", strings.NewReader(`{"email":"a@example.com"}`))
				req.Header.Set("Authorization", auth)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if bytes.Contains(body, []byte(canaryCore)) {
					t.Errorf("sandbox answer to %q holds the key: %s", auth, body)
				}
			}
			cancel()
			if c := <-code; c != exitOK {
				t.Errorf("sandbox exit %d; want 0", c)
			}
			rest, _ := io.ReadAll(out)
			checkNoLeak(t, "sandbox "+how, invocation{code: exitOK, stdout: string(rest), stderr: stderr.String()})
			if !strings.Contains(stderr.String(), "key#1") {
				t.Errorf("sandbox log %q; want requests logged by key position", stderr.String())
			}
		})
	}
}

// invokeWith is invoke with a standard input and no added flags.
func invokeWith(t *testing.T, stdin string, env map[string]string, args ...string) invocation {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, stdio{in: strings.NewReader(stdin), out: &out, err: &errb, getenv: envOf(env)})
	return invocation{code, out.String(), errb.String()}
}

// TestBaseURLSchemes: plain http only to a loopback address, at the
// command line; a refused URL sends nothing.
func TestBaseURLSchemes(t *testing.T) {
	srv := newRecordingSandbox(t)
	u, _ := url.Parse(srv.URL)
	port := u.Port()
	input := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(input, []byte("id,email\nu-1,a@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, base string
		env        bool // from JUICEBATCH_BASE_URL instead of the flag
		code       int
		stderr     string
	}{
		{name: "http to a host name", base: "http://api.example.com", code: exitFatal, stderr: "plain http is refused except to a loopback address"},
		{name: "http to a private address", base: "http://10.0.0.1:" + port, code: exitFatal, stderr: "plain http is refused"},
		{name: "http to a name that merely starts with localhost", base: "http://localhost.example.com:" + port, code: exitFatal, stderr: "plain http is refused"},
		{name: "http to a name that resolves to loopback", base: "http://127.0.0.1.nip.io:" + port, code: exitFatal, stderr: "plain http is refused"},
		{name: "http upper-case scheme", base: "HTTP://API.EXAMPLE.COM", code: exitFatal, stderr: "plain http is refused"},
		{name: "http from the environment", base: "http://api.example.com", env: true, code: exitFatal, stderr: "plain http is refused"},
		{name: "loopback hidden behind user info", base: "http://127.0.0.1@api.example.com", code: exitFatal, stderr: "must not carry credentials"},
		{name: "loopback hidden behind a fragment", base: "http://api.example.com#@127.0.0.1", code: exitFatal, stderr: "must not have a query or fragment"},
		{name: "another scheme", base: "ftp://127.0.0.1:" + port, code: exitFatal, stderr: "scheme must be https"},
		{name: "no scheme", base: "//127.0.0.1:" + port, code: exitFatal, stderr: "scheme must be https"},
		{name: "http to 127.0.0.1", base: "http://127.0.0.1:" + port, code: exitOK},
		{name: "http to localhost", base: "http://localhost:" + port, code: exitOK},
		{name: "http to 127.0.0.1 from the environment", base: "http://127.0.0.1:" + port, env: true, code: exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"JUICEBATCH_API_KEY": canary}
			dir := t.TempDir()
			args := []string{"apply", "--rate", "1000/s", "--no-progress"}
			if tt.env {
				env["JUICEBATCH_BASE_URL"] = tt.base
			} else {
				args = append(args, "--base-url", tt.base)
			}
			before := len(srv.seen())
			got := invoke(t, dir, env, append(args, input)...)
			if got.code != tt.code || !strings.Contains(got.stderr, tt.stderr) {
				t.Errorf("apply --base-url %s = %d, stderr %q; want %d and %q", tt.base, got.code, got.stderr, tt.code, tt.stderr)
			}
			if sent := len(srv.seen()) - before; (tt.code == exitOK) != (sent == 1) {
				t.Errorf("server got %d requests; want %d", sent, map[bool]int{true: 1}[tt.code == exitOK])
			}
			checkNoLeak(t, tt.name, got, dir)
		})
	}
}
