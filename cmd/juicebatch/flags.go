package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/juicebatch/juicebatch/batch"
	"github.com/juicebatch/juicebatch/batch/api"
	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/ratelimit"
)

// errUsage marks a command-line mistake (exit 2); the message has been
// printed with the command's usage.
var errUsage = errors.New("usage")

// parseArgs parses flags that may come before or after the positional
// arguments, as the contract promises ("apply FILE --full" works). "--"
// ends the flags.
//
// For -h it prints nothing and returns flag.ErrHelp (the caller prints the
// usage to stdout); for a bad flag, flag's message and the usage go to the
// FlagSet's output.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	usage := fs.Usage
	fs.Usage = func() {} // flag calls it for -h too; that is the caller's
	defer func() { fs.Usage = usage }()
	for {
		if err := fs.Parse(args); err != nil {
			if !errors.Is(err, flag.ErrHelp) {
				usage()
			}
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ", ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// runFlags are the flags apply and plan share.
type runFlags struct {
	mapFile       string
	columns       stringList
	format        string
	strict        bool
	strictValues  bool
	emptyClears   bool
	phoneRegion   string
	baseURL       string
	apiKeyFile    string
	authScheme    string
	rate          ratelimit.Rate
	rateSet       bool
	concurrency   int
	timeout       time.Duration
	maxRetries    int
	dailyBudget   int
	wait          bool
	full          bool
	newRun        bool
	grace         time.Duration
	state         string
	reportDir     string
	logFormat     string
	logLevel      string
	progressEvery time.Duration
	noProgress    bool
	sandbox       bool
	metricsPush   string
	metricsFile   string
	refresh       string
	readRate      ratelimit.Rate
	retryRejected bool
}

// rateFlag records whether --rate was given, so --sandbox can pick its own
// default pace.
type rateFlag struct{ f *runFlags }

func (r rateFlag) String() string {
	if r.f == nil {
		return ""
	}
	return r.f.rate.String()
}
func (r rateFlag) Set(s string) error {
	rt, err := ratelimit.ParseRate(s)
	if err != nil {
		return err
	}
	r.f.rate, r.f.rateSet = rt, true
	return nil
}

func (f *runFlags) register(fs *flag.FlagSet, std stdio, cmd string) {
	envOr := func(name, def string) string {
		if v := std.getenv(name); v != "" {
			return v
		}
		return def
	}
	f.rate = ratelimit.Rate{N: 10, Per: time.Minute}
	fs.StringVar(&f.mapFile, "map", "", "JSON `file` mapping the input's column names to fields, e.g. {\"Record ID\": \"id\"}")
	fs.Var(&f.columns, "column", "map one column: \"Header=field\" (repeatable)")
	fs.StringVar(&f.format, "format", "", "input format: csv or ndjson (default: from the extension)")
	fs.BoolVar(&f.strict, "strict", false, "make columns that map to no field a fatal error")
	fs.BoolVar(&f.strictValues, "strict-values", false, "make every warning (names with digits or punctuation, control characters, a phone of another country...) refuse its row as invalid")
	fs.BoolVar(&f.emptyClears, "empty-clears", false, "an empty CSV cell clears its field (default: no change)")
	fs.StringVar(&f.phoneRegion, "phone-region", "", "country for national-format phone numbers when a row has no billing_address.country (e.g. NG, GB)")
	fs.StringVar(&f.baseURL, "base-url", envOr("JUICEBATCH_BASE_URL", api.DefaultBaseURL), "API base `URL` (env JUICEBATCH_BASE_URL); http:// only to loopback")
	fs.StringVar(&f.apiKeyFile, "api-key-file", "", "read the API key from this `file` (default: env JUICEBATCH_API_KEY)")
	fs.StringVar(&f.authScheme, "auth-scheme", "bearer", "Authorization header form: bearer or plain")
	fs.Var(rateFlag{f}, "rate", "requests per period, e.g. 10/min, 600/min, 5/s (default 10/min; 10/s with --sandbox)")
	fs.IntVar(&f.concurrency, "concurrency", batch.DefaultConcurrency, "requests in flight at once (the pace is shared)")
	fs.DurationVar(&f.timeout, "timeout", batch.DefaultTimeout, "timeout of one request")
	fs.IntVar(&f.maxRetries, "max-retries", batch.DefaultMaxRetries, "retries of a row after network errors, timeouts and 5xx (429 waits do not count)")
	fs.IntVar(&f.dailyBudget, "daily-budget", batch.DefaultDailyBudget, "requests this job may spend per UTC day for this key, retries included")
	fs.BoolVar(&f.wait, "wait", false, "when the day's budget is spent, sleep until the next UTC day and go on")
	fs.BoolVar(&f.full, "full", false, "send rows even when they equal what was last applied")
	fs.BoolVar(&f.newRun, "new-run", false, "start a new run even if the state has one for this input (finished rows are sent again unless unchanged)")
	fs.DurationVar(&f.grace, "grace", batch.DefaultGrace, "on SIGINT/SIGTERM, how long requests in flight may take to finish")
	fs.StringVar(&f.state, "state", envOr("JUICEBATCH_STATE", batch.DefaultStatePath), "state `file` (env JUICEBATCH_STATE)")
	fs.StringVar(&f.reportDir, "report", batch.DefaultReportDir, "report `directory`")
	fs.StringVar(&f.logFormat, "log-format", "", "text or json (default: text on a terminal, json otherwise)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&f.progressEvery, "progress-interval", 30*time.Second, "off a terminal, log a progress line this often")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no progress bar or progress lines")
	f.readRate = ratelimit.Rate{N: 1000, Per: time.Hour}
	fs.Var(&f.readRate, "read-rate", "pace of read requests (GET), apart from updates, e.g. 1000/h")
	if cmd != "verify" {
		fs.StringVar(&f.refresh, "refresh", batch.RefreshAuto, "read live records before writing: auto (customers the state has no applied record of), all, or none")
	}
	if cmd == "apply" {
		fs.BoolVar(&f.retryRejected, "retry-rejected", false, "send updates the server rejected before (400/404/422) again")
		fs.StringVar(&f.metricsPush, "metrics-push", "", "at the end, push the run's counters to this Prometheus Pushgateway `URL`")
		fs.StringVar(&f.metricsFile, "metrics-file", "", "at the end, write the run's counters to this `file` in the node exporter's textfile format")
		fs.BoolVar(&f.sandbox, "sandbox", false, "run against an in-process sandbox that knows every id (a rehearsal; nothing leaves this machine)")
	}
}

// config turns flags into a batch.Config (without key, logger, progress).
func (f *runFlags) config(files []string, std stdio) (batch.Config, error) {
	cfg := batch.Config{
		Input: files[0], Stdin: std.in, Format: f.format,
		EmptyClears: f.emptyClears, Strict: f.strict, PhoneRegion: f.phoneRegion, StrictValues: f.strictValues,
		BaseURL: f.baseURL, AuthScheme: f.authScheme, UserAgent: "juicebatch/" + version,
		Rate: f.rate, Concurrency: f.concurrency, Timeout: f.timeout, MaxRetries: f.maxRetries,
		DailyBudget: f.dailyBudget, Wait: f.wait, Full: f.full, NewRun: f.newRun, Grace: f.grace,
		StatePath: f.state, ReportDir: f.reportDir, ProgressEvery: f.progressEvery,
		StatusFile: batch.StatusPath(f.state),
		Refresh:    f.refresh, ReadRate: f.readRate, RetryRejected: f.retryRejected,
	}
	if len(files) > 1 {
		cfg.Inputs = files
	}
	if f.mapFile != "" {
		m, err := input.LoadMapping(f.mapFile)
		if err != nil {
			return cfg, fmt.Errorf("%w: %w", batch.ErrConfig, err)
		}
		cfg.Mapping = m
	}
	for _, c := range f.columns {
		if err := cfg.Mapping.AddColumn(c); err != nil {
			return cfg, fmt.Errorf("%w: --column %q: %w", errUsage, c, err)
		}
	}
	switch {
	case f.concurrency < 1:
		return cfg, fmt.Errorf("%w: --concurrency must be at least 1", errUsage)
	case f.dailyBudget < 1:
		return cfg, fmt.Errorf("%w: --daily-budget must be at least 1", errUsage)
	case f.maxRetries < 0:
		return cfg, fmt.Errorf("%w: --max-retries must not be negative", errUsage)
	case f.timeout <= 0 || f.grace <= 0 || f.progressEvery <= 0:
		return cfg, fmt.Errorf("%w: --timeout, --grace and --progress-interval must be positive", errUsage)
	}
	return cfg, nil
}

// apiKey reads the key from --api-key-file or JUICEBATCH_API_KEY. The key
// itself never appears in a message.
func (f *runFlags) apiKey(std stdio) (string, error) {
	if f.apiKeyFile != "" {
		b, err := os.ReadFile(f.apiKeyFile)
		if err != nil {
			return "", fmt.Errorf("%w: read --api-key-file: %w", batch.ErrConfig, err)
		}
		key := strings.TrimSpace(string(b))
		if key == "" {
			return "", fmt.Errorf("%w: --api-key-file %s is empty", batch.ErrConfig, f.apiKeyFile)
		}
		return key, nil
	}
	return strings.TrimSpace(std.getenv("JUICEBATCH_API_KEY")), nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newLogger builds the run's slog logger on stderr.
func (f *runFlags) newLogger(std stdio) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, f.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	format := f.logFormat
	if format == "" {
		format = "json"
		if isTerminal(std.err) {
			format = "text"
		}
	}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(std.err, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(std.err, opts)), nil
	}
	return nil, fmt.Errorf("%w: --log-format %q: want text or json", errUsage, format)
}
