package filestore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openStore(t *testing.T) (*Store, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "files")
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

// blobFiles lists the regular files under root outside tmp/, and tmpFiles
// those inside it.
func blobFiles(t *testing.T, root string) (blobs, tmp []string) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if strings.HasPrefix(rel, "tmp"+string(filepath.Separator)) {
			tmp = append(tmp, rel)
		} else {
			blobs = append(blobs, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return blobs, tmp
}

func hexSum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestPutOpenVerify(t *testing.T) {
	tests := []struct {
		name    string
		content []byte
	}{
		{"empty", nil},
		{"short text", []byte("hello, world\n")},
		{"exactly 512", bytes.Repeat([]byte{0xfe}, 512)},
		{"large binary", bytes.Repeat([]byte{0, 1, 2, 3, 0xff}, 300_000)},
	}
	s, root := openStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := s.Put(bytes.NewReader(tt.content), "x.bin", 10<<20)
			if err != nil {
				t.Fatal(err)
			}
			if b.SHA256 != hexSum(tt.content) || b.Size != int64(len(tt.content)) {
				t.Fatalf("Put = %+v, want sha %s size %d", b, hexSum(tt.content), len(tt.content))
			}
			p, err := s.Path(b.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(root, b.SHA256[:2], b.SHA256[2:]); p != want {
				t.Fatalf("Path = %s, want %s", p, want)
			}
			f, err := s.Open(b.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.content) {
				t.Fatalf("read back %d bytes, differing from the %d put", len(got), len(tt.content))
			}
			if !s.Exists(b.SHA256) {
				t.Fatal("Exists = false after Put")
			}
			if err := s.Verify(b.SHA256); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
	if _, tmp := blobFiles(t, root); len(tmp) != 0 {
		t.Fatalf("temp files left: %v", tmp)
	}
}

func TestPutSameContentTwice(t *testing.T) {
	s, root := openStore(t)
	content := []byte("the same bytes, uploaded twice")
	a, err := s.Put(bytes.NewReader(content), "a.txt", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	p, _ := s.Path(a.SHA256)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	b, err := s.Put(bytes.NewReader(content), "b.txt", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("second Put = %+v, first %+v", b, a)
	}
	blobs, tmp := blobFiles(t, root)
	if len(blobs) != 1 || len(tmp) != 0 {
		t.Fatalf("files after two Puts: blobs %v, temp %v; want one blob", blobs, tmp)
	}
	// A reused blob counts as freshly stored, so a collector sparing recent
	// blobs leaves it to the row about to name it.
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(info.ModTime()) > time.Hour {
		t.Fatalf("reused blob's mtime %v not refreshed", info.ModTime())
	}
}

func TestPutSizeLimit(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		max     int64
		wantErr error
	}{
		{"one under", 99, 100, nil},
		{"exactly max", 100, 100, nil},
		{"one over", 101, 100, ErrTooLarge},
		{"far over", 5 << 20, 1000, ErrTooLarge},
		{"empty with max 0", 0, 0, nil},
		{"one byte with max 0", 1, 0, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, root := openStore(t)
			r := &countingReader{r: bytes.NewReader(bytes.Repeat([]byte("z"), tt.size))}
			_, err := s.Put(r, "f.txt", tt.max)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put of %d bytes with max %d: err = %v, want %v", tt.size, tt.max, err, tt.wantErr)
			}
			blobs, tmp := blobFiles(t, root)
			if len(tmp) != 0 {
				t.Fatalf("temp files left: %v", tmp)
			}
			if tt.wantErr != nil && len(blobs) != 0 {
				t.Fatalf("refused upload stored: %v", blobs)
			}
			// A refused body is not read to its end: an attacker's endless
			// upload costs at most max+1 bytes (plus one read buffer).
			if r.n > tt.max+1+32<<10 {
				t.Fatalf("read %d bytes for max %d", r.n, tt.max)
			}
		})
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type failingReader struct{ left int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, errors.New("connection reset")
	}
	n := min(len(p), f.left)
	f.left -= n
	return n, nil
}

func TestPutReadErrorLeavesNothing(t *testing.T) {
	s, root := openStore(t)
	if _, err := s.Put(&failingReader{left: 100_000}, "x", 1<<20); err == nil {
		t.Fatal("Put succeeded on a failing reader")
	}
	if blobs, tmp := blobFiles(t, root); len(blobs)+len(tmp) != 0 {
		t.Fatalf("files left after a failed upload: %v %v", blobs, tmp)
	}
}

func TestBadNamesRefused(t *testing.T) {
	s, _ := openStore(t)
	good := strings.Repeat("ab", 32)
	tests := []string{
		"../../etc/passwd",
		"",
		"..",
		"tmp",
		strings.Repeat("a", 63),
		strings.Repeat("a", 65),
		strings.ToUpper(good),
		"../" + good[3:],
		good[:62] + "/x",
		good[:63] + "g",
		good[:63] + "\x00",
		"/" + good[1:],
	}
	for _, name := range tests {
		t.Run(name, func(t *testing.T) {
			if f, err := s.Open(name); !errors.Is(err, ErrBadName) {
				if f != nil {
					f.Close()
				}
				t.Fatalf("Open(%q) err = %v, want ErrBadName", name, err)
			}
			if _, err := s.Path(name); !errors.Is(err, ErrBadName) {
				t.Fatalf("Path(%q) err = %v, want ErrBadName", name, err)
			}
			if err := s.Verify(name); !errors.Is(err, ErrBadName) {
				t.Fatalf("Verify(%q) err = %v, want ErrBadName", name, err)
			}
			if err := s.Remove(name); !errors.Is(err, ErrBadName) {
				t.Fatalf("Remove(%q) err = %v, want ErrBadName", name, err)
			}
			if s.Exists(name) {
				t.Fatalf("Exists(%q) = true", name)
			}
		})
	}
	// A well-formed name that is not stored is "not found", not "bad".
	if _, err := s.Open(good); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(missing) err = %v, want fs.ErrNotExist", err)
	}
}

