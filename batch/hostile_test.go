package batch_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/report"
	"github.com/juicebatch/juicebatch/sandbox"
)

// Hostile and broken input, and a hostile or broken server, through the
// whole pipeline (issue 5). Every case checks that no row is lost: the
// report has one line per input row, and each ends with an outcome.

// perPath counts requests per path, for wrappers that treat a customer's
// first request differently from its retries.
type perPath struct {
	mu sync.Mutex
	n  map[string]int
}

func (p *perPath) hit(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == nil {
		p.n = map[string]int{}
	}
	p.n[path]++
	return p.n[path]
}

// threeRows is the input of the server-trouble cases.
const threeRows = "id,email\nt-1,one@example.com\nt-2,two@example.com\nt-3,three@example.com\n"

// checkNoRowLost checks that results.csv has one line per row, numbered
// 1..n, and that the summary's outcomes add up to n.
func checkNoRowLost(t *testing.T, h *harness, cfg batch.Config, n int) [][]string {
	t.Helper()
	rows := h.results(cfg)
	if len(rows) != n {
		t.Fatalf("results.csv has %d rows; want %d:\n%q", len(rows), n, rows)
	}
	for i, r := range rows {
		if r[0] != fmt.Sprint(i+1) || r[2] == "" {
			t.Errorf("results.csv line %d = %q; want row %d with an outcome", i+1, r, i+1)
		}
	}
	sum := h.summary(cfg)
	total := 0
	for _, c := range sum.Outcomes {
		total += c
	}
	if total != n {
		t.Errorf("summary outcomes %v add up to %d; want %d", sum.Outcomes, total, n)
	}
	return rows
}

// --- 2. Row-level problems never stop the run; file-level ones stop it
// before any request.

func TestMalformedRecordsMidFileDoNotStopTheRun(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	in := "id,email,first_name\n" +
		"m-1,one@example.com,Ann\n" +
		"m-2,two@example.com\n" + // too few fields
		"m-3,th\"ree@example.com,Cy\n" + // a bare quote
		"m-4,\"four@example.com\"x,Di\n" + // text after a closing quote
		"m-5,five@example.com,Ed,extra\n" + // too many fields
		"m-6,six@example.com,Flo\n"
	cfg := h.config(h.file("mid.csv", in))
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if res.Summary.ExitCode != batch.ExitRowsBad {
		t.Errorf("exit %d; want %d", res.Summary.ExitCode, batch.ExitRowsBad)
	}
	rows := checkNoRowLost(t, h, cfg, 6)
	want := []struct{ outcome, err string }{
		{"updated", ""},
		{"invalid", ":3: expected 3 fields, found 2"},
		{"invalid", `:4: bare " in a field without quotes at column 7`},
		{"invalid", `:5: extraneous or missing " in a quoted field at column 22`},
		{"invalid", ":6: expected 3 fields, found 4"},
		{"updated", ""},
	}
	for i, w := range want {
		if rows[i][2] != w.outcome || (w.err != "" && !strings.Contains(rows[i][6], cfg.Input+w.err)) {
			t.Errorf("row %d = %q; want %s with error containing %q", i+1, rows[i], w.outcome, cfg.Input+w.err)
		}
	}
	var paths []string
	for _, s := range h.seen() {
		paths = append(paths, s.Path)
	}
	if !sameSet(paths, []string{"/customers/m-1", "/customers/m-6"}) {
		t.Errorf("server saw %v; want only m-1 and m-6 (the rows after the broken records are still applied)", paths)
	}
}

