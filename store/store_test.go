package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "calls.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMigrateFreshDB(t *testing.T) {
	s := openTest(t)
	var v int
	if err := s.reader.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || v == 0 {
		t.Fatalf("user_version = %d, want %d", v, SchemaVersion())
	}
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "2"} {
		var got string
		if err := s.writer.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

// An existing database at an older schema keeps its rows and is brought up
// to date; opening it again is a no-op.
func TestMigrateExistingDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.db")
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	// Build a version-1 database by hand, as an older binary would have.
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ms[0].sql); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 1; INSERT INTO users (id, username, role, created_at, updated_at) VALUES ('u1', 'old', 'member', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for range 2 {
		s, err := Open(context.Background(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.UserByUsername(context.Background(), "OLD")
		if err != nil || u.ID != "u1" {
			t.Fatalf("user after migration: %v %v", u, err)
		}
		var v int
		s.reader.QueryRow("PRAGMA user_version").Scan(&v)
		if v != len(ms) {
			t.Fatalf("user_version = %d, want %d", v, len(ms))
		}
		s.Close()
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.db")
	s, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.writer.Exec("PRAGMA user_version = 999")
	s.Close()
	_, err = Open(context.Background(), path, Options{})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("err = %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), "999") {
		t.Errorf("error should name the version: %v", err)
	}
}

func TestUsersAndSessions(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, err := s.CreateUser(ctx, NewUser{Username: "Alice", Role: RoleAdmin, PasswordHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, NewUser{Username: "alice", Role: RoleMember}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate username: err = %v, want ErrConflict", err)
	}
	if _, err := s.CreateSession(ctx, "tok", u.ID, time.Hour, "ua", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.SessionUser(ctx, "tok")
	if err != nil || got.ID != u.ID {
		t.Fatalf("SessionUser = %v, %v", got, err)
	}
	if _, err := s.CreateSession(ctx, "old", u.ID, -time.Second, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, "old"); !errors.Is(err, ErrSessionExpiry) {
		t.Fatalf("expired session: err = %v", err)
	}
	if n, err := s.DeleteExpiredSessions(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions = %d, %v", n, err)
	}
	if err := s.SetDeactivated(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionUser(ctx, "tok"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session after deactivation: err = %v, want ErrNotFound (revoked)", err)
	}
	got, _ = s.UserByID(ctx, u.ID)
	if got.Active() {
		t.Fatal("user still active")
	}
}

func TestBackupIsConsistentCopy(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for _, name := range []string{"a", "b", "c"} {
		if _, err := s.CreateUser(ctx, NewUser{Username: name, Role: RoleMember}); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	if err := s.BackupTo(ctx, dst); err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	us, _ := c.ListUsers(ctx)
	if len(us) != 3 {
		t.Fatalf("copy has %d users, want 3", len(us))
	}
	if res, err := c.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("integrity_check = %q, %v", res, err)
	}
}

func TestValidID(t *testing.T) {
	for range 100 {
		if id := NewID(); !ValidID(id) {
			t.Fatalf("NewID %q not valid", id)
		}
	}
	for _, bad := range []string{"", "x", "../../etc/passwd", strings.Repeat("0", 26)} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}
