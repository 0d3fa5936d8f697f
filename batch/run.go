package batch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/juicebatch/juicebatch/batch/api"
	"github.com/juicebatch/juicebatch/batch/input"
	"github.com/juicebatch/juicebatch/batch/normalize"
	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/ratelimit"
	"github.com/juicebatch/juicebatch/report"
)

// staleKeyAge is how long the provider keeps an Idempotency-Key. An update
// left in flight for longer is still re-sent with its key (a new key could
// only make a duplicate likelier), but the run says so.
const staleKeyAge = 24 * time.Hour

// keepRuns is how many runs the state file keeps; older runs and their row
// records are pruned at the end of a run, so a nightly job's state does not
// grow without end.
const keepRuns = 30

// stopReason says why a run stopped early.
type stopReason int

const (
	stopNone        stopReason = iota
	stopSignal                 // SIGINT/SIGTERM
	stopBudget                 // this key's daily budget in the state is spent
	stopServerQuota            // the server asked to wait past a rate-limit pause
	stopFatal                  // auth rejected, state unwritable, input unreadable
)

func (s stopReason) String() string {
	switch s {
	case stopSignal:
		return "signal"
	case stopBudget:
		return "daily budget spent"
	case stopServerQuota:
		return "server quota spent"
	case stopFatal:
		return "fatal error"
	}
	return ""
}

// Result is what a run came to. The report has been written when it is
// returned, also alongside an error that stopped the run midway.
type Result struct {
	Summary   report.Summary
	ReportDir string
	// Stopped says why the run stopped early ("" when it did not).
	Stopped string
	// Resumed is true when the run picked up an earlier invocation's work.
	Resumed bool
	// Samples are a few bodies plan would send.
	Samples []Sample
	// StaleKeys counts updates re-sent with a key older than the server
	// keeps keys.
	StaleKeys int
	// KeyFingerprint identifies the API key (its test_/live_ prefix and a
	// short hash), "" when there was none.
	KeyFingerprint string
	// UnchangedByRead counts updates found unchanged by reading the live
	// record (--refresh, verify's matches).
	UnchangedByRead int
}

// Sample is one update plan would send.
type Sample struct {
	Row           int
	ID            string
	Body          string
	ImpliedClears []string
	// Fields are the body's fields with what each changes (report.html).
	Fields []report.FieldChange
	// Warnings are the warnings of the rows the update came from.
	Warnings []string
	// Diffs are the fields the live record holds otherwise
	// ("email: old → new"), when it was read.
	Diffs []string
}

// AuthError is a 401 or 403: the key is wrong, expired, or for the other
// environment. The run stops at once so that it does not burn the day.
type AuthError struct {
	Status int
	Detail string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("the API rejected the key (%s); stopped after the first rejected request so no more quota is spent", e.Detail)
}

// EndpointError is an API endpoint that answers every request alike with
// something other than an update: a redirect, a certificate the client does
// not trust. The run stops after the first such answer.
type EndpointError struct{ Detail string }

func (e *EndpointError) Error() string {
	return "the API endpoint cannot be used (" + e.Detail + "); stopped after the first request"
}

// StateError is a state file that cannot be used (locked by another process,
// foreign, corrupt, unwritable).
type StateError struct{ Err error }

func (e *StateError) Error() string { return e.Err.Error() }
func (e *StateError) Unwrap() error { return e.Err }

