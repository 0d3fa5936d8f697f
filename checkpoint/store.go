package checkpoint

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The file's header, in the "meta" bucket.
const (
	magic         = "juicebatch state"
	formatVersion = 1
	saltSize      = 32
)

// Bucket and header key names. Constants, so nothing at package level can
// be changed; converted to []byte where bbolt wants them.
const (
	bucketMeta    = "meta"
	bucketRuns    = "runs"
	bucketRows    = "rows"
	bucketApplied = "applied"
	bucketQuota   = "quota"
	bucketRecent  = "recent"

	keyMagic   = "magic"
	keyVersion = "version"
	keySalt    = "salt"
	keyCreated = "created"
)

// defaultLockTimeout is how long Open waits for another process's lock when
// Options.LockTimeout is zero.
const defaultLockTimeout = 2 * time.Second

// Options configure [Open]. The zero value opens or creates a file for
// writing, waits up to 2s for a lock and fsyncs every durable write.
type Options struct {
	// ReadOnly opens an existing file for reading only, under a shared lock.
	// A missing file is an error satisfying errors.Is(err, fs.ErrNotExist).
	// Writes on a read-only Store fail.
	ReadOnly bool

	// LockTimeout is how long to wait for another process's lock before
	// failing with ErrLocked: 0 means 2s, a negative value means try once.
	LockTimeout time.Duration

	// NoSync skips fsync. Only for scratch stores: a crash can lose or
	// corrupt the file.
	NoSync bool

	// Now is the clock PruneRuns measures quota days against; nil means
	// time.Now.
	Now func() time.Time
}

// Store is an open state file. It is safe for concurrent use. Close it.
type Store struct {
	db      *bolt.DB
	file    *os.File // bbolt's file, to release the lock if bbolt panicked
	path    string
	salt    []byte
	now     func() time.Time
	scratch string // directory removed by Close, for OpenScratch

	// broken holds the error of a recovered bbolt panic; once set, the
	// Store refuses all work with it.
	broken atomic.Pointer[error]

	// swap is held shared by every transaction and exclusively by Compact
	// while it copies the file and swaps db and file for the copy's.
	swap   sync.RWMutex
	noSync bool
	// reads counts records read since the mapped pages were last dropped
	// (see touched).
	reads atomic.Int64
	// compactTx is how many bytes Compact copies per transaction (0:
	// compactTxBytes); compactHook, when set, is called at each step of
	// Compact. Both for tests only.
	compactTx   int
	compactHook func(step string)
	compactMin  int64 // free bytes below which MaybeCompact does not compact (0: compactMinFree)

	mu     sync.Mutex
	logs   map[string]*RunLog
	closed bool
}

// Open opens the state file at path, creating it (mode 0600, missing parent
// directories 0700) unless opts.ReadOnly. A new file gets a header and a
// random salt; an existing one must carry the header of this format version.
//
// Errors: ErrLocked when another process (or another Store of this process)
// holds the file past opts.LockTimeout; ErrNotState when the file is empty,
// foreign, corrupt, truncated or of an unknown version; fs.ErrNotExist for a
// read-only open of a missing file. Open never panics on a bad file.
func Open(path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("checkpoint: open state file: empty path")
	}
	timeout := opts.LockTimeout
	switch {
	case timeout == 0:
		timeout = defaultLockTimeout
	case timeout < 0:
		timeout = time.Nanosecond // bbolt: try once, 0 would wait forever
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}

	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("checkpoint: create directory for state file %s: %w", path, err)
		}
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && !opts.ReadOnly {
		if err := create(path, opts.NoSync, now); err != nil {
			return nil, err
		}
		fi, err = os.Stat(path)
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: open state file %s: %w", path, err)
	}
	switch {
	case fi.IsDir():
		return nil, notState(path, "it is a directory", nil)
	case !fi.Mode().IsRegular():
		return nil, notState(path, "it is not a regular file", nil)
	case fi.Size() == 0:
		return nil, notState(path, "the file is empty", nil)
	}

	db, file, err := openBolt(path, opts.ReadOnly, opts.NoSync, timeout)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, file: file, path: path, now: now, noSync: opts.NoSync, logs: make(map[string]*RunLog)}
	if err := s.readHeader(); err != nil {
		_ = s.closeDB()
		return nil, err
	}
	return s, nil
}