func TestFileLevelProblemsSendNothing(t *testing.T) {
	tests := []struct {
		name, file, content string
		want                error // an input sentinel
	}{
		{"empty", "empty.csv", "", input.ErrEmptyFile},
		{"no header", "blank.csv", ",,\nx-1,a@example.com\n", input.ErrNoHeader},
		{"no id column", "noid.csv", "email\na@example.com\n", input.ErrNoIDColumn},
		{"duplicate columns", "dup.csv", "id,email,EMAIL\nx-1,a@example.com,b@example.com\n", input.ErrDuplicateColumn},
		{"UTF-16", "utf16.csv", "\xff\xfei\x00d\x00\n\x00", input.ErrEncoding},
		{"binary header", "bin.csv", "\x89PNG\r\n\x1a\n\x00\x00", input.ErrEncoding},
		{"malformed header", "hdr.csv", "id,\"email\nx-1,a@example.com\n", input.ErrUnterminatedQuote},
		{"unterminated quote mid-file", "open.csv", "id,email\nx-1,a@example.com\nx-2,\"b@example.com\nx-3,c@example.com\n", input.ErrUnterminatedQuote},
		{"unterminated quote in the last row", "open2.csv", "id,email\nx-1,a@example.com\nx-2,\"b@example.com\n", input.ErrUnterminatedQuote},
		{"UTF-16 NDJSON", "utf16.ndjson", "\xff\xfe{\x00}\x00", input.ErrEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{})
			cfg := h.config(h.file(tt.file, tt.content))
			res, err := batch.Apply(context.Background(), cfg)
			var inErr *batch.InputError
			if !errors.As(err, &inErr) || !errors.Is(err, tt.want) {
				t.Fatalf("Apply(%q) = %v; want an *InputError matching %v", tt.content, err, tt.want)
			}
			if code := batch.ExitCode(res, err); code != batch.ExitFatal {
				t.Errorf("exit %d; want %d", code, batch.ExitFatal)
			}
			if !strings.HasPrefix(err.Error(), cfg.Input) {
				t.Errorf("error %q; want it to name the file", err)
			}
			if n := len(h.seen()); n != 0 {
				t.Errorf("server saw %d requests; want 0: a file-level problem stops the run before anything is sent", n)
			}
		})
	}
}

// TestStdinUnterminatedQuoteLetsInFlightFinish: stdin has no first pass, so
// an unterminated quote is met while earlier rows are already on the wire.
// The run must stop feeding and exit 1, but an update already sent must be
// allowed to finish like on a signal (its outcome recorded), not cut off.
//
// Observed on the current pipeline (execute.go: the producer's error goes
// to r.fatal, which also calls abortSends): the request in flight is
// cancelled, so the row stays "in flight" (reported pending) although the
// server may have applied it.
func TestStdinUnterminatedQuoteLetsInFlightFinish(t *testing.T) {
	arrived := make(chan struct{})
	var arrivedOnce sync.Once
	eof := make(chan struct{})
	h := newHarness(t, harnessOpts{wrap: func(w http.ResponseWriter, r *http.Request, n int) bool {
		arrivedOnce.Do(func() { close(arrived) })
		select {
		case <-eof: // the producer has read the broken rest
		case <-r.Context().Done(): // the client gave up on it
			return true
		}
		return false
	}})
	pr, pw := io.Pipe()
	cfg := h.config("-")
	cfg.Format = "csv"
	cfg.Concurrency = 1
	cfg.Stdin = &eofReader{r: pr, eof: eof}
	go func() {
		// More than the 64 KiB sniffed before anything is read, and more
		// than one chunk of rows (256; the rest invalid, so only row 1
		// costs a request): row 1 is sent while the broken rest has not
		// been written yet.
		fmt.Fprintf(pw, "id,email,notes\nu-1,one@example.com,%s\n", strings.Repeat("n", 70<<10))
		for i := range 300 {
			fmt.Fprintf(pw, "v-%d,,\n", i)
		}
		<-arrived
		fmt.Fprint(pw, "u-2,\"two@example.com,x\nu-3,three@example.com,y\n")
		pw.Close()
	}()
	res, err := batch.Apply(context.Background(), cfg)
	if !errors.Is(err, input.ErrUnterminatedQuote) || batch.ExitCode(res, err) != batch.ExitFatal {
		t.Fatalf("Apply = %v; want exit 1 for the unterminated quote", err)
	}
	if got := h.results(cfg); len(got) == 0 || got[0][2] != "updated" {
		t.Errorf("results %.300q; want row 1 updated: the request in flight finishes", got)
	}
}

// eofReader closes eof once r has returned io.EOF.
type eofReader struct {
	r    io.Reader
	eof  chan struct{}
	once sync.Once
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.once.Do(func() { close(e.eof) })
	}
	return n, err
}

