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
