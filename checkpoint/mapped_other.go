//go:build !linux

package checkpoint

// dropMapped does nothing here: the kernels juicebatch is deployed on are
// Linux (see mapped_linux.go).
func dropMapped(addr uintptr, n int64) {}
