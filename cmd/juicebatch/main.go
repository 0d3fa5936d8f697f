// Command juicebatch pushes customer updates from CSV or NDJSON files into
// the rate-limited customer update API, safely and without waste.
//
// main only turns signals into a context and exits with what run returns,
// so the whole command line can be tested in-process.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// defaultGCPercent: the live heap of a run is small (a few MiB plus about 9
// bytes a row), so collecting at 5× it instead of 2× saves a sixth of plan's
// CPU; the soft memory limit (see memoryLimit) keeps the total near the 64
// MiB a small pod gets. GOGC and GOMEMLIMIT in the environment win.
const defaultGCPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		// First signal: stop taking rows, drain, checkpoint, report.
		<-sigs
		cancel()
		// Second signal: leave now. Intents are already durable, so a
		// later run resumes exactly.
		<-sigs
		fmt.Fprintln(os.Stderr, "juicebatch: second signal, exiting now; run the same command again to resume")
		os.Exit(exitStopped)
	}()
	os.Exit(run(ctx, os.Args[1:], stdio{
		in:             os.Stdin,
		out:            os.Stdout,
		err:            os.Stderr,
		getenv:         os.Getenv,
		setMemoryLimit: debug.SetMemoryLimit,
	}))
}
