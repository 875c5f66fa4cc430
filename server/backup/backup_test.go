package backup

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"calls/store"
)

// Backup then restore gives identical rows and files.
func TestBackupRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	st, err := store.Open(ctx, filepath.Join(data, "calls.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"ann", "bob", "cy"} {
		if _, err := st.CreateUser(ctx, store.NewUser{Username: n, Role: store.RoleMember, PasswordHash: "h-" + n}); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(data, "files", "ab"), 0o700)
	os.WriteFile(filepath.Join(data, "files", "ab", "abcdef"), []byte("upload bytes"), 0o600)
	want, _ := st.ListUsers(ctx)

	for _, name := range []string{"b.tar", "b.tar.gz"} {
		t.Run(name, func(t *testing.T) {
			// The server's store stays open: backup runs beside it.
			file := filepath.Join(t.TempDir(), name)
			if err := Create(ctx, data, file); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "restored")
			if _, err := Restore(ctx, file, target, false); err != nil {
				t.Fatal(err)
			}
			rs, err := store.Open(ctx, filepath.Join(target, "calls.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			got, _ := rs.ListUsers(ctx)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("restored users differ:\n got %+v\nwant %+v", got, want)
			}
			b, err := os.ReadFile(filepath.Join(target, "files", "ab", "abcdef"))
			if err != nil || string(b) != "upload bytes" {
				t.Fatalf("restored file: %q %v", b, err)
			}

			// A second restore into the now non-empty dir needs --force,
			// and --force keeps the old dir aside.
			if _, err := Restore(ctx, file, target, false); !errors.Is(err, ErrNotEmpty) {
				t.Fatalf("restore over data: err = %v, want ErrNotEmpty", err)
			}
			aside, err := Restore(ctx, file, target, true)
			if err != nil || aside == "" {
				t.Fatalf("forced restore: aside=%q err=%v", aside, err)
			}
			if _, err := os.Stat(filepath.Join(aside, "calls.db")); err != nil {
				t.Fatalf("old data not kept aside: %v", err)
			}
		})
	}
	st.Close()
}

func TestRestoreRefusesUnsafeArchive(t *testing.T) {
	file := filepath.Join(t.TempDir(), "evil.tar")
	f, _ := os.Create(file)
	tw := tar.NewWriter(f)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "../../escape", Size: 1, Mode: 0o600})
	tw.Write([]byte("x"))
	tw.Close()
	f.Close()
	target := filepath.Join(t.TempDir(), "d")
	if _, err := Restore(context.Background(), file, target, false); err == nil {
		t.Fatal("unsafe archive restored")
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("target created by a failed restore: %v", err)
	}
}
