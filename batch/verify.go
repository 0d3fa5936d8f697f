package batch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/juicebatch/juicebatch/batch/api"
	"github.com/juicebatch/juicebatch/checkpoint"
	"github.com/juicebatch/juicebatch/live"
	"github.com/juicebatch/juicebatch/report"
)

// verify's outcomes, as the report names them.
const (
	outMatch   = "match"
	outDiffers = "differs"
	outMissing = "missing"
)

// Verify reads the live record of every valid row's customer in cfg.Input
// and compares it with the row's update by the API's rules, without a write
// request and without changing the state (which it opens read-only, if it
// exists, only for the account's size). Outcomes: match, differs (the error
// column names each differing field, live → intended), missing (404),
// invalid. Exit code 0 when every valid row matches, 3 otherwise.
func Verify(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	r := newRunner(cfg, report.CommandVerify)
	if cfg.Key == "" {
		return nil, configErr("no API key: set JUICEBATCH_API_KEY or --api-key-file (verify reads the live records)")
	}
	var err error
	if r.client, err = r.newClient(); err != nil {
		return nil, err
	}
	base, _ := api.ParseBaseURL(cfg.BaseURL)
	r.fp = api.Fingerprint(string(cfg.Key))
	r.scope = scopeFor(cfg, base.String(), r.fp)

	state, err := checkpoint.Open(cfg.StatePath, checkpoint.Options{ReadOnly: true})
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, &StateError{Err: err}
	default:
		defer state.Close()
		r.state = state
	}
	if err := r.openInput(); err != nil {
		return nil, err
	}
	defer r.src.close()
	if err := os.MkdirAll(cfg.ReportDir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: create report directory %s: %w", ErrConfig, cfg.ReportDir, err)
	}
	// The rows' outcomes go to a scratch store beside the report, never
	// to the state.
	scratch, err := checkpoint.OpenScratch(cfg.ReportDir)
	if err != nil {
		return nil, &StateError{Err: err}
	}
	defer scratch.Close()
	r.store = scratch
	if err := r.startRun(); err != nil {
		return nil, err
	}
	r.rl = scratch.RunLog(r.run.ID)
	if r.rf, err = r.newRefresher(RefreshAll); err != nil {
		return nil, err
	}
	return r.execute(ctx)
}

// newClient is the API client of plan and verify (apply builds its own).
func (r *runner) newClient() (*api.Client, error) {
	c, err := api.New(api.Config{
		BaseURL: r.cfg.BaseURL, Key: string(r.cfg.Key), AuthScheme: r.cfg.AuthScheme, UserAgent: r.cfg.UserAgent,
		Timeout: r.cfg.Timeout, HTTPClient: r.cfg.HTTPClient, Now: r.cfg.Clock.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return c, nil
}

// noteDifference keeps, for report.html, the first report.MaxListedRows
// rows whose live record differs, field by field, and counts them all.
func (r *runner) noteDifference(t *task, diffs []live.FieldDiff) {
	c := report.Change{Row: t.rows[len(t.rows)-1].Num, ID: t.id}
	for _, d := range diffs {
		c.Fields = append(c.Fields, report.FieldChange{Field: d.Field, Old: d.Live, OldKnown: true, New: d.Want, Kind: report.ChangeDiffering})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.diffTotal++
	if len(r.differences) < report.MaxListedRows {
		r.differences = append(r.differences, c)
	}
}
