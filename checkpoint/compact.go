package checkpoint

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Compaction thresholds: the file is compacted when at least compactShare
// of its pages are free and those are at least compactMinFree bytes.
const (
	compactShare   = 4 // one page in four
	compactMinFree = 4 << 20
	// compactTxBytes is how much the copy writes per transaction; the
	// source's mapped pages are dropped after each, so it also bounds the
	// resident memory compaction adds. 1 MiB, not 4: at a million
	// customers a night's peak RSS fell from 64.6 to 59.6–63.3 MiB (with
	// deleteChunk at 8192), and the night was no slower (21–22 s against
	// 25–27 s; BENCHMARKS.md "Nightly").
	compactTxBytes = 1 << 20
)

// compactPrefix begins the names of the copies Compact builds beside the
// file ("." + base name + compactPrefix + random).
const compactPrefix = ".compact-"

// SpaceStats says how the file's space is used.
type SpaceStats struct {
	FileBytes int64 // the file's size on disk
	UsedBytes int64 // the database's pages, free ones included (≤ FileBytes)
	FreeBytes int64 // free pages, to be reused or given back by Compact
}

// Space reports how the file's space is used.
func (s *Store) Space() (SpaceStats, error) {
	var st SpaceStats
	err := s.view(func(tx *bolt.Tx) error {
		st.UsedBytes = tx.Size()
		bs := s.db.Stats()
		st.FreeBytes = int64(bs.FreePageN+bs.PendingPageN) * int64(tx.DB().Info().PageSize)
		fi, err := s.file.Stat()
		if err != nil {
			return err
		}
		st.FileBytes = fi.Size()
		return nil
	})
	if err != nil {
		return SpaceStats{}, fmt.Errorf("checkpoint: measure state file %s: %w", s.path, err)
	}
	return st, nil
}

// MaybeCompact compacts the file (see Compact) when free pages make up a
// quarter of it and at least 4 MiB; it reports whether it did.
func (s *Store) MaybeCompact() (bool, error) {
	st, err := s.Space()
	if err != nil {
		return false, err
	}
	minFree := s.compactMin
	if minFree <= 0 {
		minFree = compactMinFree
	}
	if st.FreeBytes < minFree || st.FreeBytes*compactShare < st.UsedBytes {
		return false, nil
	}
	return true, s.Compact()
}

// Compact rewrites the file without its free pages, so that its size is
// what it holds. bbolt reuses free pages but never gives them back, and
// every page id on its freelist is written with each commit: a file that
// once held a big run's rows would keep their space, and pay for its
// freelist on every commit, for good.
//
// How, and why it is safe: the live data is copied, in key order, into a
// new file in the same directory (".state.db.compact-*"); the copy is
// fsynced, renamed over the file and the directory fsynced, and only then
// is the old file closed. Every step happens under this process's lock on
// the old file, and the copy is locked before the rename, so no other
// process ever uses either file meanwhile; another process that was
// waiting for the old file's lock notices at Open that the path now names
// another file and opens that (see openBolt). A crash or kill before the
// rename leaves the old file as it was (and a stray copy, removed by the
// next Compact); after the rename the new file is complete. The Store
// stays usable throughout: other calls wait while the copy is made.
func (s *Store) Compact() (err error) {
	if s.db.IsReadOnly() {
		return fmt.Errorf("checkpoint: compact state file %s: the store is read-only", s.path)
	}
	s.swap.Lock()
	defer s.swap.Unlock()
	if p := s.broken.Load(); p != nil {
		return *p
	}
	dir, base := filepath.Split(s.path)
	if dir == "" {
		dir = "."
	}
	removeStrayCopies(dir, base)
	f, err := os.CreateTemp(dir, "."+base+compactPrefix+"*") // mode 0600
	if err != nil {
		return fmt.Errorf("checkpoint: compact state file %s: %w", s.path, err)
	}
	tmp := f.Name()
	_ = f.Close()
	renamed := false
	var dst *bolt.DB
	var dstFile *os.File
	defer func() {
		if !renamed {
			if dst != nil {
				_ = dst.Close()
			}
			_ = os.Remove(tmp)
		}
	}()
	dst, err = bolt.Open(tmp, 0o600, &bolt.Options{
		Timeout:      time.Second,
		NoSync:       true, // one fsync at the end instead of one per transaction
		NoGrowSync:   true,
		FreelistType: bolt.FreelistMapType,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			dstFile = f
			return f, err
		},
	})
	if err != nil {
		return fmt.Errorf("checkpoint: compact state file %s: create copy: %w", s.path, err)
	}
	if err := s.copyInto(dst); err != nil {
		return fmt.Errorf("checkpoint: compact state file %s: %w", s.path, err)
	}
	if err := dstFile.Sync(); err != nil {
		return fmt.Errorf("checkpoint: compact state file %s: sync copy: %w", s.path, err)
	}
	s.step("copied")
	if err := os.Rename(tmp, s.path); err != nil {
		return fmt.Errorf("checkpoint: compact state file %s: %w", s.path, err)
	}
	renamed = true
	if !s.noSync {
		syncDir(dir)
	}
	s.step("renamed")
	dst.NoSync, dst.NoGrowSync = s.noSync, s.noSync
	old := s.db
	s.db, s.file = dst, dstFile
	if err := old.Close(); err != nil {
		return fmt.Errorf("checkpoint: compact state file %s: close the old file: %w", s.path, err)
	}
	return nil
}

