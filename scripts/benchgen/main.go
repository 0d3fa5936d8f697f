// Command benchgen writes the deterministic input files of juicebatch's
// benchmarks (scripts/bench.sh), and makes the state file of a run that is
// partly done, for the resume measurement.
//
// Generate a file (the rows are described in package gen):
//
//	benchgen -rows 1000000 -phones e164 -seed 1 -o big.csv
//	benchgen -rows 1000000 -phones national -o big-national.ndjson
//
// The format comes from the extension (.csv, .ndjson, .jsonl).
//
// Make a state in which the first 90 % of FILE's rows are done:
//
//	JUICEBATCH_API_KEY=KEY benchgen -mkstate -input FILE -state STATE \
//	    -run-id ID -base-url URL -done 0.9 [-applied]
//
// It uses only exported APIs: input.Open to number the rows exactly as a run
// does, checkpoint.Open, RunLog.Put and Store.PutRun. The run id is not
// derived here (batch keeps that formula to itself): take the run_id from
// the summary.json of a `juicebatch plan` of the same file with the same
// flags, base URL and key, since plan names the run apply would resume. The
// key (read from JUICEBATCH_API_KEY, never printed) and the base URL give
// the run's key fingerprint and target, as batch derives them.
// Done rows are recorded as apply records an "unchanged" row. With -applied
// every done row's customer also gets an Applied record, as earlier runs
// would have left it (one transaction each, so this takes a while).
//
// benchgen exits 0 on success, 1 on an error and 2 on a usage error. It has
// no state of its own; it is not safe to run two -mkstate on one state file.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/juicebatch/juicebatch/batch/api"
	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/scripts/benchgen/gen"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		rows    = fs.Int("rows", 100000, "rows to generate")
		phones  = fs.String("phones", "e164", "phone form: e164 (95 % E.164, 5 % national) or national (all national, every row with a country)")
		seed    = fs.Uint64("seed", 1, "seed of the generator")
		out     = fs.String("o", "", "output `file` (.csv, .ndjson or .jsonl)")
		clean   = fs.Bool("clean", false, "no invalid and no repeated rows")
		mk      = fs.Bool("mkstate", false, "make a partly done state instead of generating a file")
		in      = fs.String("input", "", "-mkstate: the input `file`")
		state   = fs.String("state", "", "-mkstate: the state `file` to create (must not exist)")
		runID   = fs.String("run-id", "", "-mkstate: the run id (from plan's summary.json)")
		baseURL = fs.String("base-url", "", "-mkstate: the base `URL` the run sends to (the key comes from JUICEBATCH_API_KEY)")
		done    = fs.Float64("done", 0.9, "-mkstate: share of rows recorded done")
		applied = fs.Bool("applied", false, "-mkstate: also record an Applied entry for each done row's customer")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "benchgen: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected argument %q", fs.Arg(0))
	}
	if *mk {
		key := strings.TrimSpace(os.Getenv("JUICEBATCH_API_KEY"))
		if *in == "" || *state == "" || *runID == "" || *baseURL == "" || key == "" {
			return usage("-mkstate needs -input, -state, -run-id, -base-url and JUICEBATCH_API_KEY")
		}
		base, err := api.ParseBaseURL(*baseURL)
		if err != nil {
			return usage("-base-url: %v", err)
		}
		fp := api.Fingerprint(key)
		if !(*done >= 0 && *done <= 1) {
			return usage("-done must be between 0 and 1, got %v", *done)
		}
		n, err := makeState(ctx, stateSpec{input: *in, state: *state, runID: *runID, fingerprint: fp,
			target: base.String() + " " + fp, done: *done, applied: *applied})
		if err != nil {
			fmt.Fprintf(stderr, "benchgen: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: run %s with %d rows done\n", *state, *runID, n)
		return 0
	}

	opts := gen.Options{Rows: *rows, Seed: *seed, Clean: *clean}
	switch *phones {
	case "e164":
		opts.Phones = gen.PhonesMostlyE164
	case "national":
		opts.Phones = gen.PhonesNational
	default:
		return usage("-phones must be e164 or national, got %q", *phones)
	}
	if *out == "" || *rows < 0 {
		return usage("-o is required and -rows must not be negative")
	}
	write := gen.WriteCSV
	switch strings.ToLower(filepath.Ext(*out)) {
	case ".csv":
	case ".ndjson", ".jsonl":
		write = gen.WriteNDJSON
	default:
		return usage("-o %s: the extension must be .csv, .ndjson or .jsonl", *out)
	}
	if err := writeFile(*out, func(w io.Writer) error { return write(w, opts) }); err != nil {
		fmt.Fprintf(stderr, "benchgen: %v\n", err)
		return 1
	}
	return 0
}

