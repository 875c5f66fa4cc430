// Package filestore keeps uploads and recordings as content-addressed blobs
// under the data directory's files/: a blob is named by the SHA-256 of its
// bytes, so identical uploads share one file and a name always means the
// same content. A blob is complete on disk (temp file, fsync, rename, fsync
// of the directory) before Put or Adopt returns, so the database row that
// names it never points at a missing or half-written file after a crash.
//
// Layout: root/ab/cdef… holds the blob whose hex SHA-256 is "abcdef…";
// root/tmp holds files still being written.
package filestore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrTooLarge is returned by Put when the content is longer than allowed.
var ErrTooLarge = errors.New("file too large")

// ErrBadName is returned for a blob name that is not 64 lowercase hex
// characters, which is how a request path like "../../etc/passwd" ends.
var ErrBadName = errors.New("not a blob name (want 64 lowercase hex characters)")

// ErrCorrupt is returned by Verify when a blob's bytes no longer hash to its
// name.
var ErrCorrupt = errors.New("blob content does not match its name")

// staleTemp is how old a file in tmp/ must be before Open deletes it. A
// crashed Put leaves its temp file behind; an hour is far longer than any
// upload in flight, so a second process sharing the directory (a backup
// running beside the server) never loses a file it is still writing.
const staleTemp = time.Hour

// Store is a directory of content-addressed blobs. Its methods are safe for
// concurrent use, also by several processes sharing the directory.
type Store struct {
	root string
	tmp  string
}

// Blob describes stored content.
type Blob struct {
	SHA256      string // 64 lowercase hex characters, the blob's name
	Size        int64
	ContentType string // safe to send as Content-Type; see SniffType
}

// Open opens (creating it with mode 0700 if needed) the store rooted at
// root, e.g. DATA/files, and deletes temp files left by a crash.
func Open(root string) (*Store, error) {
	s := &Store{root: root, tmp: filepath.Join(root, "tmp")}
	if err := os.MkdirAll(s.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("open file store: %w", err)
	}
	// Every blob directory is made up front, so Put never creates one and
	// a blob's durability needs only its own directory's fsync, with no
	// window where a racing Put sees a directory whose entry is not yet on
	// disk.
	for i := range 256 {
		if err := os.Mkdir(filepath.Join(root, fmt.Sprintf("%02x", i)), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("open file store: %w", err)
		}
	}
	if err := syncDir(root); err != nil {
		return nil, fmt.Errorf("open file store: %w", err)
	}
	if err := s.removeStale(time.Now().Add(-staleTemp)); err != nil {
		return nil, fmt.Errorf("open file store: %w", err)
	}
	return s, nil
}

// KeepPrefix marks files in tmp/ that Open leaves alone however old: call
// recordings, which the server posts after a crash.
const KeepPrefix = "recording-"