// copyInto copies every bucket of s.db into dst, in transactions of about
// compactTxBytes, dropping the source's mapped pages after each (the copy
// reads the whole file). The caller holds s.swap exclusively.
func (s *Store) copyInto(dst *bolt.DB) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = notState(s.path, fmt.Sprintf("bbolt failed reading it: %v", p), nil)
			s.broken.Store(&err)
		}
	}()
	return s.db.View(func(src *bolt.Tx) error {
		c := copier{dst: dst, max: s.compactTx, drop: func() {
			dropMapped(s.db.Info().Data, src.Size())
			_ = dst.View(func(tx *bolt.Tx) error {
				dropMapped(dst.Info().Data, tx.Size())
				return nil
			})
			s.step("copying")
		}}
		if c.max <= 0 {
			c.max = compactTxBytes
		}
		if err := c.begin(); err != nil {
			return err
		}
		err := src.ForEach(func(name []byte, b *bolt.Bucket) error {
			return c.bucket([][]byte{name}, b)
		})
		if err != nil {
			if c.tx != nil {
				_ = c.tx.Rollback()
			}
			return err
		}
		return c.commit()
	})
}

// copier writes a copy in bounded transactions.
type copier struct {
	dst   *bolt.DB
	tx    *bolt.Tx
	bytes int
	max   int // bytes per transaction
	drop  func()
}

func (c *copier) begin() error {
	tx, err := c.dst.Begin(true)
	c.tx, c.bytes = tx, 0
	return err
}

func (c *copier) commit() error {
	err := c.tx.Commit()
	c.tx = nil
	c.drop()
	return err
}

// target returns the bucket at path in the current transaction, creating it.
func (c *copier) target(path [][]byte) (*bolt.Bucket, error) {
	b, err := c.tx.CreateBucketIfNotExists(path[0])
	for _, name := range path[1:] {
		if err != nil {
			break
		}
		b, err = b.CreateBucketIfNotExists(name)
	}
	if err == nil {
		b.FillPercent = appliedFill // keys arrive in order; later rewrites are in place
	}
	return b, err
}

// bucket copies src, found at path, and its nested buckets.
func (c *copier) bucket(path [][]byte, src *bolt.Bucket) error {
	dst, err := c.target(path)
	if err != nil {
		return err
	}
	cur := src.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if v == nil { // a nested bucket
			sub := append(append([][]byte(nil), path...), append([]byte(nil), k...))
			if err := c.bucket(sub, src.Bucket(k)); err != nil {
				return err
			}
			if dst, err = c.target(path); err != nil { // the transaction may have changed
				return err
			}
			continue
		}
		if err := dst.Put(append([]byte(nil), k...), append([]byte(nil), v...)); err != nil {
			return err
		}
		if c.bytes += len(k) + len(v) + 16; c.bytes >= c.max {
			if err := c.commit(); err != nil {
				return err
			}
			if err := c.begin(); err != nil {
				return err
			}
			if dst, err = c.target(path); err != nil {
				return err
			}
		}
	}
	return nil
}

// step tells a test's hook which step of Compact was reached.
func (s *Store) step(name string) {
	if s.compactHook != nil {
		s.compactHook(name)
	}
}

// removeStrayCopies removes copies left by a Compact that was killed before
// its rename. The caller holds the file's lock, so no Compact is running.
func removeStrayCopies(dir, base string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + base + compactPrefix
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
