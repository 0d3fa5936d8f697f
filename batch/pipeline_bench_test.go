package batch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/batch/api"
	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/batch/normalize"
	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/ratelimit"
	"github.com/juicebatch/juicebatch/sandbox"
	"github.com/juicebatch/juicebatch/scripts/benchgen/gen"
)

// The benchmarks here measure the pipeline per row over the rows of
// scripts/benchgen (the same generator as scripts/bench.sh). Rows are in
// memory or in b.TempDir(); nothing is committed. JUICEBATCH_BENCH_ROWS
// changes the size of the files of BenchmarkPlan and BenchmarkResume (e.g.
// 1000000 to profile a full-size plan).

// benchInput is one generated input.
type benchInput struct {
	name   string
	format input.Format
	phones gen.Phones
}

func benchInputs() []benchInput {
	return []benchInput{
		{"csv/e164", input.CSV, gen.PhonesMostlyE164},
		{"csv/national", input.CSV, gen.PhonesNational},
		{"ndjson/e164", input.NDJSON, gen.PhonesMostlyE164},
		{"ndjson/national", input.NDJSON, gen.PhonesNational},
	}
}

// benchData generates in's rows in memory.
func benchData(b *testing.B, in benchInput, opts gen.Options) []byte {
	b.Helper()
	opts.Phones = in.phones
	var buf bytes.Buffer
	write := gen.WriteCSV
	if in.format == input.NDJSON {
		write = gen.WriteNDJSON
	}
	if err := write(&buf, opts); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// benchFile writes in's rows to a file in dir.
func benchFile(b *testing.B, dir string, in benchInput, opts gen.Options) string {
	b.Helper()
	ext := ".csv"
	if in.format == input.NDJSON {
		ext = ".ndjson"
	}
	path := filepath.Join(dir, strings.ReplaceAll(in.name, "/", "-")+ext)
	if err := os.WriteFile(path, benchData(b, in, opts), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchRowsEnv is JUICEBATCH_BENCH_ROWS, or def.
func benchRowsEnv(b *testing.B, def int) int {
	b.Helper()
	s := os.Getenv("JUICEBATCH_BENCH_ROWS")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("JUICEBATCH_BENCH_ROWS=%q: want a positive number", s)
	}
	return n
}

// perRow measures a loop whose iterations each handle rows rows: call start
// before the loop and the returned func after it. It reports ns/row,
// allocs/row and B/row (the framework's own figures are per iteration).
func perRow(b *testing.B) func(rows int) {
	b.Helper()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	return func(rows int) {
		b.StopTimer()
		var m1 runtime.MemStats
		runtime.ReadMemStats(&m1)
		if rows == 0 {
			b.Fatal("no rows")
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
		b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(rows), "allocs/row")
		b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/float64(rows), "B/row")
	}
}

// BenchmarkRowPipeline is the per-row cost of plan's main pass without the
// state: input.Open → Next (read and map) → Normalizer.Update (normalize
// and validate) → Body.MarshalJSON, over 10k generated rows in memory. The
// stages are cumulative: read, +normalize, +marshal.
func BenchmarkRowPipeline(b *testing.B) {
	const rows = 10000
	for _, in := range benchInputs() {
		data := benchData(b, in, gen.Options{Rows: rows, Seed: 1})
		norm, err := normalize.New(normalize.Options{File: "bench", BlankClears: in.format == input.NDJSON})
		if err != nil {
			b.Fatal(err)
		}
		for _, stage := range []string{"read", "normalize", "marshal"} {
			b.Run(in.name+"/"+stage, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				done := perRow(b)
				n := 0
				for b.Loop() {
					rd, err := input.Open(bytes.NewReader(data), in.format, input.Options{Name: "bench"})
					if err != nil {
						b.Fatal(err)
					}
					for {
						rec, err := rd.Next()
						if errors.Is(err, io.EOF) {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
						n++
						if stage == "read" {
							continue
						}
						upd, rowErr := norm.Update(rec)
						if rowErr != nil || stage == "normalize" {
							continue
						}
						if _, err := upd.Body.MarshalJSON(); err != nil {
							b.Fatal(err)
						}
					}
				}
				done(n)
			})
		}
	}
}

// benchUpdates normalizes the valid rows of a generated CSV file.
func benchUpdates(b *testing.B, rows int) []normalize.Update {
	b.Helper()
	in := benchInputs()[0]
	data := benchData(b, in, gen.Options{Rows: rows, Seed: 1})
	norm, err := normalize.New(normalize.Options{File: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	rd, err := input.Open(bytes.NewReader(data), in.format, input.Options{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	var ups []normalize.Update
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return ups
		}
		if err != nil {
			b.Fatal(err)
		}
		if upd, rowErr := norm.Update(rec); rowErr == nil {
			ups = append(ups, upd)
		}
	}
}

// BenchmarkRequestBuild is building one request from a normalized update:
// the body (Body.MarshalJSON), its Idempotency-Key (batch.IdempotencyKey)
// and the per-field digests change detection compares and records.
func BenchmarkRequestBuild(b *testing.B) {
	ups := benchUpdates(b, 10000)
	salt := bytes.Repeat([]byte{7}, 32)
	const scope = "https://api.spendjuice.com live_1a2b3c4d"
	prev := bytes.Repeat([]byte{9}, 32)
	b.Run("body+key", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			u := &ups[i%len(ups)]
			body, err := u.Body.MarshalJSON()
			if err != nil {
				b.Fatal(err)
			}
			_ = batch.IdempotencyKey(salt, scope, u.ID, body, prev)
			i++
		}
	})
	b.Run("body+key+digests", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			u := &ups[i%len(ups)]
			body, err := u.Body.MarshalJSON()
			if err != nil {
				b.Fatal(err)
			}
			_ = batch.IdempotencyKey(salt, scope, u.ID, body, prev)
			_ = u.Body.Digests()
			i++
		}
	})
}

