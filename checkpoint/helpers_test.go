package checkpoint

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// day0 is the fixed instant the tests build their times from.
var day0 = time.Date(2026, 11, 27, 9, 30, 0, 123456789, time.UTC)

// openTest opens a new state file in a temporary directory and closes it at
// the end of the test. NoSync keeps the tests fast; it changes no logic.
func openTest(t testing.TB, opts Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	opts.NoSync = true
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%q) = %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return s, path
}

// row returns a done row numbered num with recognisable contents.
func row(num int) Row {
	return Row{
		Num:        num,
		Line:       num + 1,
		CustomerID: "cus_" + strconv.Itoa(num),
		Status:     StatusDone,
		Outcome:    "unchanged",
		HTTPStatus: 0,
		Attempts:   0,
		Digest:     [32]byte{byte(num), byte(num >> 8), 0xAB},
		UpdatedAt:  day0.Add(time.Duration(num) * time.Millisecond),
	}
}

// inflight returns row num in flight with key.
func inflight(num int, key string) Row {
	r := row(num)
	r.Status = StatusInFlight
	r.Outcome = ""
	r.Key = key
	r.Attempts = 1
	return r
}

func mustFlush(t testing.TB, l *RunLog) {
	t.Helper()
	if err := l.Flush(); err != nil {
		t.Fatalf("Flush() = %v", err)
	}
}
