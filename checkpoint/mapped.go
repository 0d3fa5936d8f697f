package checkpoint

import bolt "go.etcd.io/bbolt"

// dropEvery is how many records are read between two drops of the mapped
// pages. Customers are looked up in file order (a plan that decides most
// customers reads a RawIndex in one walk instead; RawDigests sorts each
// batch, but a batch is a few thousand ids of a file), which is random in
// key order (ids are often UUIDs): each lookup may touch another 4 KiB page,
// and the kernel maps neighbouring pages with it (fault-around), so the
// resident pages grow by up to 64 KiB a lookup between drops. Measured at a
// million customers (BENCHMARKS.md "Nightly"): at 256 a night peaked at
// 59–67 MiB, with up to 23 MB of mapped state in the main pass; at 128,
// 48–52 MiB, for about 1–2 s more system time. Dropping more rarely is
// faster but lets resident memory grow toward the file's size (166 MB at
// 4096).
const dropEvery = 128

// touched counts n records read and, every dropEvery, drops the file's
// pages from the process's mapping.
//
// Why: bbolt reads the file through a shared memory mapping, and every page
// read stays counted in the process's resident memory until the kernel
// needs it back. A nightly run reads the applied record of every customer
// (and the report pass every row of the run): left alone, resident memory
// grows to the size of the file (4.4 GB at a million customers in the
// issue's measurements), and a memory-limited container pays for it by
// reading the file from disk again and again. Dropping the mapping
// (madvise MADV_DONTNEED, see dropMapped) keeps resident memory to what was
// read since the last drop; the pages stay in the page cache, so the next
// read of one costs a minor fault, not a disk read.
func (s *Store) touched(n int) {
	if s.reads.Add(int64(n)) < dropEvery {
		return
	}
	s.dropNow()
}

// dropNow drops the file's pages from the process's mapping (see touched).
func (s *Store) dropNow() {
	s.reads.Store(0)
	_ = s.view(func(tx *bolt.Tx) error {
		// Inside a transaction bbolt cannot remap the file (a remap
		// waits for open transactions), so the range is the mapping.
		dropMapped(s.db.Info().Data, tx.Size())
		return nil
	})
}