// BenchmarkIdempotencyKey is the key derivation alone, for a typical body.
func BenchmarkIdempotencyKey(b *testing.B) {
	salt := bytes.Repeat([]byte{7}, 32)
	body := []byte(`{"first_name":"Ada","last_name":"Lovelace","email":"ada.lovelace@example.com","phone_number":"+2348031234567","billing_address":{"line1":"1 Marina Road","line2":"","city":"Lagos","state":"","zip_code":"101001","country":"NG"}}`)
	prev := bytes.Repeat([]byte{9}, 32)
	for _, tc := range []struct {
		name string
		prev []byte
	}{{"first", nil}, {"after-prev", prev}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = batch.IdempotencyKey(salt, "https://api.spendjuice.com live_1a2b3c4d", "6f7e1e7f-93d1-4fcc-b7a4-738f869615c8", body, tc.prev)
			}
		})
	}
}

// BenchmarkPlan is a whole batch.Plan (first pass, main pass with the
// scratch row store, report pass) over a generated file in a temp dir,
// without a state file (every valid row is a change). One iteration is one
// plan of JUICEBATCH_BENCH_ROWS rows (default 100k); ns/row is the figure
// to compare. With JUICEBATCH_BENCH_FILE=PATH it plans that file instead
// (sub-benchmark "file"), so that a -cpuprofile or -memprofile holds
// nothing but plan (scripts/bench.sh --profile does that).
func BenchmarkPlan(b *testing.B) {
	if path := os.Getenv("JUICEBATCH_BENCH_FILE"); path != "" {
		b.Run("file", func(b *testing.B) { benchPlan(b, path, b.TempDir()) })
		return
	}
	rows := benchRowsEnv(b, 100000)
	for _, in := range benchInputs() {
		b.Run(in.name, func(b *testing.B) {
			dir := b.TempDir()
			benchPlan(b, benchFile(b, dir, in, gen.Options{Rows: rows, Seed: 1}), dir)
		})
	}
}

