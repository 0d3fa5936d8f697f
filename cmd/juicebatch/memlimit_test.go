package main

import "testing"

// TestMemoryLimits: plan's limit, apply's 24 MiB less, and apply's limit
// raised by what the run says it holds (the raw-digest index), from the
// base each time rather than cumulatively.
func TestMemoryLimits(t *testing.T) {
	if got := memoryLimitFor("plan", nil); got != 48<<20 {
		t.Errorf("plan's limit = %d; want 48 MiB", got)
	}
	base := memoryLimitFor("apply", nil)
	if base != applyMemoryBase {
		t.Errorf("apply's limit = %d; want %d", base, applyMemoryBase)
	}
	var set []int64
	held := heldMemory(func(n int64) int64 { set = append(set, n); return 0 }, base)
	held(8 << 20)
	held(1 << 20)
	if len(set) != 2 || set[0] != base+8<<20 || set[1] != base+1<<20 {
		t.Errorf("limits set %v; want %d then %d", set, base+8<<20, base+1<<20)
	}
}
