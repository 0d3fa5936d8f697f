package metrics

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// WriteTextfile writes r's metrics in the Prometheus text format to path,
// for the node exporter's textfile collector (which reads only files named
// *.prom in its --collector.textfile.directory).
//
// The node exporter may read the file at any moment, so WriteTextfile never
// lets it see half a file: it writes a hidden temporary file in the same
// directory (not named *.prom, so the collector skips it), syncs it, makes it
// world-readable (0644) and renames it over path. The directory must exist.
// On error the temporary file is removed and path is left as it was.
//
// Every metric carries the label juicebatch_job (Run.Job or DefaultJob) and,
// when Run.Instance is set, juicebatch_instance. Errors wrap ErrInvalidRun
// for a Run that cannot be published, or say what failed on which path.
func WriteTextfile(path string, r Run) (err error) {
	labels := prometheus.Labels{"juicebatch_job": r.job()}
	if r.Instance != "" {
		labels["juicebatch_instance"] = r.Instance
	}
	reg, err := registry(r, labels)
	if err != nil {
		return fmt.Errorf("metrics: write textfile %s: %w", path, err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("metrics: write textfile %s: gather: %w", path, err)
	}

	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("metrics: write textfile %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	enc := expfmt.NewEncoder(f, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("metrics: write textfile %s: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("metrics: write textfile %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; the node exporter usually runs as
	// another user.
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("metrics: write textfile %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("metrics: write textfile %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("metrics: write textfile %s: %w", path, err)
	}
	return nil
}