func TestVerifyDetectsCorruption(t *testing.T) {
	s, _ := openStore(t)
	b, err := s.Put(strings.NewReader("a recording that must survive"), "rec.webm", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path(b.SHA256)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{'A'}, 5); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := s.Verify(b.SHA256); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Verify of a corrupted blob: %v, want ErrCorrupt", err)
	}
	if err := os.Truncate(p, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(b.SHA256); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Verify of a truncated blob: %v, want ErrCorrupt", err)
	}
	// Putting the content again repairs the truncated copy.
	if _, err := s.Put(strings.NewReader("a recording that must survive"), "rec.webm", 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(b.SHA256); err != nil {
		t.Fatalf("Verify after re-upload: %v", err)
	}
}

func TestRemove(t *testing.T) {
	s, _ := openStore(t)
	b, err := s.Put(strings.NewReader("short-lived"), "x.txt", 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(b.SHA256); err != nil {
		t.Fatal(err)
	}
	if s.Exists(b.SHA256) {
		t.Fatal("blob still there after Remove")
	}
	if err := s.Remove(b.SHA256); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	// The blob can be stored again afterwards.
	if _, err := s.Put(strings.NewReader("short-lived"), "x.txt", 100); err != nil {
		t.Fatal(err)
	}
	if !s.Exists(b.SHA256) {
		t.Fatal("blob missing after Put following Remove")
	}
}

func TestWalk(t *testing.T) {
	s, root := openStore(t)
	want := map[string]bool{}
	for _, c := range []string{"one", "two", "three"} {
		b, err := s.Put(strings.NewReader(c), "", 100)
		if err != nil {
			t.Fatal(err)
		}
		want[b.SHA256] = true
	}
	// Strays are not blobs.
	os.WriteFile(filepath.Join(root, "ab", "notes.txt"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(root, "tmp", "put-123"), []byte("x"), 0o600)
	got := map[string]bool{}
	err := s.Walk(func(sha string, info fs.FileInfo) error {
		got[sha] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Walk saw %v, want %v", got, want)
	}
	for sha := range want {
		if !got[sha] {
			t.Fatalf("Walk missed %s", sha)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Walk(func(string, fs.FileInfo) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("Walk with a failing fn: err %v after %d calls, want stop after 1", err, n)
	}
}

func TestOpenRemovesStaleTemp(t *testing.T) {
	root := filepath.Join(t.TempDir(), "files")
	if _, err := Open(root); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(root, "tmp", "put-crashed")
	fresh := filepath.Join(root, "tmp", "put-inflight")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("half an upload"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stale temp file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("recent temp file removed: %v", err)
	}
	info, err := os.Stat(root)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o700 {
		t.Fatalf("root mode %o, want 700", perm)
	}
}

func TestConcurrentPutSameContent(t *testing.T) {
	s, root := openStore(t)
	content := bytes.Repeat([]byte("same upload from eight clients "), 10_000)
	const n = 8
	var wg sync.WaitGroup
	blobs := make([]Blob, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			blobs[i], errs[i] = s.Put(bytes.NewReader(content), "same.txt", 1<<20)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		if blobs[i] != blobs[0] {
			t.Fatalf("Put %d = %+v, Put 0 = %+v", i, blobs[i], blobs[0])
		}
	}
	files, tmp := blobFiles(t, root)
	if len(files) != 1 || len(tmp) != 0 {
		t.Fatalf("after %d concurrent Puts: blobs %v, temp %v; want one blob", n, files, tmp)
	}
	if err := s.Verify(blobs[0].SHA256); err != nil {
		t.Fatal(err)
	}
}

func TestAdoptMovesTheFileIn(t *testing.T) {
	s, root := openStore(t)
	content := append([]byte{0x1a, 0x45, 0xdf, 0xa3}, bytes.Repeat([]byte("webm "), 100_000)...)
	path := filepath.Join(root, "tmp", KeepPrefix+"a.webm")
	if err := os.WriteFile(path, content, 0o640); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	b, err := s.Adopt(path, "call.webm")
	if err != nil {
		t.Fatal(err)
	}
	if b.SHA256 != hexSum(content) || b.Size != int64(len(content)) || b.ContentType != "video/webm" {
		t.Fatalf("Adopt = %+v, want sha %s size %d video/webm", b, hexSum(content), len(content))
	}
	if err := s.Verify(b.SHA256); err != nil {
		t.Fatal(err)
	}
	// Moved, not copied: the blob is the very file that was written.
	p, _ := s.Path(b.SHA256)
	after, err := os.Stat(p)
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("blob %s is not the adopted file (err %v)", p, err)
	}
	if after.Mode().Perm() != 0o600 {
		t.Errorf("blob mode %v, want 0600 like Put's", after.Mode().Perm())
	}
	if _, tmp := blobFiles(t, root); len(tmp) != 0 {
		t.Fatalf("left in tmp: %v", tmp)
	}

	// The same content again: the stored blob is kept, the new file goes.
	if err := os.WriteFile(path, content, 0o640); err != nil {
		t.Fatal(err)
	}
	again, err := s.Adopt(path, "call.webm")
	if err != nil || again != b {
		t.Fatalf("second Adopt = %+v, %v; want %+v", again, err, b)
	}
	blobs, tmp := blobFiles(t, root)
	if len(blobs) != 1 || len(tmp) != 0 {
		t.Fatalf("after adopting the same content twice: blobs %v, tmp %v", blobs, tmp)
	}
	if st, _ := os.Stat(p); !os.SameFile(before, st) {
		t.Fatal("the stored blob was replaced")
	}
}

func TestAdoptFailureLeavesTheFile(t *testing.T) {
	s, root := openStore(t)
	content := []byte("a recording that cannot be stored yet")
	path := filepath.Join(root, "tmp", KeepPrefix+"b.webm")
	if err := os.WriteFile(path, content, 0o640); err != nil {
		t.Fatal(err)
	}
	// The blob's directory is a plain file: the rename cannot happen.
	sha := hexSum(content)
	dir := filepath.Join(root, sha[:2])
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Adopt(path, "b.webm"); err == nil {
		t.Fatal("Adopt into a broken store: no error")
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("the file was not left for another try: %v", err)
	}
	if _, err := s.Adopt(filepath.Join(root, "tmp", "missing"), "x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Adopt of a missing file = %v, want ErrNotExist", err)
	}
}