// TestHugeFields generates inputs with 2 MB fields (and, for NDJSON, a line
// over the 16 MiB limit): they are read, reported with a bounded error, and
// never stop the run. A CSV record over the limit is a file-level problem.
// A 2 MB name breaks no rule of the update endpoint: it is sent with a
// (short) warning, and the sandbox's body limit rejects it.
func TestHugeFields(t *testing.T) {
	big := strings.Repeat("x", 2<<20)
	t.Run("CSV", func(t *testing.T) {
		h := newHarness(t, harnessOpts{})
		in := "id,email,first_name,notes\n" +
			"h-1,one@example.com,Ann," + big + "\n" + // unmapped column: ignored
			"h-2," + big + "@example.com,Bo,\n" +
			"h-3,three@example.com," + big + ",\n" +
			"h-4,four@example.com,\"" + big + "\",\n" +
			"h-5,five@example.com,Ed,\n"
		cfg := h.config(h.file("big.csv", in))
		if _, err := batch.Apply(context.Background(), cfg); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		rows := checkNoRowLost(t, h, cfg, 5)
		want := []struct{ outcome, err, warn string }{
			{"updated", "", ""},
			// A 2 MB email is a valid address to net/mail: sent, warned,
			// and refused by the body limit.
			{"rejected", "413 payload_too_large", "email: longer than the 254 characters an address may have"},
			{"rejected", "413 payload_too_large", "first_name: longer than 100 characters"},
			{"rejected", "413 payload_too_large", "first_name: longer than 100 characters"},
			{"updated", "", ""},
		}
		for i, w := range want {
			if rows[i][2] != w.outcome || !strings.Contains(rows[i][6], w.err) || !strings.HasPrefix(rows[i][7], w.warn) ||
				(w.warn == "") != (rows[i][7] == "") {
				t.Errorf("row %d = %.200q; want %s naming %q, warning %q", i+1, rows[i], w.outcome, w.err, w.warn)
			}
			if len(rows[i][6]) > 1000 || len(rows[i][7]) > 1000 {
				t.Errorf("row %d error or warning is %d/%d bytes; want the value quoted short", i+1, len(rows[i][6]), len(rows[i][7]))
			}
		}
	})
	t.Run("NDJSON", func(t *testing.T) {
		h := newHarness(t, harnessOpts{})
		huge := strings.Repeat("y", 17<<20)
		in := `{"id":"n-1","email":"one@example.com","notes":"` + big + `"}` + "\n" +
			`{"id":"n-2","first_name":"` + big + `"}` + "\n" +
			`{"id":"n-3","email":"three@example.com","notes":"` + huge + `"}` + "\n" +
			`{"id":"n-4","email":"four@example.com"}` + "\n"
		cfg := h.config(h.file("big.ndjson", in))
		if _, err := batch.Apply(context.Background(), cfg); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		rows := checkNoRowLost(t, h, cfg, 4)
		want := []struct{ outcome, err, warn string }{
			{"updated", "", ""},
			{"rejected", "413 payload_too_large", "first_name: longer than 100 characters"},
			{"invalid", ":3: ", ""},
			{"updated", "", ""},
		}
		for i, w := range want {
			if rows[i][2] != w.outcome || !strings.Contains(rows[i][6], w.err) || len(rows[i][6]) > 1000 ||
				!strings.HasPrefix(rows[i][7], w.warn) || (w.warn == "") != (rows[i][7] == "") || len(rows[i][7]) > 1000 {
				t.Errorf("row %d = %.200q; want %s naming %q, warning %q, shortly", i+1, rows[i], w.outcome, w.err, w.warn)
			}
		}
	})
	t.Run("CSV record over the limit", func(t *testing.T) {
		h := newHarness(t, harnessOpts{})
		in := "id,email\nr-1,one@example.com\nr-2," + strings.Repeat("z", 17<<20) + "\nr-3,three@example.com\n"
		cfg := h.config(h.file("toolong.csv", in))
		res, err := batch.Apply(context.Background(), cfg)
		if !errors.Is(err, input.ErrRecordTooLong) || batch.ExitCode(res, err) != batch.ExitFatal {
			t.Fatalf("Apply = %v; want exit 1 with ErrRecordTooLong", err)
		}
		if n := len(h.seen()); n != 0 {
			t.Errorf("server saw %d requests; want 0", n)
		}
	})
}

// --- 6. Neutralized cells, and the failed file re-runs to the same bodies.