// OpenScratch creates a throw-away store in a new directory under dir (""
// means os.TempDir()), without fsync. Close removes it. plan uses one as its
// row store.
func OpenScratch(dir string) (*Store, error) {
	tmp, err := os.MkdirTemp(dir, "juicebatch-scratch-")
	if err != nil {
		return nil, fmt.Errorf("checkpoint: create scratch store: %w", err)
	}
	s, err := Open(filepath.Join(tmp, "state.db"), Options{NoSync: true, LockTimeout: -1})
	if err != nil {
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	s.scratch = tmp
	return s, nil
}

// create makes a new state file at path atomically: it builds it under a
// temporary name in the same directory and hard-links it into place, so no
// other process ever sees a half-made file at path. If another process
// created path first, create leaves that file alone and returns nil.
func create(path string, noSync bool, now func() time.Time) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".new-*") // mode 0600
	if err != nil {
		return fmt.Errorf("checkpoint: create state file %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }()
	if err := f.Close(); err != nil {
		return fmt.Errorf("checkpoint: create state file %s: %w", path, err)
	}

	db, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, NoSync: noSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return fmt.Errorf("checkpoint: create state file %s: %w", path, err)
	}
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		_ = db.Close()
		return fmt.Errorf("checkpoint: create state file %s: salt: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		m, err := tx.CreateBucket([]byte(bucketMeta))
		if err != nil {
			return err
		}
		created := enc{}
		created.time(now().UTC())
		for _, kv := range [][2][]byte{
			{[]byte(keyMagic), []byte(magic)},
			{[]byte(keyVersion), encodeCount(formatVersion)},
			{[]byte(keySalt), salt},
			{[]byte(keyCreated), created.b},
		} {
			if err := m.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("checkpoint: create state file %s: %w", path, err)
	}

	// Subtleness ahead: Link fails if path exists, which is what makes
	// creation atomic. Where hard links are not supported, fall back to a
	// rename guarded by a fresh check (racy only on such file systems).
	err = os.Link(tmp, path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		return nil
	default:
		if _, serr := os.Lstat(path); serr == nil {
			return nil
		}
		if rerr := os.Rename(tmp, path); rerr != nil {
			return fmt.Errorf("checkpoint: create state file %s: %w", path, err)
		}
	}
	if !noSync {
		syncDir(dir)
	}
	return nil
}

// syncDir makes a new directory entry durable. Failure only weakens
// durability of the file's creation, so it is ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

// openBolt opens an existing file with bbolt and takes its lock. When the
// lock was won on a file that Compact has meanwhile replaced at path (the
// other process renamed the copy over it while this one waited), it is
// released and the file now at path is opened instead, within the same
// timeout.
func openBolt(path string, readOnly, noSync bool, timeout time.Duration) (*bolt.DB, *os.File, error) {
	deadline := time.Now().Add(timeout)
	for {
		db, file, err := openBoltOnce(path, readOnly, noSync, timeout)
		if err != nil {
			return nil, nil, err
		}
		held, serr := file.Stat()
		now, perr := os.Stat(path)
		if serr == nil && perr == nil && os.SameFile(held, now) {
			return db, file, nil
		}
		_ = db.Close()
		if perr != nil {
			return nil, nil, fmt.Errorf("checkpoint: open state file %s: %w", path, perr)
		}
		if timeout = time.Until(deadline); timeout <= 0 {
			return nil, nil, locked(path, timeout)
		}
	}
}

// noFreelistSync is bbolt's Options.NoFreelistSync, kept false. The freelist is
// written with every commit: with NoFreelistSync, bbolt rebuilds it at
// open by walking every page of the file, which reads (and maps into the
// process) the whole file every night, while the freelist that Compact
// keeps small costs a page or two per commit.
const noFreelistSync = false

// openBoltOnce opens an existing file with bbolt, recovering its panics and
// memory faults on a damaged file.
func openBoltOnce(path string, readOnly, noSync bool, timeout time.Duration) (db *bolt.DB, file *os.File, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if file != nil {
				_ = file.Close() // releases the lock; the mapping leaks
			}
			db, file, err = nil, nil, notState(path, fmt.Sprintf("bbolt cannot read it: %v", p), nil)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{
		Timeout:    timeout,
		ReadOnly:   readOnly,
		NoSync:     noSync,
		NoGrowSync: noSync, // growing the file fsyncs too
		// The map freelist finds a run of free pages by size at once;
		// the array one scans every free page id on each allocation.
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: noFreelistSync,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			// Never create here: a file that vanished since Open's Stat
			// must not come back as an empty database.
			f, err := os.OpenFile(name, flag&^os.O_CREATE, perm)
			file = f
			return f, err
		},
	})
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case err == nil:
		return db, file, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, nil, locked(path, timeout)
	case errors.As(err, &pathErr), errors.As(err, &errno):
		// I/O trouble (permissions, a vanished file, flock or mmap
		// failures), not a judgement on the contents.
		return nil, nil, fmt.Errorf("checkpoint: open state file %s: %w", path, err)
	default:
		return nil, nil, notState(path, "bbolt: "+err.Error(), err)
	}
}

