//go:build linux

package checkpoint

import "syscall"

// dropMapped tells the kernel that the n bytes of the file mapping at addr
// are not needed for now. For a read-only shared file mapping this only
// unmaps the pages from this process: their contents stay in the page
// cache and come back on the next read. Its error is ignored: dropping is
// an economy, never needed for correctness.
func dropMapped(addr uintptr, n int64) {
	if addr == 0 || n <= 0 {
		return
	}
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, addr, uintptr(n), syscall.MADV_DONTNEED)
}
