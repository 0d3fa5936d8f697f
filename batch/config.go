package batch

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/ratelimit"
)

// Config is everything a run needs. The command line fills it; tests fill it
// directly. Zero values take the documented defaults (see withDefaults).
type Config struct {
	// Input is the file to read, "-" for Stdin.
	Input string
	// Inputs, when set, are several files read in this order as one input
	// (gzip shards of one export); Input is then not used. "-" is not
	// allowed among several.
	Inputs []string
	Stdin  io.Reader
	// Format is the --format value ("csv", "ndjson", "jsonl"); "" detects
	// the format from the extension (or, for stdin, from the first bytes).
	Format      string
	Mapping     input.Mapping
	EmptyClears bool
	Strict      bool
	PhoneRegion string
	// StrictValues (--strict-values) makes every warning a refusal: a row
	// whose values the update endpoint allows but juicebatch suspects
	// (see normalize.Warning) is invalid instead of sent.
	StrictValues bool

	// BaseURL is where updates go; Sandbox names the in-process sandbox
	// instead, whose scope is fixed so that rehearsals resume and skip
	// unchanged rows like real runs.
	BaseURL    string
	Sandbox    bool
	Key        Secret // the API key; prints as [redacted]
	AuthScheme string // "bearer" or "plain"
	UserAgent  string
	HTTPClient *http.Client

	Rate        ratelimit.Rate
	Concurrency int
	Timeout     time.Duration
	MaxRetries  int
	DailyBudget int
	Wait        bool // when the day's budget is spent, wait for the next UTC day
	Full        bool // send unchanged rows too
	// Refresh says whose live records are read before writing: "auto"
	// (default: customers the state has no applied record of), "all" or
	// "none". ReadRate paces those reads (zero: 1000/h). RetryRejected
	// sends updates the server rejected before (400/404/422) again.
	Refresh       string
	ReadRate      ratelimit.Rate
	RetryRejected bool
	NewRun        bool // start a new run even if this input has one in the state
	Grace         time.Duration

	StatePath string
	ReportDir string
	// StatusFile, when set, is where apply keeps a small JSON snapshot of
	// its progress while it runs (see Status), for `juicebatch status`.
	StatusFile string

	Clock  clockwork.Clock
	Logger *slog.Logger
	// HeldMemory, when set, is told how many bytes the run will hold for
	// its whole length beyond what its input's size predicts: the index
	// of raw-row digests (8 bytes a row), before the walk of the state
	// fills it, and 0 if the walk then gives up. The caller may raise the
	// process's soft memory limit by as much (cmd/juicebatch does, for
	// apply); batch itself sets no limit. It is called from another
	// goroutine than the one running Apply or Plan.
	HeldMemory func(bytes int64)
	// Progress, when set, gets a snapshot every ProgressEvery and at the end.
	Progress      Progress
	ProgressEvery time.Duration
	// RetryBase is the backoff before the first retry (it doubles, with
	// jitter, up to five minutes); 0 → one second.
	RetryBase time.Duration
	// Rand drives retry jitter; nil → a random source.
	// (MaxRetries, unlike the other numbers, is used as given: 0 means no
	// retries. The command line's default is DefaultMaxRetries.)
	Rand func() float64
}

// Defaults, as the README documents them.
const (
	DefaultConcurrency = 2
	DefaultTimeout     = 30 * time.Second
	DefaultMaxRetries  = 5
	DefaultDailyBudget = 1000
	DefaultGrace       = 20 * time.Second
	DefaultStatePath   = "juicebatch.db"
	DefaultReportDir   = "juicebatch-report"
)

// backoffMax bounds the wait between two retries of a row.
const backoffMax = 5 * time.Minute

// maxRateLimitWait is the longest 429 wait the run sits through on its own.
// A longer Retry-After means the server-side day is spent (by this job or
// another user of the key): the run stops like on its own budget.
const maxRateLimitWait = 15 * time.Minute

// ErrConfig marks a configuration problem (exit 1).
var ErrConfig = errors.New("configuration")

// ErrUsage marks a command-line mistake found only once the inputs are
// looked at, such as CSV and NDJSON files given together (exit 2).
var ErrUsage = errors.New("usage")

func (c Config) withDefaults() Config {
	if c.Rate.N == 0 {
		c.Rate = ratelimit.Rate{N: 10, Per: time.Minute}
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	}
	if c.DailyBudget <= 0 {
		c.DailyBudget = DefaultDailyBudget
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	if c.StatePath == "" {
		c.StatePath = DefaultStatePath
	}
	if c.ReportDir == "" {
		c.ReportDir = DefaultReportDir
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 30 * time.Second
	}
	if c.RetryBase <= 0 {
		c.RetryBase = time.Second
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.UserAgent == "" {
		c.UserAgent = "juicebatch"
	}
	return c
}

// Secret is an API key. It prints as "[redacted]" with every fmt verb, in
// slog and in JSON, so that a Config in a log line, a panic or a test
// failure never shows the key. string(s) is the key.
type Secret string

const redacted = "[redacted]"

func (s Secret) show() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer.
func (s Secret) String() string { return s.show() }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.show()) }

// Format implements fmt.Formatter, so that no verb (%x, %q, ...) shows the key.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.show())
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.show()) }

// MarshalText implements encoding.TextMarshaler (and so JSON).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.show()), nil }

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
}
