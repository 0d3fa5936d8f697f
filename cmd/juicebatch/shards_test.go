package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShardPatterns: plan over a warehouse export's shards, given as the
// shell expands a glob and as a pattern that juicebatch expands itself (a
// container's args pass through no shell), reads them as one input in
// lexical order; a pattern that matches nothing is an error (exit 1).
func TestShardPatterns(t *testing.T) {
	dir := t.TempDir()
	export := filepath.Join(dir, "export")
	var shards []string
	for i, rows := range []string{"a-1,a1@example.com\n", "b-1,b1@example.com\nb-2,b2@example.com\n", "c-1,c1@example.com\n"} {
		p := filepath.Join(export, "export-00000000000"+string(rune('0'+i))+".csv.gz")
		if i == 0 {
			mkdirAll(t, export)
		}
		writeGzip(t, p, "id,email\n"+rows)
		shards = append(shards, p)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"shell-expanded", shards},
		{"pattern", []string{filepath.Join(export, "export-*.csv.gz")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work := t.TempDir()
			got := invoke(t, work, nil, append([]string{"plan", "--no-progress"}, tt.args...)...)
			if got.code != exitOK {
				t.Fatalf("plan = %d\n%s", got.code, got.stderr)
			}
			var lines []string
			for _, rec := range readResults(t, filepath.Join(work, "report")) {
				lines = append(lines, rec[0]+" "+rec[1]+" "+filepath.Base(rec[len(rec)-2])+":"+rec[len(rec)-1])
			}
			want := "1 a-1 export-000000000000.csv.gz:2,2 b-1 export-000000000001.csv.gz:2,3 b-2 export-000000000001.csv.gz:3,4 c-1 export-000000000002.csv.gz:2"
			if strings.Join(lines, ",") != want {
				t.Errorf("results.csv: %s\nwant %s", strings.Join(lines, ","), want)
			}
		})
	}
	got := invoke(t, t.TempDir(), nil, "plan", filepath.Join(export, "part-*.csv.gz"))
	if got.code != exitFatal || !strings.Contains(got.stderr, "part-*.csv.gz\" matches no file") {
		t.Errorf("plan with a pattern that matches nothing = %d, %q; want 1 and a clear message", got.code, got.stderr)
	}
}

func mkdirAll(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}