func TestFailedCSVNeutralizedAndReRunsToSameBodies(t *testing.T) {
	// The server first knows no customer (every row 404, rejected); then
	// it is "fixed" and creates them. Bodies are captured per id.
	empty, err := sandbox.New(sandbox.Options{Keys: []string{testKey}, Customers: []sandbox.Customer{}, PerMinute: 1 << 20, PerDay: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var fixed atomic.Bool
	var mu sync.Mutex
	bodies := map[bool]map[string]string{false: {}, true: {}}
	var h *harness
	h = newHarness(t, harnessOpts{wrap: func(w http.ResponseWriter, r *http.Request, n int) bool {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		run := fixed.Load()
		mu.Lock()
		bodies[run][r.URL.Path] = string(b)
		mu.Unlock()
		if run {
			return false // the harness's sandbox creates unknown customers
		}
		empty.ServeHTTP(w, r)
		return true
	}})
	// Every cell a spreadsheet would run: = + - @ TAB CR, in fields where
	// such values are legal, plus a cell already written with a ' and one
	// that begins with ' before a letter.
	in := "id,email,first_name,last_name,phone_number,billing_address.line1,billing_address.line2,billing_address.city,billing_address.state,billing_address.zip_code,billing_address.country,@notes\r\n" +
		"-x1,+tag@example.com,'Ana,-Smith,+234 803 123 4567,-5 Road,@home,=Lagos,\"\tLA\",'=7,NG,=1+1\r\n" +
		"c-2,=x@example.com,Bo,O'Hara,+44 20 7946 0958,@1 High St,,+London,\"\rKent\",SE1,GB,-2\r\n" +
		"c-3,plain@example.com,,,,,,,,,,@SUM(A1)\r\n"
	cfg := h.config(h.file("in.csv", in))
	res, err := batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("first Apply: %v", err)
	}
	if got := outcomes(checkNoRowLost(t, h, cfg, 3)); !slices.Equal(got, []string{"rejected", "rejected", "rejected"}) || res.Summary.ExitCode != batch.ExitRowsBad {
		t.Fatalf("first run outcomes %v exit %d; want 3 rejected (404), exit 3", got, res.Summary.ExitCode)
	}

	// No cell of either file begins with a formula character.
	failedPath := filepath.Join(cfg.ReportDir, report.FailedCSVName)
	for _, name := range []string{filepath.Join(cfg.ReportDir, report.ResultsName), failedPath} {
		for i, rec := range readCSV(t, name) {
			for j, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("%s record %d cell %d = %q; begins with a formula character", filepath.Base(name), i, j, cell)
				}
			}
		}
	}
	failed := readCSV(t, failedPath)
	wantFailed := [][]string{
		{"id", "email", "first_name", "last_name", "phone_number", "billing_address.line1", "billing_address.line2", "billing_address.city", "billing_address.state", "billing_address.zip_code", "billing_address.country", "'@notes", "juicebatch_error"},
		{"'-x1", "'+tag@example.com", "'Ana", "'-Smith", "'+234 803 123 4567", "'-5 Road", "'@home", "'=Lagos", "'\tLA", "'=7", "NG", "'=1+1"},
		{"c-2", "'=x@example.com", "Bo", "O'Hara", "'+44 20 7946 0958", "'@1 High St", "", "'+London", "'\rKent", "SE1", "GB", "'-2"},
		{"c-3", "plain@example.com", "", "", "", "", "", "", "", "", "", "'@SUM(A1)"},
	}
	if len(failed) != len(wantFailed) {
		t.Fatalf("failed.csv = %q; want %d records", failed, len(wantFailed))
	}
	for i, want := range wantFailed {
		got := failed[i]
		if i > 0 {
			if !strings.Contains(got[len(got)-1], "404 not_found") {
				t.Errorf("failed.csv record %d error %q; want the server's 404", i, got[len(got)-1])
			}
			got = got[:len(got)-1]
		}
		if !slices.Equal(got, want) {
			t.Errorf("failed.csv record %d = %q; want %q", i, got, want)
		}
	}
	if got := h.results(cfg)[0][1]; got != "'-x1" {
		t.Errorf("results.csv id cell = %q; want \"'-x1\"", got)
	}

	// Feed failed.csv straight back to the fixed server.
	again := filepath.Join(h.dir, "failed-again.csv")
	b, err := os.ReadFile(failedPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(again, b, 0o600); err != nil {
		t.Fatal(err)
	}
	fixed.Store(true)
	cfg.Input = again
	// The same bodies were rejected before: remembered, they are not
	// re-sent unless asked (the server was fixed, not the rows).
	cfg.RetryRejected = true
	res, err = batch.Apply(context.Background(), cfg)
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if got := outcomes(checkNoRowLost(t, h, cfg, 3)); !slices.Equal(got, []string{"updated", "updated", "updated"}) || res.Summary.ExitCode != batch.ExitOK {
		t.Fatalf("second run outcomes %v exit %d; want 3 updated, exit 0", got, res.Summary.ExitCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies[false]) != 3 || !equalMaps(bodies[false], bodies[true]) {
		t.Errorf("bodies sent:\nfirst run  %q\nsecond run %q\nwant the same three", bodies[false], bodies[true])
	}
	// And those bodies carry the values as written, not the neutralized
	// forms (checked by hand).
	wantX1 := `{"first_name":"'Ana","last_name":"-Smith","email":"+tag@example.com","phone_number":"+2348031234567",` +
		`"billing_address":{"line1":"-5 Road","line2":"@home","city":"=Lagos","state":"LA","zip_code":"=7","country":"NG"}}`
	if got := bodies[true]["/customers/-x1"]; got != wantX1 {
		t.Errorf("body for -x1 = %s; want %s", got, wantX1)
	}
	wantC2 := `{"first_name":"Bo","last_name":"O'Hara","email":"=x@example.com","phone_number":"+442079460958",` +
		`"billing_address":{"line1":"@1 High St","line2":"","city":"+London","state":"Kent","zip_code":"SE1","country":"GB"}}`
	if got := bodies[true]["/customers/c-2"]; got != wantC2 {
		t.Errorf("body for c-2 = %s; want %s", got, wantC2)
	}
}

// discardLog silences an httptest server's TLS handshake errors.
func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return recs
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// --- 7. Server-side trouble, through the whole pipeline.

func TestServerTrouble(t *testing.T) {
	type want struct {
		outcome  string // every row's
		status   string // every row's http_status cell
		attempts string // every row's attempts cell
		errHas   string // in every row's error cell
		exit     int
		applied  int // updates the sandbox applied
	}
	tests := []struct {
		name  string
		wrap  func(h *harness, p *perPath) func(w http.ResponseWriter, r *http.Request, n int) bool
		tweak func(cfg *batch.Config)
		want  want
	}{
		{
			name: "200 that is not JSON is final: failed, may have been applied",
			wrap: func(h *harness, p *perPath) func(w http.ResponseWriter, r *http.Request, n int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					w.Header().Set("Content-Type", "text/html")
					fmt.Fprint(w, "<html><body>OK</body></html>")
					return true
				}
			},
			want: want{"failed", "200", "1", "the server answered 2xx but its body is not JSON", batch.ExitRowsBad, 0},
		},
		{
			name: "200 whose body is not the record is final: failed",
			wrap: func(h *harness, p *perPath) func(w http.ResponseWriter, r *http.Request, n int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					fmt.Fprint(w, `{"ok":true,"data":[]}`)
					return true
				}
			},
			want: want{"failed", "200", "1", `has no customer record under "data"`, batch.ExitRowsBad, 0},
		},
		{
			name: "200 with another customer's record is final: failed",
			wrap: func(h *harness, p *perPath) func(w http.ResponseWriter, r *http.Request, n int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					fmt.Fprint(w, `{"data":{"id":"someone-else"}}`)
					return true
				}
			},
			want: want{"failed", "200", "1", `the record of another customer ("someone-else")`, batch.ExitRowsBad, 0},
		},
		{
			name: "500 that is not JSON is retried with the same key",
			wrap: func(h *harness, p *perPath) func(w http.ResponseWriter, r *http.Request, n int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					if p.hit(r.URL.Path) > 1 {
						return false
					}
					w.WriteHeader(http.StatusInternalServerError)
					fmt.Fprint(w, "<html>Internal Server Error</html>")
					return true
				}
			},
			want: want{"updated", "200", "2", "", batch.ExitOK, 3},
		},
		{
			name: "500 that is not JSON, every time: failed after the retries",
			wrap: func(h *harness, p *perPath) func(w http.ResponseWriter, r *http.Request, n int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					w.WriteHeader(http.StatusInternalServerError)
					fmt.Fprint(w, "<html>Internal Server Error</html>")
					return true
				}
			},
			want: want{"failed", "500", "4", `gave up after 4 attempts; last: 500: non-JSON answer: "<html>Internal Server Error</html>"`, batch.ExitRowsBad, 0},
		},
		{
			name: "slower than the timeout after applying: retried, replayed, applied once",
			wrap: func(h *harness, p *perPath) func(w http.ResponseWriter, r *http.Request, n int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					if p.hit(r.URL.Path) > 1 {
						return false
					}
					h.sb.ServeHTTP(httptest.NewRecorder(), r) // applied...
					<-r.Context().Done()                      // ...but the answer comes too late
					return true
				}
			},
			tweak: func(cfg *batch.Config) { cfg.Timeout = 200 * time.Millisecond },
			want:  want{"updated", "200", "2", "", batch.ExitOK, 3},
		},
		{
			name: "slower than the timeout every time: failed after the retries",
			wrap: func(h *harness, p *perPath) func(w http.ResponseWriter, r *http.Request, n int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					// The server notices the client going away only once
					// it has read the request body.
					io.Copy(io.Discard, r.Body)
					<-r.Context().Done()
					return true
				}
			},
			tweak: func(cfg *batch.Config) { cfg.Timeout = 50 * time.Millisecond; cfg.MaxRetries = 1 },
			want:  want{"failed", "", "2", "gave up after 2 attempts; last: no answer: ", batch.ExitRowsBad, 0},
		},
		{
			name: "connection reset in the middle of the body: retried, replayed, applied once",
			wrap: func(h *harness, p *perPath) func(w http.ResponseWriter, r *http.Request, n int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					if p.hit(r.URL.Path) > 1 {
						return false
					}
					rec := httptest.NewRecorder()
					h.sb.ServeHTTP(rec, r)
					body := rec.Body.Bytes()
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
					w.WriteHeader(rec.Code)
					w.Write(body[:len(body)/2])
					w.(http.Flusher).Flush()
					conn, _, err := w.(http.Hijacker).Hijack()
					if err != nil {
						panic(err)
					}
					conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
					conn.Close()
					return true
				}
			},
			want: want{"updated", "200", "2", "", batch.ExitOK, 3},
		},
		{
			name: "429 without Retry-After waits without spending a retry",
			wrap: func(h *harness, p *perPath) func(w http.ResponseWriter, r *http.Request, n int) bool {
				return func(w http.ResponseWriter, r *http.Request, n int) bool {
					if p.hit(r.URL.Path) > 1 {
						return false
					}
					w.WriteHeader(http.StatusTooManyRequests)
					fmt.Fprint(w, `{"error":{"code":"rate_limited","message":"slow down"}}`)
					return true
				}
			},
			tweak: func(cfg *batch.Config) { cfg.MaxRetries = 0 },
			want:  want{"updated", "200", "2", "", batch.ExitOK, 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h *harness
			p := &perPath{}
			var wrap func(w http.ResponseWriter, r *http.Request, n int) bool
			h = newHarness(t, harnessOpts{wrap: func(w http.ResponseWriter, r *http.Request, n int) bool { return wrap(w, r, n) }})
			wrap = tt.wrap(h, p)
			cfg := h.config(h.file("in.csv", threeRows))
			if tt.tweak != nil {
				tt.tweak(&cfg)
			}
			res, err := batch.Apply(context.Background(), cfg)
			if err != nil {
				t.Fatalf("Apply: %v\nlogs:\n%s", err, h.logs)
			}
			if res.Summary.ExitCode != tt.want.exit {
				t.Errorf("exit %d; want %d", res.Summary.ExitCode, tt.want.exit)
			}
			rows := checkNoRowLost(t, h, cfg, 3)
			keys := map[string]map[string]bool{}
			for _, s := range h.seen() {
				if keys[s.Path] == nil {
					keys[s.Path] = map[string]bool{}
				}
				keys[s.Path][s.Key] = true
			}
			for _, r := range rows {
				if r[2] != tt.want.outcome || r[3] != tt.want.status || r[4] != tt.want.attempts || !strings.Contains(r[6], tt.want.errHas) {
					t.Errorf("row %q; want outcome %s, status %q, attempts %s, error containing %q", r, tt.want.outcome, tt.want.status, tt.want.attempts, tt.want.errHas)
				}
				// Every attempt of a row carried the row's one key.
				if ks := keys["/customers/"+r[1]]; len(ks) != 1 || !ks[r[5]] {
					t.Errorf("row %s: keys sent %v; want only %s", r[1], ks, r[5])
				}
			}
			if st := h.sb.Stats(); st.AppliedUpdates != tt.want.applied || st.DuplicateApplications != 0 {
				t.Errorf("sandbox applied %d (duplicates %d); want %d, no duplicates", st.AppliedUpdates, st.DuplicateApplications, tt.want.applied)
			}
		})
	}
}

