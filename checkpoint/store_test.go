package checkpoint

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpenCreates(t *testing.T) {
	tests := []struct {
		name string
		rel  string // state path under the temp dir
		dirs []string
	}{
		{name: "in existing dir", rel: "state.db"},
		{name: "missing parents", rel: "a/b/state.db", dirs: []string{"a", "a/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			path := filepath.Join(root, tt.rel)
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatalf("Open(%q) = %v", path, err)
			}
			defer s.Close()
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("mode of %s = %o; want 600", path, got)
			}
			for _, d := range tt.dirs {
				fi, err := os.Stat(filepath.Join(root, d))
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != 0o700 {
					t.Errorf("mode of dir %s = %o; want 700", d, got)
				}
			}
			if got := s.Path(); got != path {
				t.Errorf("Path() = %q; want %q", got, path)
			}
			if salt := s.Salt(); len(salt) != 32 || bytes.Equal(salt, make([]byte, 32)) {
				t.Errorf("Salt() = %x; want 32 random bytes", salt)
			}
			// No temporary files left beside the state file.
			entries, err := os.ReadDir(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries; want only the state file", len(entries))
			}
		})
	}
}

func TestReopenKeepsSaltAndData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	salt := s.Salt()
	salt2 := s.Salt()
	salt2[0] ^= 0xFF // the caller's copy must not change the store's
	if err := s.PutRun(Run{ID: "r1", StartedAt: day0}); err != nil {
		t.Fatal(err)
	}
	// A buffered Put is written by Close.
	if err := s.RunLog("r1").Put(row(7)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{}, {ReadOnly: true}} {
		s, err := Open(path, opts)
		if err != nil {
			t.Fatalf("reopen(ReadOnly=%v) = %v", opts.ReadOnly, err)
		}
		if got := s.Salt(); !bytes.Equal(got, salt) {
			t.Errorf("reopened Salt() = %x; want %x", got, salt)
		}
		if _, ok, err := s.GetRun("r1"); !ok || err != nil {
			t.Errorf("GetRun(r1) = %v, %v; want found", ok, err)
		}
		if _, ok, err := s.Row("r1", 7); !ok || err != nil {
			t.Errorf("Row(r1, 7) = %v, %v; want found (flushed by Close)", ok, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenLocked(t *testing.T) {
	tests := []struct {
		name          string
		first, second Options
		wantLocked    bool
	}{
		{name: "writer then writer", first: Options{}, second: Options{}, wantLocked: true},
		{name: "writer then reader", first: Options{}, second: Options{ReadOnly: true}, wantLocked: true},
		{name: "reader then writer", first: Options{ReadOnly: true}, second: Options{}, wantLocked: true},
		{name: "reader then reader", first: Options{ReadOnly: true}, second: Options{ReadOnly: true}},
		{name: "writer then writer, try once", first: Options{}, second: Options{LockTimeout: -1}, wantLocked: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			s, err := Open(path, Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			first, err := Open(path, tt.first)
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()

			if tt.second.LockTimeout == 0 {
				tt.second.LockTimeout = 100 * time.Millisecond
			}
			start := time.Now()
			second, err := Open(path, tt.second)
			elapsed := time.Since(start)
			if !tt.wantLocked {
				if err != nil {
					t.Fatalf("second Open = %v; want success", err)
				}
				second.Close()
				return
			}
			if !errors.Is(err, ErrLocked) {
				if err == nil {
					second.Close()
				}
				t.Fatalf("second Open = %v; want ErrLocked", err)
			}
			want := "checkpoint: state file " + path + " is in use by another juicebatch process"
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("second Open error = %q; want it to start with %q", err, want)
			}
			// A loose bound: the point is that it gives up, not how fast.
			if elapsed > 5*time.Second {
				t.Errorf("second Open took %v; want it to give up after about %v", elapsed, tt.second.LockTimeout)
			}
		})
	}
}

func TestOpenReadOnlyMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "state.db")
	s, err := Open(path, Options{ReadOnly: true})
	if err == nil {
		s.Close()
		t.Fatalf("Open(%q, ReadOnly) = nil error; want fs.ErrNotExist", path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open(%q, ReadOnly) = %v; want fs.ErrNotExist", path, err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read-only Open created %s", filepath.Dir(path))
	}
}

