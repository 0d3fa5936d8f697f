package api

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/juicebatch/juicebatch/sandbox"
)

// TestPatchReadsTheServersWord: every answer's rate-limit headers reach the
// Result as a ratelimit.Word, 429s included, read on the client's clock.
func TestPatchReadsTheServersWord(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)
	clk := clockwork.NewFakeClockAt(t0)
	sb, err := sandbox.New(sandbox.Options{Keys: []string{testKey}, CreateUnknown: true, PerMinute: 3, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	defer srv.Close()
	c := newClient(t, srv.URL, func(c *Config) { c.Now = clk.Now })
	reset := t0.Add(time.Minute) // the first request leaves the window
	for i, want := range []struct {
		status, remaining int
	}{{200, 2}, {200, 1}, {200, 0}, {429, 0}} {
		res := c.Patch(context.Background(), fmt.Sprintf("w-%d", i), []byte(fmt.Sprintf(`{"email":"w%d@example.com"}`, i)), fmt.Sprintf("k-%d", i))
		w := res.Word.Window
		if res.Status != want.status || !w.HasRemaining || w.Remaining != want.remaining || w.Limit != 3 || !w.Reset.Equal(reset) {
			t.Errorf("request %d: status %d, word %+v; want %d, limit 3, remaining %d, reset %v",
				i+1, res.Status, w, want.status, want.remaining, reset)
		}
		if res.Word.Day.HasRemaining {
			t.Errorf("request %d: a day word %+v from a server that sends none", i+1, res.Word.Day)
		}
		clk.Advance(time.Second)
	}
}