// TestRedirectIsNeverFollowed: a 307 to another host is not followed (the
// other host never gets the request, nor the key); the run stops after it
// with an error naming the redirect (without its query), and no row is lost.
func TestRedirectIsNeverFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	h := newHarness(t, harnessOpts{wrap: func(w http.ResponseWriter, r *http.Request, n int) bool {
		http.Redirect(w, r, other.URL+r.URL.Path+"?token=secret", http.StatusTemporaryRedirect)
		return true
	}})
	cfg := h.config(h.file("in.csv", threeRows))
	res, err := batch.Apply(context.Background(), cfg)
	var ee *batch.EndpointError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "307: unexpected redirect to "+other.URL+"/customers/") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Apply error %v; want an *EndpointError naming the redirect without its query", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the redirect target got %d requests; want 0", n)
	}
	for _, r := range checkNoRowLost(t, h, cfg, 3) {
		if r[2] == "updated" {
			t.Errorf("row %q updated; want pending", r)
		}
	}
	if res == nil || res.Summary.ExitCode != batch.ExitFatal || res.Summary.Requests != 1 {
		t.Errorf("summary %+v; want exit 1 after 1 request", res)
	}
}

// TestRedirectStopsTheRun: a redirect answers every row alike (the base URL
// is wrong, or the API moved), so like a 401 it should stop the run after
// the first one instead of spending a request on each row.
func TestRedirectStopsTheRun(t *testing.T) {
	h := newHarness(t, harnessOpts{wrap: func(w http.ResponseWriter, r *http.Request, n int) bool {
		http.Redirect(w, r, "https://api.example.com"+r.URL.Path, http.StatusPermanentRedirect)
		return true
	}})
	cfg := h.config(h.file("in.csv", threeRows))
	res, err := batch.Apply(context.Background(), cfg)
	if batch.ExitCode(res, err) != batch.ExitFatal || len(h.seen()) != 1 {
		t.Errorf("exit %d after %d requests (err %v); want 1 after 1", batch.ExitCode(res, err), len(h.seen()), err)
	}
}

