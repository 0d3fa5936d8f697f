package live_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestImportsNoPipeline keeps the package's direction: batch uses live, as
// it uses checkpoint; live never reaches back into batch, the state or the
// report.
func TestImportsNoPipeline(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		switch {
		case imp == "github.com/juicebatch/juicebatch/batch",
			strings.HasPrefix(imp, "github.com/juicebatch/juicebatch/checkpoint"),
			strings.HasPrefix(imp, "github.com/juicebatch/juicebatch/report"),
			strings.HasPrefix(imp, "github.com/juicebatch/juicebatch/sandbox"):
			t.Errorf("live imports %s", imp)
		}
	}
}