// runner holds one run's parts and counters.
type runner struct {
	cfg   Config
	cmd   string
	log   *slog.Logger
	clock clockwork.Clock

	src    *source
	scan   *scan
	store  *checkpoint.Store  // where the run's rows are recorded
	state  *checkpoint.Store  // what change detection reads (nil: nothing applied yet)
	rl     *checkpoint.RunLog // apply's row store: the state
	plan   *planRows          // plan's row store: in memory
	run    checkpoint.Run
	resume bool
	norm   *normalize.Normalizer
	client *api.Client
	pacer  *ratelimit.Pacer
	rf     *refresher // reads of live records (refresh.go); nil: none
	scope  string
	fp     string
	salt   []byte
	// rawBase is the run's part of every raw-row digest (see rawBase).
	rawBase [32]byte
	// rawIndex holds the scope's raw digests when the shortcut reads most
	// customers (indexRaw); nil: look each row up. rawIndexC delivers it
	// from startRawIndex.
	rawIndex  *checkpoint.RawIndex
	rawIndexC chan *checkpoint.RawIndex

	seen                           atomic.Int64
	rawHits                        atomic.Int64 // rows found unchanged from their raw digest
	requests, retries, rateLimited atomic.Int64
	staleKeys                      atomic.Int64

	// started is when this invocation started; a resumed run's own start
	// is run.StartedAt.
	started time.Time
	// bl is the backlog of changes waiting for budget (backlog.go); pass
	// says which rows the current pass over the input handles.
	bl   backlog
	pass pass

	mu       sync.Mutex
	outcomes map[string]int // rows decided by this invocation
	// carried counts, by outcome, the rows an earlier invocation of the
	// run had finished.
	carried map[string]int
	// carriedSet marks those rows, so that the report pass counts only
	// this invocation's rows in the summary's reasons and warnings.
	carriedSet rowSet
	// quiet marks the rows apply found unchanged, with nothing to report
	// but that, and did not record (see finishRows); recordedBefore, in
	// a resumed invocation, the rows that have a record from an earlier
	// one, which a later decision must overwrite.
	quiet, recordedBefore rowSet
	planReqs              int
	samples               []Sample
	// differences and diffTotal are verify's differing rows for
	// report.html (the first report.MaxListedRows of them) and their count.
	differences []report.Change
	diffTotal   int
	reason      stopReason
	fatalErr    error
	stopFeed    context.CancelFunc
	abortSends  context.CancelFunc
	waitOnce    sync.Once

	// keyOK is closed once the server has accepted the key; until then
	// probe lets one request at a time through (see keyGate).
	keyOK     chan struct{}
	keyOKOnce sync.Once
	probe     chan struct{}
}

func newRunner(cfg Config, cmd string) *runner {
	return &runner{
		cfg: cfg, cmd: cmd, log: cfg.Logger, clock: cfg.Clock, outcomes: map[string]int{}, carried: map[string]int{},
		started: cfg.Clock.Now().UTC(),
		keyOK:   make(chan struct{}), probe: make(chan struct{}, 1),
	}
}