// benchPlan plans path b.N times, with reports and scratch stores in dir.
func benchPlan(b *testing.B, path, dir string) {
	done := perRow(b)
	n := 0
	for i := 0; b.Loop(); i++ {
		cfg := batch.Config{
			Input:     path,
			BaseURL:   api.DefaultBaseURL,
			StatePath: filepath.Join(dir, "no-state.db"),
			ReportDir: filepath.Join(dir, "report-"+strconv.Itoa(i)),
		}
		res, err := batch.Plan(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range res.Summary.Outcomes {
			n += c
		}
	}
	done(n)
}

// benchServer is the sandbox behind httptest, recording when each PATCH
// arrives.
type benchServer struct {
	sb  *sandbox.Server
	srv *httptest.Server

	mu       sync.Mutex
	arrivals []time.Time
	patch    chan struct{} // gets a value at a PATCH when it has room
}

func newBenchServer(b *testing.B, key string, opts sandbox.Options) *benchServer {
	b.Helper()
	opts.Keys, opts.CreateUnknown = []string{key}, true
	sb, err := sandbox.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	s := &benchServer{sb: sb, patch: make(chan struct{}, 1)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			now := time.Now()
			s.mu.Lock()
			s.arrivals = append(s.arrivals, now)
			s.mu.Unlock()
			select {
			case s.patch <- struct{}{}:
			default:
			}
		}
		sb.ServeHTTP(w, r)
	}))
	b.Cleanup(s.srv.Close)
	return s
}

func (s *benchServer) seen() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrivals...)
}

const benchKey = "test_bench_key_never_printed"