// TestRetryAfterOfADay: a 429 asking to wait a day means the key's
// server-side day is spent. Without Wait the run stops (exit 4) with the
// rows pending, not failed; with Wait it sleeps (on a fake clock) and
// finishes.
func TestRetryAfterOfADay(t *testing.T) {
	// The first request is told to come back in a day; the server then
	// recovers.
	dayLimited := func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n > 1 {
			return false
		}
		w.Header().Set("Retry-After", "86400")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":{"code":"rate_limited","message":"daily limit reached"}}`)
		return true
	}
	t.Run("stops", func(t *testing.T) {
		h := newHarness(t, harnessOpts{wrap: dayLimited})
		cfg := h.config(h.file("in.csv", threeRows))
		cfg.Concurrency = 1
		res, err := batch.Apply(context.Background(), cfg)
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if res.Summary.ExitCode != batch.ExitStopped || res.Stopped != "server quota spent" {
			t.Errorf("exit %d, stopped %q; want 4, server quota spent", res.Summary.ExitCode, res.Stopped)
		}
		if got := outcomes(checkNoRowLost(t, h, cfg, 3)); !slices.Equal(got, []string{"pending", "pending", "pending"}) {
			t.Errorf("outcomes %v; want all pending (resumable), none failed", got)
		}
		sum := h.summary(cfg)
		if sum.RateLimited != 1 || sum.Requests != 1 || sum.ExitCode != batch.ExitStopped || sum.Outcomes["pending"] != 3 || sum.Outcomes["failed"] != 0 {
			t.Errorf("summary.json %+v; want 1 request, 1 rate-limited, 3 pending, exit 4", sum)
		}
		// Run again (the server has recovered): the run resumes and
		// finishes, re-sending the first row with its key.
		res, err = batch.Apply(context.Background(), cfg)
		if err != nil || res.Summary.ExitCode != batch.ExitOK || !res.Resumed {
			t.Fatalf("second run: %v, exit %d, resumed %v; want exit 0, resumed", err, res.Summary.ExitCode, res.Resumed)
		}
		keys := map[string][]string{}
		for _, s := range h.seen() {
			keys[s.Path] = append(keys[s.Path], s.Key)
		}
		if k := keys["/customers/t-1"]; len(h.seen()) != 4 || len(k) != 2 || k[0] != k[1] {
			t.Errorf("requests %+v; want 4, the first row's two with one key", h.seen())
		}
	})
	t.Run("waits", func(t *testing.T) {
		h := newHarness(t, harnessOpts{wrap: dayLimited})
		clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { // move a minute on whenever the run waits
			defer close(done)
			for clock.BlockUntilContext(ctx, 1) == nil {
				clock.Advance(time.Minute)
			}
		}()
		defer func() { cancel(); <-done }()
		cfg := h.config(h.file("in.csv", threeRows))
		cfg.Clock = clock
		cfg.Wait = true
		start := clock.Now()
		res, err := batch.Apply(context.Background(), cfg)
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if got := outcomes(checkNoRowLost(t, h, cfg, 3)); !slices.Equal(got, []string{"updated", "updated", "updated"}) || res.Summary.ExitCode != batch.ExitOK {
			t.Errorf("outcomes %v exit %d; want 3 updated, exit 0", got, res.Summary.ExitCode)
		}
		if waited := clock.Since(start); waited < 24*time.Hour {
			t.Errorf("waited %v of fake time; want at least the 24 h asked", waited)
		}
		if res.Summary.RateLimited != 1 {
			t.Errorf("rate_limited %d; want 1", res.Summary.RateLimited)
		}
	})
}