// Apply sends the updates in cfg.Input. See the package doc.
func Apply(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	r := newRunner(cfg, report.CommandApply)
	if cfg.Key == "" {
		return nil, configErr("no API key: set JUICEBATCH_API_KEY or --api-key-file")
	}
	client, err := api.New(api.Config{
		BaseURL: cfg.BaseURL, Key: string(cfg.Key), AuthScheme: cfg.AuthScheme, UserAgent: cfg.UserAgent,
		Timeout: cfg.Timeout, HTTPClient: cfg.HTTPClient, Now: cfg.Clock.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	r.client = client
	base, _ := api.ParseBaseURL(cfg.BaseURL)
	r.fp = api.Fingerprint(string(cfg.Key))
	r.scope = scopeFor(cfg, base.String(), r.fp)
	if w := api.KeyWarning(string(cfg.Key), base); w != "" && !cfg.Sandbox {
		r.log.Warn(w)
	}

	store, err := checkpoint.Open(cfg.StatePath, checkpoint.Options{})
	if err != nil {
		return nil, &StateError{Err: err}
	}
	defer store.Close()
	r.store, r.state, r.salt = store, store, store.Salt()

	r.startRawIndex(ctx)
	defer r.dropRawIndex() // never left running past the state's Close
	if err := r.openInput(); err != nil {
		return nil, err
	}
	defer r.src.close()

	if err := r.startRun(); err != nil {
		return nil, err
	}
	recent, err := store.RecentSends(r.fp)
	if err != nil {
		return nil, &StateError{Err: err}
	}
	r.pacer = ratelimit.NewPacer(cfg.Rate, r.clock, recent)
	r.rl = store.RunLog(r.run.ID)
	if err := r.loadBacklog(); err != nil {
		return nil, err
	}
	if r.rf, err = r.newRefresher(cfg.Refresh); err != nil {
		return nil, err
	}
	return r.execute(ctx)
}

// Plan validates and diffs cfg.Input and writes the report of what Apply
// would send. It sends nothing and needs no key; it reads the state file
// (without changing it) for change detection.
func Plan(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	r := newRunner(cfg, report.CommandPlan)
	base, err := api.ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	state, err := checkpoint.Open(cfg.StatePath, checkpoint.Options{ReadOnly: true})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.log.Info("no state file yet: every valid row counts as a change", "state", cfg.StatePath)
	case err != nil:
		return nil, &StateError{Err: err}
	default:
		defer state.Close()
		r.state = state
	}
	if cfg.Key != "" {
		r.fp = api.Fingerprint(string(cfg.Key))
		r.scope = scopeFor(cfg, base.String(), r.fp)
		// With a key, plan can read the live records (--refresh).
		if r.client, err = r.newClient(); err != nil {
			return nil, err
		}
	} else if r.state != nil {
		r.scope, err = r.guessScope(base.String())
		if err != nil {
			return nil, &StateError{Err: err}
		}
	}

	r.startRawIndex(ctx)
	defer r.dropRawIndex() // never left running past the state's Close
	if err := r.openInput(); err != nil {
		return nil, err
	}
	defer r.src.close()

	if err := os.MkdirAll(cfg.ReportDir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: create report directory %s: %w", ErrConfig, cfg.ReportDir, err)
	}
	if r.plan, err = newPlanRows(cfg.ReportDir); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	defer r.plan.close()
	if err := r.startRun(); err != nil {
		return nil, err
	}
	if err := r.loadPlanBacklog(); err != nil {
		return nil, err
	}
	if r.rf, err = r.newRefresher(cfg.Refresh); err != nil {
		return nil, err
	}
	return r.execute(ctx)
}

// scopeFor names where updates go, for change detection and keys: the base
// URL and the key's fingerprint, or the sandbox. A rehearsal against the
// sandbox can never make a production run skip a row.
func scopeFor(cfg Config, base, fp string) string {
	if cfg.Sandbox {
		return "sandbox " + fp
	}
	return base + " " + fp
}

// guessScope finds, for a plan without a key, the one key fingerprint that
// has applied updates to base in the state.
func (r *runner) guessScope(base string) (string, error) {
	scopes, err := r.state.Scopes()
	if err != nil {
		return "", err
	}
	var match []string
	for _, s := range scopes {
		if len(s) > len(base) && s[:len(base)+1] == base+" " {
			match = append(match, s)
		}
	}
	switch len(match) {
	case 0:
		return "", nil
	case 1:
		r.log.Info("no API key given: comparing with what the state records for the only key used with this URL", "key", match[0][len(base)+1:])
		return match[0], nil
	}
	r.log.Warn("no API key given and several keys have state for this URL: every valid row counts as a change; set JUICEBATCH_API_KEY to compare with the right one")
	return "", nil
}

// openInput opens the input, runs the first pass, and builds the normalizer.
// Every problem here stops the run before anything is sent.
func (r *runner) openInput() error {
	src, err := openSource(&r.cfg, r.cfg.ReportDir)
	if err != nil {
		return err
	}
	r.src = src
	if src.stdin == nil {
		if r.scan, err = src.scan(); err != nil {
			src.close()
			return err
		}
	} else {
		r.log.Info("reading stdin once: rows for the same id are sent one after the other in file order, not merged")
	}
	// A value of only spaces means what an empty one means in that
	// format: no change in CSV (unless --empty-clears), clear in NDJSON.
	blankClears := src.format == input.NDJSON || r.cfg.EmptyClears
	norm, err := normalize.New(normalize.Options{
		File: displayName(r.cfg.Input), PhoneRegion: r.cfg.PhoneRegion,
		BlankClears:  blankClears,
		StrictValues: r.cfg.StrictValues,
	})
	r.rawBase = rawBase(&r.cfg, src.format, blankClears)
	if err != nil {
		src.close()
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	r.norm = norm
	return nil
}

// startRun finds the run this input and these options belong to, or starts
// one.
func (r *runner) startRun() error {
	parts := []string{r.src.digest, r.src.format.String(), r.cfg.Mapping.Digest(),
		strconv.FormatBool(r.cfg.EmptyClears), strconv.FormatBool(r.cfg.Strict), r.cfg.PhoneRegion, r.scope}
	if r.cfg.StrictValues {
		// It changes outcomes, so it is part of the run; only when set,
		// so that the runs of earlier versions keep their identity.
		parts = append(parts, "strict-values")
	}
	id := runID(parts...)
	now := r.clock.Now().UTC()
	total := -1
	if r.scan != nil {
		total = r.scan.rows
	}
	// A run is found under its identity, or under a later generation of it
	// ("ID.2", ...) that --new-run started.
	runs := r.store
	if r.cmd != report.CommandApply {
		runs = r.state // plan and verify name the run apply would resume
	}
	var prev checkpoint.Run
	latest, gen := "", 1
	for ; runs != nil; gen++ {
		run, ok, err := runs.GetRun(generation(id, gen))
		if err != nil {
			return &StateError{Err: err}
		}
		if !ok {
			break
		}
		latest, prev = run.ID, run
	}
	// --refresh all re-reads every customer: a finished run of the same
	// input is not resumed (it would carry its rows over unread) but
	// followed by a new generation.
	recheck := r.cfg.Refresh == RefreshAll && prev.Status == "finished" && r.cmd == report.CommandApply
	if latest != "" && !r.cfg.NewRun && !recheck {
		r.run = prev
		r.resume = r.cmd == report.CommandApply
		r.run.Status = "running"
		r.run.UpdatedAt = now
		r.run.TotalRows = total
		if r.resume {
			r.log.Info("resuming run", "run", r.run.ID, "started", r.run.StartedAt.Format(time.RFC3339))
		}
	} else {
		r.run = checkpoint.Run{
			ID: generation(id, gen), Command: r.cmd, Input: r.src.absName(), InputDigest: r.src.digest,
			Target: r.scope, KeyFingerprint: r.fp, StartedAt: now, UpdatedAt: now,
			TotalRows: total, Status: "running", Outcomes: map[string]int{},
		}
	}
	if r.cmd == report.CommandApply {
		if err := r.store.PutRun(r.run); err != nil {
			return &StateError{Err: err}
		}
	}
	return nil
}

// generation names the gen-th run of an identity.
func generation(id string, gen int) string {
	if gen <= 1 {
		return id
	}
	return id + "." + strconv.Itoa(gen)
}

// stop ends feeding for reason; the first reason wins.
func (r *runner) stop(reason stopReason) {
	r.mu.Lock()
	if r.reason == stopNone {
		r.reason = reason
	}
	r.mu.Unlock()
	r.stopFeed()
}

// fatal stops the run at once for an error that makes it impossible: no new
// request leaves, and requests on the wire are abandoned. The first error is
// the run's.
func (r *runner) fatal(err error) {
	r.halt(err)
	r.abortSends()
}

// halt stops the run for err without cutting off requests on the wire:
// for an input that cannot be read on, whose rows already sent deserve
// their answers (and their outcomes in the state).
func (r *runner) halt(err error) {
	r.mu.Lock()
	if r.fatalErr == nil {
		r.fatalErr = err
		r.reason = stopFatal
	}
	r.mu.Unlock()
	r.stopFeed()
}

// stopReason returns why the run stopped, and the fatal error if any.
func (r *runner) stopped() (stopReason, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reason, r.fatalErr
}

// carry counts a row a resumed run had already finished.
func (r *runner) carry(num int, outcome string) {
	r.mu.Lock()
	r.carried[outcome]++
	r.carriedSet.add(num)
	r.mu.Unlock()
}

// wasCarried reports whether row num was finished by an earlier
// invocation of the run. Called by the report pass, after the main pass.
func (r *runner) wasCarried(num int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.carriedSet.has(num)
}

// wasQuiet reports whether row num was found unchanged by this invocation
// and, having nothing else to report, not recorded (see finishRows).
func (r *runner) wasQuiet(num int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.quiet.has(num)
}

// hadRecord notes that row num has a record from an earlier invocation
// of the run.
func (r *runner) hadRecord(num int) {
	r.mu.Lock()
	r.recordedBefore.add(num)
	r.mu.Unlock()
}

// keepQuiet reports whether apply may leave row out of the state: it was
// found unchanged, it has nothing else for the report (no warnings; its id
// is the one the report pass reads), and no earlier invocation recorded it
// (that record would stand). Such a row costs no write, no read-back and no deletion; if the
// run is interrupted, its next invocation decides the row again, from the
// same applied record, which takes a raw-digest lookup. Invalid rows and
// rows with warnings keep their records: their texts are the report.
func (r *runner) keepQuiet(outcome string, row checkpoint.Row) bool {
	if outcome != outUnchanged || row.Warnings != "" || row.Num < 1 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.recordedBefore.has(row.Num) {
		return false
	}
	r.quiet.add(row.Num)
	return true
}

// finishRows records rows decided without a request (invalid, unchanged,
// would_update): buffered, since recomputing them after a crash costs
// nothing. An unchanged row with nothing else to say is not recorded at
// all, only marked in memory for the report pass (keepQuiet).
func (r *runner) finishRows(outcome string, status int, errText string, rows ...checkpoint.Row) error {
	now := r.clock.Now()
	for _, row := range rows {
		if r.plan != nil {
			if err := r.plan.put(row.Num, outcome, nil, errText, row.Warnings); err != nil {
				return err
			}
			continue
		}
		if errText == "" && r.keepQuiet(outcome, row) {
			continue
		}
		row.Status = checkpoint.StatusDone
		row.Outcome = outcome
		row.HTTPStatus = status
		row.Error = errText
		row.UpdatedAt = now
		if err := r.rl.Put(row); err != nil {
			return fmt.Errorf("record row %d: %w", row.Num, err)
		}
	}
	r.mu.Lock()
	r.outcomes[outcome] += len(rows)
	r.mu.Unlock()
	return nil
}

// recordOutcome durably records the outcome of a request, and what it
// applied.
func (r *runner) recordOutcome(outcome string, status int, errText string, applied *checkpoint.AppliedUpdate, rows []checkpoint.Row) error {
	now := r.clock.Now()
	for i := range rows {
		rows[i].Status = checkpoint.StatusDone
		rows[i].Outcome = outcome
		rows[i].HTTPStatus = status
		rows[i].Error = errText
		rows[i].UpdatedAt = now
	}
	if err := r.rl.Outcome(rows, applied); err != nil {
		return fmt.Errorf("record outcome of row %d: %w", rows[0].Num, err)
	}
	r.mu.Lock()
	r.outcomes[outcome] += len(rows)
	r.mu.Unlock()
	return nil
}

// appliedState reads what was last applied to a customer.
func (r *runner) appliedState(id string) (checkpoint.Applied, bool, error) {
	if r.state == nil || r.scope == "" {
		return checkpoint.Applied{}, false, nil
	}
	a, ok, err := r.state.Applied(r.scope, id)
	if err != nil {
		return a, false, fmt.Errorf("read state for customer %s: %w", id, err)
	}
	return a, ok, nil
}
