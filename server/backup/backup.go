// Package backup copies a calls data directory to one tar file and back:
// a consistent snapshot of the database (SQLite's VACUUM INTO, taken beside
// a running server) together with the uploaded files, certificates and
// secrets kept next to it.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"calls/store"
)

// dbName is the database's name inside the data dir and the archive.
const dbName = "calls.db"

// skip lists data-dir entries that are not copied: the live database files
// (the snapshot replaces them) and the server's lock.
func skip(rel string) bool {
	switch rel {
	case dbName, dbName + "-wal", dbName + "-shm", dbName + "-journal", "calls.lock":
		return true
	}
	return false
}

// Create writes a backup of dataDir to dst (".tar" or, with a ".gz" or
// ".tgz" suffix, gzip-compressed). dst is written through a temporary file
// and renamed, so a failed backup never leaves a truncated archive.
func Create(ctx context.Context, dataDir, dst string) error {
	if _, err := os.Stat(filepath.Join(dataDir, dbName)); err != nil {
		return fmt.Errorf("--data %s: no database there (%w)", dataDir, err)
	}
	st, err := store.Open(ctx, filepath.Join(dataDir, dbName), store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()

	work, err := os.MkdirTemp("", "calls-backup-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	snap := filepath.Join(work, dbName)
	if err := st.BackupTo(ctx, snap); err != nil {
		return err
	}

	out, err := os.CreateTemp(filepath.Dir(dst), ".calls-backup-*")
	if err != nil {
		return fmt.Errorf("backup file %s: %w", dst, err)
	}
	defer os.Remove(out.Name())
	var w io.Writer = out
	var gz *gzip.Writer
	if strings.HasSuffix(dst, ".gz") || strings.HasSuffix(dst, ".tgz") {
		gz = gzip.NewWriter(out)
		w = gz
	}
	tw := tar.NewWriter(w)
	if err := addFile(tw, snap, dbName); err != nil {
		out.Close()
		return err
	}
	err = filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dataDir, path)
		rel = filepath.ToSlash(rel)
		if rel == "." || skip(rel) {
			return nil
		}
		if d.IsDir() {
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o700, ModTime: time.Now()})
		}
		if !d.Type().IsRegular() {
			return nil // sockets, links: not ours
		}
		return addFile(tw, path, rel)
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil && gz != nil {
		err = gz.Close()
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write backup %s: %w", dst, err)
	}
	return os.Rename(out.Name(), dst)
}

func addFile(tw *tar.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: fi.Size(), Mode: int64(fi.Mode().Perm()), ModTime: fi.ModTime()}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// ErrNotEmpty means the restore target already holds data.
var ErrNotEmpty = errors.New("data directory is not empty")

// Restore unpacks the backup src into dataDir. A non-empty dataDir is
// refused unless force is set; even then nothing is deleted: the old
// directory is renamed to DIR.before-restore-TIME. The archive is unpacked
// beside the target first and its database checked, so a bad archive leaves
// the target as it was.
func Restore(ctx context.Context, src, dataDir string, force bool) (movedAside string, err error) {
	dataDir = filepath.Clean(dataDir)
	if entries, err := os.ReadDir(dataDir); err == nil && len(entries) > 0 && !force {
		return "", fmt.Errorf("%w: %s; restore into an empty directory or pass --force (the old one is kept, renamed)", ErrNotEmpty, dataDir)
	}
	parent := filepath.Dir(dataDir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(parent, ".calls-restore-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o700); err != nil {
		return "", err
	}
	if err := extract(src, tmp); err != nil {
		return "", err
	}
	st, err := store.Open(ctx, filepath.Join(tmp, dbName), store.Options{})
	if err != nil {
		return "", fmt.Errorf("backup %s: database unusable: %w", src, err)
	}
	res, err := st.IntegrityCheck(ctx)
	st.Close()
	if err != nil || res != "ok" {
		return "", fmt.Errorf("backup %s: database integrity check failed: %v %s", src, err, res)
	}
	if _, err := os.Stat(dataDir); err == nil {
		movedAside = fmt.Sprintf("%s.before-restore-%s", dataDir, time.Now().UTC().Format("20060102T150405Z"))
		if err := os.Rename(dataDir, movedAside); err != nil {
			return "", fmt.Errorf("move old %s aside: %w", dataDir, err)
		}
	}
	if err := os.Rename(tmp, dataDir); err != nil {
		return movedAside, fmt.Errorf("put restored data in place: %w", err)
	}
	return movedAside, nil
}

// extract unpacks regular files and directories only, refusing any name
// that would land outside dir.
func extract(src, dir string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("backup file: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	magic := make([]byte, 2)
	if _, err := io.ReadFull(f, magic); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		f.Seek(0, io.SeekStart)
		gz, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("backup %s: %w", src, err)
		}
		r = gz
	} else {
		f.Seek(0, io.SeekStart)
	}
	tr := tar.NewReader(r)
	sawDB := false
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("backup %s: not a calls backup (%w)", src, err)
		}
		name := filepath.FromSlash(strings.TrimSuffix(hdr.Name, "/"))
		if !filepath.IsLocal(name) {
			return fmt.Errorf("backup %s: unsafe path %q in archive", src, hdr.Name)
		}
		target := filepath.Join(dir, name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
				return err
			}
			out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fs.FileMode(hdr.Mode).Perm()|0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if err == nil {
				err = out.Sync()
			}
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if name == dbName {
				sawDB = true
			}
		default:
			return fmt.Errorf("backup %s: unsupported entry %q", src, hdr.Name)
		}
	}
	if !sawDB {
		return fmt.Errorf("backup %s: no %s inside; not a calls backup", src, dbName)
	}
	return nil
}
