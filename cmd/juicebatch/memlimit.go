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

// memoryLimitFor is the soft memory limit of command cmd over file: plan's
// (memoryLimit), less 24 MiB for apply.
func memoryLimitFor(cmd string, files []string) int64 {
	lim := memoryLimit(files)
	if cmd == "apply" {
		lim = max(applyMemoryBase, lim-(48<<20-applyMemoryBase))
	}
	return lim
}

// heldMemory is apply's Config.HeldMemory: it raises the soft limit from
// base by what the run holds for good, the index of raw-row digests (8
// bytes a customer). Without it, at a million customers the index's 8 MB
// left the collector running without end under 24 MiB: an equivalent
// export took 6.9 s instead of 3.8 s (BENCHMARKS.md, "Nightly"). It is
// raised only when the index exists: a first night (nothing to index)
// keeps 24 MiB, and its peak RSS with it.
func heldMemory(set func(int64) int64, base int64) func(int64) {
	return func(n int64) { set(base + n) }
}
