package main

// applyMemoryBase is apply's soft memory limit before the per-row part.
//
// Why lower than plan's 48 MiB: a nightly apply lives beside the state
// file's mapped pages (a few MiB, see checkpoint's "Size and memory") and
// the binary's own pages (about 12 MiB resident), and the pod's limit
// counts them all. Its live heap at 100,000 rows is about 8 MiB (GOGC 400
// lets it grow 5× before a collection), so 24 MiB costs a few more
// collections a run, not a different run; plan keeps 48 MiB, where those
// collections are a sixth of its CPU.
const applyMemoryBase = 24 << 20

// rawIndexPerRow is what apply adds to its limit for each row of the
// file: the in-memory index of the state's raw-row digests (8 bytes a
// customer, batch's startRawIndex), which lives for the whole run. Without
// it, at a million rows the index's 8 MB left the collector running
// without end under 24 MiB: an equivalent export took 6.9 s instead of
// 3.8 s (BENCHMARKS.md, "Nightly").
const rawIndexPerRow = 8

// memoryLimitFor is the soft memory limit of command cmd over file: plan's
// (memoryLimit), less 24 MiB for apply, plus apply's raw-digest index.
func memoryLimitFor(cmd string, files []string) int64 {
	lim := memoryLimit(files)
	if cmd == "apply" {
		lim = max(applyMemoryBase, lim-(48<<20-applyMemoryBase)) + rawIndexPerRow*int64(estimateRows(files))
	}
	return lim
}
