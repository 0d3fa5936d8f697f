package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/juicebatch/juicebatch/sandbox"
)

const sandboxHelp = `Usage: juicebatch sandbox --keys KEY[,KEY] [flags]

Serve a local stand-in for the customer update API: PATCH /customers/{id} with
its documented rules (auth, validation, partial updates, per-key limits with
429 + Retry-After, Idempotency-Key replay), the read endpoints GET /customers
(pages by created_at) and GET /customers/{id} under their own hourly limit,
POST /_sandbox/edit (loopback, no auth) to change a record as the provider's
own app would, and GET /_sandbox/stats (no auth) for what it saw. Once listening it
prints one line, "sandbox listening on http://HOST:PORT", and serves until
interrupted (SIGINT/SIGTERM). It listens on loopback unless --listen names
another address; a --listen without a host (":8080") means 127.0.0.1.

Flags:
`

const sandboxExamples = `
Examples:
  juicebatch sandbox --listen 127.0.0.1:8080 --keys test_abc
  JUICEBATCH_SANDBOX_KEYS=test_a,test_b juicebatch sandbox --listen 127.0.0.1:0
  juicebatch sandbox --keys test_abc --customers customers.json --create-unknown \
      --fail-rate 0.1 --drop-after-apply 0.05 --latency 200ms --seed 7

  curl -X PATCH http://127.0.0.1:8080/customers/6f7e1e7f-93d1-4fcc-b7a4-738f869615c8 \
      -H 'Authorization: Bearer test_abc' -H 'Content-Type: application/json' \
      -H 'Idempotency-Key: first-try' -d '{"phone_number": "+2348012345678"}'
  curl -H 'Authorization: Bearer test_abc' 'http://127.0.0.1:8080/customers?limit=100&sort=created_at:asc'
  curl -X POST http://127.0.0.1:8080/_sandbox/edit \
      -d '{"id": "6f7e1e7f-93d1-4fcc-b7a4-738f869615c8", "set": {"email": "changed@example.com"}}'
  curl http://127.0.0.1:8080/_sandbox/stats
`

// sandboxShutdownGrace bounds how long in-flight requests may finish after
// the context ends.
const sandboxShutdownGrace = 5 * time.Second

// runSandbox implements "juicebatch sandbox".
func runSandbox(ctx context.Context, args []string, std stdio) int {
	fs := flag.NewFlagSet("juicebatch sandbox", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), sandboxHelp)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), sandboxExamples)
	}
	var (
		listen    = fs.String("listen", "127.0.0.1:8080", "`address` to listen on (port 0 picks a free port)")
		keys      = fs.String("keys", "", "accepted API `keys`, comma-separated (required; or env JUICEBATCH_SANDBOX_KEYS)")
		customers = fs.String("customers", "", "JSON `file`: an array of customers to seed (default: the API document's example customer)")
		create    = fs.Bool("create-unknown", false, "create a customer on its first PATCH instead of answering 404")
		perMinute = fs.Int("per-minute", 10, "requests per sliding 60-second window per API key")
		perDay    = fs.Int("per-day", 1000, "requests per UTC day per API key")
		readsHour = fs.Int("reads-per-hour", 1000, "read requests (GET /customers, GET /customers/{id}) per sliding hour per API key, apart from the update limits")
		failRate  = fs.Float64("fail-rate", 0, "`probability` of answering 503 before applying an update")
		dropRate  = fs.Float64("drop-after-apply", 0, "`probability` of applying an update, then closing the connection unanswered")
		latency   = fs.Duration("latency", 0, "`duration` added to every PATCH answer")
		seed      = fs.Int64("seed", 0, "seed for faults and request ids (default: random, logged)")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(std.err, "juicebatch sandbox: "+format+"\n", a...)
		fmt.Fprintln(std.err, `Run "juicebatch sandbox -h" for help.`)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q; the sandbox takes only flags", fs.Arg(0))
	}
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })

	keyList := splitKeys(*keys)
	if len(keyList) == 0 && std.getenv != nil {
		keyList = splitKeys(std.getenv("JUICEBATCH_SANDBOX_KEYS"))
	}
	switch {
	case len(keyList) == 0:
		return usageErr("--keys is required (or set JUICEBATCH_SANDBOX_KEYS)")
	case *perMinute < 1:
		return usageErr("--per-minute must be at least 1, got %d", *perMinute)
	case *perDay < 1:
		return usageErr("--per-day must be at least 1, got %d", *perDay)
	case *readsHour < 1:
		return usageErr("--reads-per-hour must be at least 1, got %d", *readsHour)
	case !(*failRate >= 0 && *failRate <= 1):
		return usageErr("--fail-rate must be between 0 and 1, got %v", *failRate)
	case !(*dropRate >= 0 && *dropRate <= 1):
		return usageErr("--drop-after-apply must be between 0 and 1, got %v", *dropRate)
	case *latency < 0:
		return usageErr("--latency must not be negative, got %v", *latency)
	}
	addr, err := loopbackDefault(*listen)
	if err != nil {
		return usageErr("--listen %q: %v", *listen, err)
	}

	logger := slog.New(slog.NewTextHandler(std.err, nil))
	fatal := func(format string, a ...any) int {
		fmt.Fprintf(std.err, "juicebatch sandbox: "+format+"\n", a...)
		return exitFatal
	}
	opts := sandbox.Options{
		Keys:           keyList,
		CreateUnknown:  *create,
		PerMinute:      *perMinute,
		PerDay:         *perDay,
		ReadsPerHour:   *readsHour,
		FailRate:       *failRate,
		DropAfterApply: *dropRate,
		Latency:        *latency,
		Seed:           *seed,
		Logger:         logger,
	}
	if !seedSet {
		opts.Seed = time.Now().UnixNano()
		logger.Info("sandbox seed chosen; pass --seed to repeat this run's faults", "seed", opts.Seed)
	}
	if *customers != "" {
		cs, err := loadCustomersFile(*customers)
		if err != nil {
			return fatal("%v", err)
		}
		opts.Customers = cs
	}
	sb, err := sandbox.New(opts)
	if err != nil {
		return fatal("%v", err)
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fatal("listen on %s: %v", addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		logger.Warn("sandbox listening beyond loopback, as --listen asked", "addr", tcp.String())
	}
	srv := &http.Server{
		Handler:           sb,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(std.out, "sandbox listening on http://%s\n", ln.Addr())

	select {
	case err := <-served:
		return fatal("serve: %v", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sandboxShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("sandbox: requests still running after the grace period; closing them", "err", err)
		_ = srv.Close() // the error is the listener's, already closed by Shutdown
	}
	<-served // http.ErrServerClosed
	logger.Info("sandbox stopped")
	return exitOK
}

// splitKeys splits a comma-separated key list, dropping blanks.
func splitKeys(s string) []string {
	var out []string
	for _, k := range strings.Split(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// loopbackDefault checks a host:port and fills an empty host with
// 127.0.0.1, so the sandbox never listens beyond loopback by accident.
func loopbackDefault(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", err
	}
	if port == "" {
		return "", errors.New("missing port")
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// loadCustomersFile reads a --customers file.
func loadCustomersFile(path string) ([]sandbox.Customer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read customers: %w", err)
	}
	defer f.Close()
	cs, err := sandbox.LoadCustomers(f)
	if err != nil {
		return nil, fmt.Errorf("read customers %s: %w", path, err)
	}
	return cs, nil
}