func (s *Store) removeStale(before time.Time) error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), KeepPrefix) {
			continue // the server posts or removes these itself
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // finished or removed meanwhile
		}
		if err != nil {
			return err
		}
		if info.ModTime().Before(before) {
			if err := os.RemoveAll(filepath.Join(s.tmp, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// Put stores the content of r and returns its blob. It reads at most
// max+1 bytes, so an over-long body is refused with ErrTooLarge without
// being read to the end, and nothing is left behind. name is the file name
// the uploader gave; it only refines the sniffed type (see SniffType) and
// is not stored. When the blob already exists, the existing file is kept
// and its modification time set to now, so a garbage collector that spares
// recently touched blobs cannot delete it before the caller's row names it.
func (s *Store) Put(r io.Reader, name string, max int64) (Blob, error) {
	if max < 0 {
		max = 0
	}
	limit := max
	if limit < math.MaxInt64 {
		limit++ // one byte more than allowed tells "too large" from "exactly max"
	}
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return Blob{}, fmt.Errorf("store file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	h := sha256.New()
	lr := &io.LimitedReader{R: r, N: limit}
	head := make([]byte, 512)
	n, err := io.ReadFull(lr, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return Blob{}, fmt.Errorf("store file: read: %w", err)
	}
	head = head[:n]
	w := io.MultiWriter(f, h)
	if _, err := w.Write(head); err != nil {
		return Blob{}, fmt.Errorf("store file: %w", err)
	}
	rest, err := io.Copy(w, lr)
	if err != nil {
		// io.Copy reports read and write errors alike; both end the upload.
		return Blob{}, fmt.Errorf("store file: %w", err)
	}
	size := int64(n) + rest
	if size > max {
		return Blob{}, ErrTooLarge
	}
	if err := f.Sync(); err != nil {
		return Blob{}, fmt.Errorf("store file: %w", err)
	}
	if err := f.Close(); err != nil {
		return Blob{}, fmt.Errorf("store file: %w", err)
	}

	b := Blob{SHA256: sum(h), Size: size, ContentType: SniffType(head, name)}
	dst := s.path(b.SHA256)
	if info, err := os.Stat(dst); err == nil && info.Mode().IsRegular() && info.Size() == size {
		// Same name, same size: the same content, already durable. If a
		// racing Remove deleted it meanwhile, Chtimes fails and the rename
		// below puts it back.
		now := time.Now()
		if err := os.Chtimes(dst, now, now); err == nil {
			os.Remove(f.Name())
			committed = true
			return b, nil
		}
	}
	// Renaming over a file of the same name is safe: a racing Put of the
	// same content wrote the same bytes, and anything else there (a
	// truncated copy restored by hand) deserves to be replaced.
	if err := os.Rename(f.Name(), dst); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return Blob{}, fmt.Errorf("store file: %w", err)
		}
		// The blob directory was removed behind our back: remake it.
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return Blob{}, fmt.Errorf("store file: %w", err)
		}
		if err := syncDir(s.root); err != nil {
			return Blob{}, fmt.Errorf("store file: %w", err)
		}
		if err := os.Rename(f.Name(), dst); err != nil {
			return Blob{}, fmt.Errorf("store file: %w", err)
		}
	}
	committed = true
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return Blob{}, fmt.Errorf("store file: %w", err)
	}
	return b, nil
}

// Adopt moves the finished file at path into the store as a blob, without
// copying it: it is hashed where it lies, synced, and renamed to its blob
// name, so storing it needs no free space, even on a full disk (a call
// recording posted when the disk filled up). path must be on the store's
// filesystem (its tmp/ is); the file is gone from path once Adopt returns
// without error, and left there on an error, for the caller to try again.
// As with Put, a blob with the same content that is already stored is kept
// (touched) and the file at path removed, and the blob is durable on
// return.
func (s *Store) Adopt(path, name string) (Blob, error) {
	f, err := os.Open(path)
	if err != nil {
		return Blob{}, fmt.Errorf("adopt file: %w", err)
	}
	h := sha256.New()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		f.Close()
		return Blob{}, fmt.Errorf("adopt file: read: %w", err)
	}
	head = head[:n]
	h.Write(head)
	rest, err := io.Copy(h, f)
	if err == nil {
		// The bytes may still be only in the page cache (the writer need
		// not have synced): make them durable before any row names them.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Blob{}, fmt.Errorf("adopt file: %w", err)
	}
	b := Blob{SHA256: sum(h), Size: int64(n) + rest, ContentType: SniffType(head, name)}
	dst := s.path(b.SHA256)
	if info, err := os.Stat(dst); err == nil && info.Mode().IsRegular() && info.Size() == b.Size {
		now := time.Now()
		if err := os.Chtimes(dst, now, now); err == nil {
			if err := os.Remove(path); err != nil {
				return Blob{}, fmt.Errorf("adopt file: %w", err)
			}
			return b, nil
		}
	}
	if err := os.Rename(path, dst); err != nil {
		if !errors.Is(err, fs.ErrNotExist) || !fileExists(path) {
			return Blob{}, fmt.Errorf("adopt file: %w", err)
		}
		// The blob directory was removed behind our back: remake it.
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return Blob{}, fmt.Errorf("adopt file: %w", err)
		}
		if err := syncDir(s.root); err != nil {
			return Blob{}, fmt.Errorf("adopt file: %w", err)
		}
		if err := os.Rename(path, dst); err != nil {
			return Blob{}, fmt.Errorf("adopt file: %w", err)
		}
	}
	// Blobs are not written to after they are stored, and are read by
	// whoever may read files/ (Put's temp files are 0600 too).
	_ = os.Chmod(dst, 0o600)
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return Blob{}, fmt.Errorf("adopt file: %w", err)
	}
	return b, nil
}

