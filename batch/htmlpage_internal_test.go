package batch

import (
	"testing"
	"time"

	"github.com/juicebatch/juicebatch/checkpoint"
)

func TestQuotaChart(t *testing.T) {
	from := time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC)
	to := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	quotas := []checkpoint.Quota{
		{Fingerprint: "test_a", Day: "2026-11-22", Used: 1000},
		{Fingerprint: "test_a", Day: "2026-11-24", Used: 12},
		{Fingerprint: "test_b", Day: "2026-11-21", Used: 7}, // another key: not drawn
	}
	reads := []checkpoint.Quota{
		{Fingerprint: "test_a", Day: "2026-11-21", Used: 4}, // reads on a day without writes
		{Fingerprint: "test_a", Day: "2026-11-24", Used: 3},
		{Fingerprint: "test_b", Day: "2026-11-24", Used: 99},
	}
	c := QuotaChart("test_a", quotas, reads, from, to, 1000)
	type day struct {
		day          string
		writes, read int
		notKept      bool
	}
	want := []day{
		{"2026-11-20", 0, 0, true}, // before the oldest day the state holds
		{"2026-11-21", 0, 4, false},
		{"2026-11-22", 1000, 0, false},
		{"2026-11-23", 0, 0, false}, // a real zero: after the oldest day held
		{"2026-11-24", 12, 3, false},
	}
	if len(c.Days) != len(want) {
		t.Fatalf("QuotaChart gave %d days %+v; want %d", len(c.Days), c.Days, len(want))
	}
	for i, w := range want {
		if d := c.Days[i]; d.Day != w.day || d.Writes != w.writes || d.Reads != w.read || d.NotKept != w.notKept {
			t.Errorf("day %d = %+v; want %+v", i, d, w)
		}
	}
	if c.Budget != 1000 || c.Title != "key test_a" {
		t.Errorf("chart budget %d title %q; want 1000 and the key", c.Budget, c.Title)
	}
}

func TestExitMeaningCoversTheTable(t *testing.T) {
	for _, code := range []int{ExitOK, ExitFatal, ExitUsage, ExitRowsBad, ExitStopped} {
		if ExitMeaning(code) == "" {
			t.Errorf("ExitMeaning(%d) is empty", code)
		}
	}
	if got := ExitMeaning(99); got != "" {
		t.Errorf("ExitMeaning(99) = %q; want empty", got)
	}
}