// writeFile writes path through fn, removing it again on failure.
func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := fn(f); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// stateSpec is what -mkstate makes.
type stateSpec struct {
	input, state, runID, fingerprint, target string
	done                                     float64
	applied                                  bool
}

// makeState records the first done share of sp.input's rows as finished
// ("unchanged") in a new state file, and the run as stopped. It returns how
// many rows it recorded.
func makeState(ctx context.Context, sp stateSpec) (int, error) {
	if _, err := os.Stat(sp.state); err == nil {
		return 0, fmt.Errorf("make state: %s exists; remove it first", sp.state)
	}
	format, err := input.DetectFormat(sp.input, "")
	if err != nil {
		return 0, fmt.Errorf("make state: %w", err)
	}
	digest, total, err := countRows(sp.input, format)
	if err != nil {
		return 0, err
	}
	want := int(float64(total) * sp.done)

	st, err := checkpoint.Open(sp.state, checkpoint.Options{NoSync: true})
	if err != nil {
		return 0, fmt.Errorf("make state: %w", err)
	}
	defer st.Close()

	f, err := os.Open(sp.input)
	if err != nil {
		return 0, fmt.Errorf("make state: %w", err)
	}
	defer f.Close()
	rd, err := input.Open(f, format, input.Options{Name: sp.input})
	if err != nil {
		return 0, fmt.Errorf("make state: read %s: %w", sp.input, err)
	}
	abs, err := filepath.Abs(sp.input)
	if err != nil {
		return 0, fmt.Errorf("make state: %w", err)
	}
	start := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	rl := st.RunLog(sp.runID)
	n := 0
	for n < want && ctx.Err() == nil {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("make state: read %s: %w", sp.input, err)
		}
		id := strings.TrimSpace(rec.Values[input.ID].Text)
		sum := sha256.Sum256([]byte(id))
		row := checkpoint.Row{
			Num: rec.Num, Line: rec.Line, CustomerID: id, Status: checkpoint.StatusDone,
			Outcome: "unchanged", UpdatedAt: start.Add(time.Duration(n) * time.Millisecond),
		}
		if err := rl.Put(row); err != nil {
			return 0, fmt.Errorf("make state: %w", err)
		}
		if sp.applied && id != "" {
			fields := map[string][32]byte{"email": sum, "phone_number": sha256.Sum256(sum[:])}
			if err := rl.Outcome(nil, &checkpoint.AppliedUpdate{Scope: sp.target, CustomerID: id, Fields: fields, At: start}); err != nil {
				return 0, fmt.Errorf("make state: %w", err)
			}
		}
		n++
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := rl.Flush(); err != nil {
		return 0, fmt.Errorf("make state: %w", err)
	}
	run := checkpoint.Run{
		ID: sp.runID, Command: "apply", Input: abs, InputDigest: digest,
		Target: sp.target, KeyFingerprint: sp.fingerprint,
		StartedAt: start, UpdatedAt: start.Add(time.Duration(n) * time.Millisecond),
		TotalRows: total, Status: "stopped",
		Outcomes: map[string]int{"unchanged": n, "pending": total - n},
	}
	if err := st.PutRun(run); err != nil {
		return 0, fmt.Errorf("make state: %w", err)
	}
	if err := st.Close(); err != nil {
		return 0, fmt.Errorf("make state: close %s: %w", sp.state, err)
	}
	return n, nil
}

// countRows hashes path (the run's InputDigest is the file's SHA-256) and
// counts its rows as a run numbers them.
func countRows(path string, format input.Format) (string, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("make state: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := input.ScanIDs(io.TeeReader(f, h), format, input.Options{Name: path}, func(int, string) {})
	if err != nil {
		return "", 0, fmt.Errorf("make state: scan %s: %w", path, err)
	}
	if _, err := io.Copy(h, f); err != nil {
		return "", 0, fmt.Errorf("make state: read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