// BenchmarkPacing is issue 6's pacing check: a real batch.Apply of 500 rows
// against the sandbox at a scaled limit (600 a minute) with Rate 10/s. It
// reports the rate the server saw, from the first PATCH to the last, as a
// percentage of 10/s (%allowed; the target is ≥ 99), and the 429s (must be
// 0). One iteration is one 500-request run, about 50 s: it runs only when
// asked for (-bench Pacing), and not with -short.
func BenchmarkPacing(b *testing.B) {
	if testing.Short() {
		b.Skip("about 50 s of real pacing; not with -short")
	}
	const rows = 500
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		var csv strings.Builder
		csv.WriteString("id,email\n")
		for i := range rows {
			fmt.Fprintf(&csv, "pace-%04d,pace%d@example.com\n", i, i)
		}
		path := filepath.Join(dir, "pace.csv")
		if err := os.WriteFile(path, []byte(csv.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		srv := newBenchServer(b, benchKey, sandbox.Options{PerMinute: 600, PerDay: 10000})
		cfg := batch.Config{
			Input: path, BaseURL: srv.srv.URL, Key: benchKey,
			Rate:      ratelimit.Rate{N: 10, Per: time.Second},
			StatePath: filepath.Join(dir, "state.db"), ReportDir: filepath.Join(dir, "report"),
		}
		b.StartTimer()
		res, err := batch.Apply(context.Background(), cfg)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		at := srv.seen()
		st := srv.sb.Stats()
		if len(at) != rows || res.Summary.Outcomes["updated"] != rows {
			b.Fatalf("Apply sent %d requests, %v; want %d updated", len(at), res.Summary.Outcomes, rows)
		}
		span := at[len(at)-1].Sub(at[0])
		pct := float64(len(at)-1) / span.Seconds() / 10 * 100
		// Gaps much longer than the spacing (100.5 ms) are time the pace
		// lost and never makes up: the workers were all busy (intent fsync,
		// request) when a slot came.
		var maxGap time.Duration
		late := 0
		for i := 1; i < len(at); i++ {
			gap := at[i].Sub(at[i-1])
			maxGap = max(maxGap, gap)
			if gap > 150*time.Millisecond {
				late++
			}
		}
		b.ReportMetric(pct, "%allowed")
		b.ReportMetric(float64(st.RateLimited), "429s")
		b.ReportMetric(span.Seconds(), "s-first-to-last")
		b.ReportMetric(float64(maxGap.Milliseconds()), "ms-max-gap")
		b.ReportMetric(float64(late), "gaps>150ms")
		if st.RateLimited != 0 || pct < 99 {
			b.Errorf("pacing: %.2f%% of 10/s with %d 429s; want ≥ 99%% and 0", pct, st.RateLimited)
		}
		b.StartTimer()
	}
}

// BenchmarkResume is the time a resumed run takes to reach its first
// pending row: a state in which the first 90 % of a file's rows are done
// (made with checkpoint's exported writers, under the run id Plan names for
// the same file, flags and target), then batch.Apply until its first PATCH
// arrives. It reports s-to-first-pending; the target is ≤ 5 s at 1M rows
// (JUICEBATCH_BENCH_ROWS=1000000; default 100k). The rest of the run is
// cancelled and not timed.
func BenchmarkResume(b *testing.B) {
	rows := benchRowsEnv(b, 100000)
	dir := b.TempDir()
	path := benchFile(b, dir, benchInputs()[0], gen.Options{Rows: rows, Seed: 1})
	srv := newBenchServer(b, benchKey, sandbox.Options{PerMinute: 100000, PerDay: 100000})
	cfg := batch.Config{
		Input: path, BaseURL: srv.srv.URL, Key: benchKey,
		Rate:      ratelimit.Rate{N: 100, Per: time.Second},
		StatePath: filepath.Join(dir, "none.db"), ReportDir: filepath.Join(dir, "plan-report"),
	}
	res, err := batch.Plan(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	golden := filepath.Join(dir, "golden.db")
	benchPartState(b, golden, path, res.Summary.RunID, rows*9/10)
	state, err := os.ReadFile(golden)
	if err != nil {
		b.Fatal(err)
	}

	var total time.Duration
	runs := 0
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		run := filepath.Join(dir, "run-"+strconv.Itoa(i))
		if err := os.MkdirAll(run, 0o700); err != nil {
			b.Fatal(err)
		}
		c := cfg
		c.StatePath, c.ReportDir = filepath.Join(run, "state.db"), filepath.Join(run, "report")
		if err := os.WriteFile(c.StatePath, state, 0o600); err != nil {
			b.Fatal(err)
		}
		select {
		case <-srv.patch: // an earlier iteration's
		default:
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var took time.Duration
		start := time.Now()
		b.StartTimer()
		wg.Go(func() {
			select {
			case <-srv.patch:
				took = time.Since(start)
			case <-ctx.Done():
			}
			cancel()
		})
		res, err := batch.Apply(ctx, c)
		b.StopTimer()
		cancel()
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if !res.Resumed || took == 0 {
			b.Fatalf("Apply resumed = %v, first PATCH after %v; want a resumed run that sends", res.Resumed, took)
		}
		total += took
		runs++
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(runs), "s-to-first-pending")
}

// benchPartState writes a state at statePath in which the first done rows
// of path are finished ("unchanged") in run runID, and the run is stopped.
func benchPartState(b *testing.B, statePath, path, runID string, done int) {
	b.Helper()
	st, err := checkpoint.Open(statePath, checkpoint.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rd, err := input.Open(f, input.CSV, input.Options{Name: path})
	if err != nil {
		b.Fatal(err)
	}
	rl := st.RunLog(runID)
	at := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	for range done {
		rec, err := rd.Next()
		if err != nil {
			b.Fatal(err)
		}
		if err := rl.Put(checkpoint.Row{Num: rec.Num, Line: rec.Line, CustomerID: rec.Values[input.ID].Text,
			Status: checkpoint.StatusDone, Outcome: "unchanged", UpdatedAt: at}); err != nil {
			b.Fatal(err)
		}
	}
	if err := rl.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := st.PutRun(checkpoint.Run{ID: runID, Command: "apply", Input: path, StartedAt: at, UpdatedAt: at,
		TotalRows: -1, Status: "stopped", Outcomes: map[string]int{}}); err != nil {
		b.Fatal(err)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
}