// writeBolt makes a bbolt file at path and lets fn fill it.
func writeBolt(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// bigState makes a real state file with enough rows to span many pages and
// returns its path and its size as bbolt sees it.
func bigState(t *testing.T, dir string) (string, int64) {
	t.Helper()
	path := filepath.Join(dir, "big.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	l := s.RunLog("r")
	for i := 1; i <= 20000; i++ {
		if err := l.Put(row(i)); err != nil {
			t.Fatal(err)
		}
	}
	var size int64
	if err := s.view(func(tx *bolt.Tx) error { size = tx.Size(); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, size
}

func TestOpenNotState(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randomBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	truncated := func(frac float64) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			src, size := bigState(t, t.TempDir())
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data[:int64(float64(size)*frac)], 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	truncatedTo := func(n int) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			src, _ := bigState(t, t.TempDir())
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data[:n], 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	writeFile := func(b []byte) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	header := func(magic string, version uint64, salt []byte) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			writeBolt(t, path, func(tx *bolt.Tx) error {
				m, err := tx.CreateBucket([]byte("meta"))
				if err != nil {
					return err
				}
				_ = m.Put([]byte("magic"), []byte(magic))
				_ = m.Put([]byte("version"), []byte{0, 0, 0, 0, 0, 0, 0, byte(version)})
				return m.Put([]byte("salt"), salt)
			})
		}
	}
	tests := []struct {
		name   string
		make   func(t *testing.T, path string)
		reason string // part of the message
	}{
		{name: "zero-length file", make: writeFile(nil), reason: "empty"},
		{name: "random bytes, 100", make: writeFile(randomBytes(100))},
		{name: "random bytes, 64 KiB", make: writeFile(randomBytes(64 << 10))},
		{name: "text file", make: writeFile([]byte("id,email\n1,a@example.com\n"))},
		{name: "foreign bbolt file", make: func(t *testing.T, path string) {
			writeBolt(t, path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket([]byte("widgets"))
				if err != nil {
					return err
				}
				return b.Put([]byte("k"), []byte("v"))
			})
		}, reason: "no juicebatch header"},
		{name: "empty bbolt file", make: func(t *testing.T, path string) {
			writeBolt(t, path, func(*bolt.Tx) error { return nil })
		}, reason: "no juicebatch header"},
		{name: "wrong magic", make: header("other state", 1, make([]byte, 32)), reason: "no juicebatch header"},
		{name: "unknown version", make: header("juicebatch state", 2, make([]byte, 32)), reason: "version 2"},
		{name: "short salt", make: header("juicebatch state", 1, make([]byte, 5)), reason: "salt"},
		{name: "truncated to 100 bytes", make: truncatedTo(100)},
		{name: "truncated to one page", make: truncatedTo(4096)},
		{name: "truncated to three pages", make: truncatedTo(3 * 4096)},
		{name: "truncated to a tenth", make: truncated(0.1)},
		{name: "truncated to half", make: truncated(0.5)},
		{name: "truncated by a page", make: func(t *testing.T, path string) {
			src, size := bigState(t, t.TempDir())
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data[:size-4096], 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "directory", make: func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, reason: "directory"},
	}
	for _, tt := range tests {
		for _, ro := range []bool{false, true} {
			name := tt.name
			if ro {
				name += ", read-only"
			}
			t.Run(name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "state.db")
				tt.make(t, path)
				before := fingerprintFile(t, path)
				s, err := Open(path, Options{ReadOnly: ro})
				if err == nil {
					s.Close()
					t.Fatalf("Open(%s) = nil error; want ErrNotState", tt.name)
				}
				if !errors.Is(err, ErrNotState) {
					t.Fatalf("Open(%s) = %v; want ErrNotState", tt.name, err)
				}
				msg := err.Error()
				if !strings.Contains(msg, path) || !strings.Contains(msg, "move it aside") {
					t.Errorf("Open(%s) error = %q; want the path and what to do", tt.name, msg)
				}
				if tt.reason != "" && !strings.Contains(msg, tt.reason) {
					t.Errorf("Open(%s) error = %q; want it to mention %q", tt.name, msg, tt.reason)
				}
				if ro {
					if after := fingerprintFile(t, path); after != before {
						t.Errorf("read-only Open(%s) changed the file", tt.name)
					}
				}
				// The lock was released: a writer can take the path
				// once the bad file is moved aside.
				if err := os.RemoveAll(path); err != nil {
					t.Fatal(err)
				}
				s, err = Open(path, Options{NoSync: true, LockTimeout: -1})
				if err != nil {
					t.Fatalf("Open after removing the bad file = %v", err)
				}
				s.Close()
			})
		}
	}
}

// fingerprintFile summarises a file's bytes (or "dir").
func fingerprintFile(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.IsDir() {
		return "dir"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCorruptRecord: a damaged value inside a valid file is ErrNotState on
// the read that meets it, not a panic, and other records stay readable.
func TestCorruptRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	l := s.RunLog("r")
	for _, n := range []int{1, 2, 3} {
		if err := l.Put(row(n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	writeBolt(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("rows")).Bucket([]byte("r"))
		if err := b.Put(rowKey(2), []byte{1, 0xFF}); err != nil { // truncated varint
			return err
		}
		return b.Put(rowKey(3), []byte{9}) // unknown encoding version
	})
	s, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		num     int
		wantErr bool
	}{
		{num: 1},
		{num: 2, wantErr: true},
		{num: 3, wantErr: true},
	}
	for _, tt := range tests {
		_, ok, err := s.Row("r", tt.num)
		if tt.wantErr && !errors.Is(err, ErrNotState) {
			t.Errorf("Row(r, %d) = %v; want ErrNotState", tt.num, err)
		}
		if !tt.wantErr && (err != nil || !ok) {
			t.Errorf("Row(r, %d) = %v, %v; want found", tt.num, ok, err)
		}
	}
	err = s.Rows("r", func(Row) error { return nil })
	if !errors.Is(err, ErrNotState) {
		t.Errorf("Rows(r) = %v; want ErrNotState", err)
	}
}

func TestOpenScratch(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenScratch(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Path(), dir) {
		t.Errorf("scratch Path() = %q; want it under %q", s.Path(), dir)
	}
	if err := s.RunLog("plan").Put(row(1)); err != nil {
		t.Fatal(err)
	}
	mustFlush(t, s.RunLog("plan"))
	if _, ok, err := s.Row("plan", 1); !ok || err != nil {
		t.Errorf("Row(plan, 1) = %v, %v; want found", ok, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("after Close, %s holds %d entries; want none", dir, len(entries))
	}
}

func TestReadOnlyRefusesWrites(t *testing.T) {
	_, path := openTest(t, Options{})
	// openTest's store holds the lock; use a second file.
	path = filepath.Join(filepath.Dir(path), "ro.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.PutRun(Run{ID: "r"}); !errors.Is(err, bolt.ErrDatabaseReadOnly) {
		t.Errorf("PutRun on read-only store = %v; want bbolt's ErrDatabaseReadOnly", err)
	}
	if err := ro.RunLog("r").Outcome([]Row{row(1)}, nil); err == nil {
		t.Errorf("Outcome on read-only store = nil; want an error")
	}
}