// readHeader checks the header and loads the salt.
func (s *Store) readHeader() error {
	fi, err := s.file.Stat()
	if err != nil {
		return fmt.Errorf("checkpoint: open state file %s: %w", s.path, err)
	}
	return s.view(func(tx *bolt.Tx) error {
		if tx.Size() > fi.Size() {
			return notState(s.path, fmt.Sprintf("it is truncated: %d bytes of %d", fi.Size(), tx.Size()), nil)
		}
		m := tx.Bucket([]byte(bucketMeta))
		if m == nil || !bytes.Equal(m.Get([]byte(keyMagic)), []byte(magic)) {
			return notState(s.path, "it has no juicebatch header; it may belong to another program", nil)
		}
		v, err := decodeCount(m.Get([]byte(keyVersion)))
		if err != nil || v == 0 {
			return notState(s.path, "its header has no readable version", nil)
		}
		if v != formatVersion {
			return notState(s.path, fmt.Sprintf("it has state format version %d and this juicebatch reads version %d; use the juicebatch that wrote it", v, formatVersion), nil)
		}
		salt := m.Get([]byte(keySalt))
		if len(salt) != saltSize {
			return notState(s.path, "its header has no valid salt", nil)
		}
		s.salt = bytes.Clone(salt)
		return nil
	})
}

// Path returns the path the Store was opened with.
func (s *Store) Path() string { return s.path }

// Salt returns the file's 32 random bytes, made with the file and stable for
// its life. The caller gets its own copy.
func (s *Store) Salt() []byte { return bytes.Clone(s.salt) }

// Close flushes every RunLog's buffered rows, closes the file and releases
// its lock; a scratch store is removed. Close is idempotent. The Store must
// not be used afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.broken.Load() == nil && !s.db.IsReadOnly() {
		for _, l := range s.logs {
			if err := l.Flush(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := s.closeDB(); err != nil {
		errs = append(errs, fmt.Errorf("checkpoint: close state file %s: %w", s.path, err))
	}
	if s.scratch != "" {
		if err := os.RemoveAll(s.scratch); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint: remove scratch store: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (s *Store) closeDB() error {
	s.swap.Lock()
	defer s.swap.Unlock()
	if s.broken.Load() != nil {
		// bbolt panicked mid-transaction and may still hold its own
		// locks: closing the DB could block forever. Closing the file
		// releases the flock; the mapping leaks.
		return s.file.Close()
	}
	return s.db.Close()
}

// view and update run fn in a managed bbolt transaction. They turn bbolt
// panics and memory faults on a damaged file into ErrNotState (and mark the
// Store broken), and corrupt records into ErrNotState errors naming the file.
// fn must not call back into the Store.
func (s *Store) view(fn func(*bolt.Tx) error) error   { return s.tx(false, fn) }
func (s *Store) update(fn func(*bolt.Tx) error) error { return s.tx(true, fn) }

func (s *Store) tx(write bool, fn func(*bolt.Tx) error) (err error) {
	if p := s.broken.Load(); p != nil {
		return *p
	}
	s.swap.RLock()
	defer s.swap.RUnlock()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = notState(s.path, fmt.Sprintf("bbolt failed reading it: %v", p), nil)
			s.broken.Store(&err)
		}
	}()
	if write {
		err = s.db.Update(fn)
	} else {
		err = s.db.View(fn)
	}
	var cr *corruptRecord
	if errors.As(err, &cr) {
		return notState(s.path, cr.Error(), nil)
	}
	return err
}
