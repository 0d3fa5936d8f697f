package main

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, the documented table (README "Exit codes"). Every command maps
// its outcome to one of these here and nowhere else.
const (
	exitOK      = 0 // every row updated or unchanged
	exitFatal   = 1 // configuration, auth rejected, state locked, input unreadable
	exitUsage   = 2 // usage error
	exitRowsBad = 3 // finished, but some rows invalid, rejected or failed
	exitStopped = 4 // stopped early (daily budget, signal); run again to resume
)

// stdio is what a command may touch of the process: its streams and its
// environment. Tests pass buffers and a map-backed getenv.
type stdio struct {
	in     io.Reader
	out    io.Writer
	err    io.Writer
	getenv func(string) string
	// setMemoryLimit sets the process's soft memory limit (main passes
	// debug.SetMemoryLimit; tests leave it nil).
	setMemoryLimit func(int64) int64
}

const usage = `juicebatch pushes customer updates from CSV or NDJSON files into the
rate-limited customer update API (PATCH /customers/{id}), safely and without waste.

Usage:
  juicebatch apply   [flags] FILE...  send the updates in FILE ("-" = stdin)
  juicebatch plan    [flags] FILE...  validate and diff FILE; write the report of what
                                      apply would send; sends nothing, needs no key
  juicebatch verify  [flags] FILE...  compare FILE with the live records; sends no update
  juicebatch status  [flags]          runs recorded in the state file, their progress,
                                      and today's quota use per API key
  juicebatch sandbox [flags]          a local server that behaves like the documented API

FILE is CSV or NDJSON, perhaps gzip-compressed (.csv.gz); several files (an
export's shards) are read in the order given as one input.

Examples:
  juicebatch apply --sandbox --map testdata/crm-mapping.json testdata/crm-export.csv
  JUICEBATCH_API_KEY=live_... juicebatch apply --map mapping.json customers.csv
  juicebatch plan customers.ndjson
  juicebatch apply --map mapping.json export/export-*.csv.gz
  juicebatch sandbox --listen 127.0.0.1:8080 --keys test_abc

Run "juicebatch COMMAND -h" for a command's flags. "juicebatch --version" prints the version.
`

// run dispatches to a command and returns the process exit code.
func run(ctx context.Context, args []string, std stdio) int {
	if len(args) == 0 {
		fmt.Fprint(std.err, usage)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(std.out, usage)
		return exitOK
	case "-version", "--version", "version":
		fmt.Fprintf(std.out, "juicebatch %s\n", version)
		return exitOK
	case "apply":
		return runApply(ctx, rest, std)
	case "plan":
		return runPlan(ctx, rest, std)
	case "verify":
		return runVerify(ctx, rest, std)
	case "status":
		return runStatus(ctx, rest, std)
	case "sandbox":
		return runSandbox(ctx, rest, std)
	default:
		hint := ""
		if strings.HasPrefix(cmd, "-") {
			hint = " (flags go after the command)"
		}
		fmt.Fprintf(std.err, "juicebatch: unknown command %q%s\n\n%s", cmd, hint, usage)
		return exitUsage
	}
}