// Unadopt puts an adopted blob back at path, as a hard link (no disk space
// needed), for a caller whose use of it failed after Adopt: it can try
// again later from path. The blob stays in the store too: two names for
// the same bytes, and a later Adopt of path finds it stored already.
func (s *Store) Unadopt(b Blob, path string) error {
	if err := os.Link(s.path(b.SHA256), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("unadopt file: %w", err)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Open opens the blob named sha for reading, e.g. to pass to
// http.ServeContent. A missing blob gives an error matching fs.ErrNotExist.
func (s *Store) Open(sha string) (*os.File, error) {
	p, err := s.Path(sha)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Path returns the file path of the blob named sha, which need not exist.
func (s *Store) Path(sha string) (string, error) {
	if !validName(sha) {
		return "", ErrBadName
	}
	return s.path(sha), nil
}

func (s *Store) path(sha string) string {
	return filepath.Join(s.root, sha[:2], sha[2:])
}

// Exists reports whether the blob named sha is stored.
func (s *Store) Exists(sha string) bool {
	p, err := s.Path(sha)
	if err != nil {
		return false
	}
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular()
}

// Verify re-reads the blob named sha and returns ErrCorrupt (wrapped) if
// its bytes no longer hash to its name.
func (s *Store) Verify(sha string) error {
	f, err := s.Open(sha)
	if err != nil {
		return fmt.Errorf("verify blob %s: %w", sha, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("verify blob %s: %w", sha, err)
	}
	if got := sum(h); got != sha {
		return fmt.Errorf("verify blob %s: content hashes to %s: %w", sha, got, ErrCorrupt)
	}
	return nil
}

func sum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// Remove deletes the blob named sha. Removing a blob that is not there is
// not an error, so an interrupted garbage collection can simply run again.
func (s *Store) Remove(sha string) error {
	p, err := s.Path(sha)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove blob %s: %w", sha, err)
	}
	return nil
}

// Walk calls fn for every stored blob, in no particular order, with its name
// and file info (whose ModTime is when it was last stored). It stops at the
// first error fn returns and returns it. Files that are not blobs (a stray
// file copied in by hand) are skipped.
func (s *Store) Walk(fn func(sha string, info fs.FileInfo) error) error {
	dirs, err := os.ReadDir(s.root)
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 || !isHex(d.Name()) {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(s.root, d.Name()))
		if err != nil {
			return fmt.Errorf("list blobs: %w", err)
		}
		for _, e := range entries {
			sha := d.Name() + e.Name()
			if !e.Type().IsRegular() || !validName(sha) {
				continue
			}
			info, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed meanwhile
			}
			if err != nil {
				return fmt.Errorf("list blobs: %w", err)
			}
			if err := fn(sha, info); err != nil {
				return err
			}
		}
	}
	return nil
}

// validName reports whether sha is 64 lowercase hex characters. Upper case
// is refused so that one blob has exactly one name.
func validName(sha string) bool {
	return len(sha) == sha256.Size*2 && isHex(sha)
}

func isHex(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f')
	}) < 0
}

// syncDir makes the entries of dir (a rename into it) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