// --- 5. TLS verification is never turned off.

// TestUntrustedCertificateFailsTheRow runs the pipeline against an HTTPS
// server whose certificate the default client does not trust (HTTPClient
// nil, as in production): no update is applied and the rows are not
// updated; the error names the certificate.
func TestUntrustedCertificateFailsTheRow(t *testing.T) {
	sb, err := sandbox.New(sandbox.Options{Keys: []string{testKey}, CreateUnknown: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(sb)
	srv.Config.ErrorLog = discardLog()
	srv.StartTLS()
	defer srv.Close()
	h := newHarness(t, harnessOpts{})
	cfg := h.config(h.file("in.csv", threeRows))
	cfg.BaseURL = srv.URL
	cfg.HTTPClient = nil
	cfg.MaxRetries = 1
	res, err := batch.Apply(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Apply error %v; want one naming the certificate", err)
	}
	for _, r := range checkNoRowLost(t, h, cfg, 3) {
		if r[2] == "updated" {
			t.Errorf("row %q updated; want pending", r)
		}
	}
	if st := sb.Stats(); st.AppliedUpdates != 0 || len(st.RequestsByStatus) != 0 {
		t.Errorf("sandbox stats %+v; want no request handled", st)
	}
	if res.Summary.ExitCode == batch.ExitOK {
		t.Errorf("exit 0; want a failure")
	}
}

// TestUntrustedCertificateStopsTheRun: a certificate the client does not
// trust fails every row alike, before anything reaches the server, so the
// run should stop at once (exit 1, like a rejected key) rather than spend
// MaxRetries+1 units of the day's budget on every row.
func TestUntrustedCertificateStopsTheRun(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = discardLog()
	srv.StartTLS()
	defer srv.Close()
	h := newHarness(t, harnessOpts{})
	cfg := h.config(h.file("in.csv", threeRows))
	cfg.BaseURL = srv.URL
	res, err := batch.Apply(context.Background(), cfg)
	if batch.ExitCode(res, err) != batch.ExitFatal || err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Apply = %v; want exit 1 naming the certificate", err)
	}
	if res == nil || res.Summary.Budget.Used != 1 {
		t.Errorf("result %+v; want 1 unit of the budget used", res)
	}
}

// TestConfigNeverPrintsTheKey: a Config formatted by fmt or slog (a debug
// line, a panic value, a test failure) must not show the key.
func TestConfigNeverPrintsTheKey(t *testing.T) {
	cfg := batch.Config{Key: testKey, BaseURL: "https://api.example.com"}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cfg", cfg)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "cfg", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg), logs.String()} {
		if strings.Contains(s, testKey) {
			t.Errorf("formatted Config holds the key: %.300s", s)
		}
	}
}
