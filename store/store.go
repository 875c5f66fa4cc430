// Package store keeps everything calls remembers in one embedded SQLite
// database: users, sessions, rooms, posts, calls. It is the only package that
// speaks SQL. Writes go through a single connection (SQLite allows one writer
// at a time, so a pool would only queue on the file lock); reads use a pool.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Sentinel errors callers map to user-facing answers.
var (
	ErrNotFound      = errors.New("not found")
	ErrConflict      = errors.New("already exists")
	ErrSchemaTooNew  = errors.New("database schema is newer than this binary")
	ErrDeactivated   = errors.New("user is deactivated")
	ErrSessionExpiry = errors.New("session expired")
)

// Store is the SQLite database of one data directory.
type Store struct {
	path   string
	writer *sql.DB // exactly one connection; every write transaction is BEGIN IMMEDIATE
	reader *sql.DB // query_only pool

	posts      chan *postRequest // to the group-commit writer (unbuffered)
	closing    chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once

	// Observe, when set, is told how long each store operation took. The
	// server points it at a Prometheus histogram; store knows nothing of it.
	Observe func(op string, d time.Duration)
}

// Options tune Open. The zero value is the durable default.
type Options struct {
	// Synchronous is the SQLite synchronous pragma: "FULL" (default) makes
	// an acknowledged write survive a power cut.
	Synchronous string
}

// Open opens (creating if needed) the database file at path and applies any
// pending migrations. It refuses a database written by a newer binary.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.Synchronous == "" {
		opts.Synchronous = "FULL"
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	// busy_timeout comes first so that every later pragma already waits for
	// a lock held by another process (e.g. `calls user add` beside a server).
	pragmas := []string{
		"busy_timeout(10000)",
		"journal_mode(WAL)",
		"foreign_keys(1)",
		"synchronous(" + opts.Synchronous + ")",
	}
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range pragmas {
			q.Add("_pragma", p)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			q.Add(extra[i], extra[i+1])
		}
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn("_txlock", "immediate"))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)

	r, err := sql.Open("sqlite", dsn())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)

	s := &Store{path: path, writer: w, reader: r,
		posts: make(chan *postRequest), closing: make(chan struct{}), writerDone: make(chan struct{})}
	go s.postWriter()
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	// Messages and password hashes are nobody else's business on the host.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		_ = os.Chmod(p, 0o600)
	}
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close checkpoints the WAL into the main file and closes all connections.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.writerDone // finishes the batch in hand first
	})
	if s.writer != nil {
		_, _ = s.writer.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	err1 := s.reader.Close()
	err2 := s.writer.Close()
	return errors.Join(err1, err2)
}

// Ping checks the database answers a read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// IntegrityCheck runs PRAGMA integrity_check and returns its verdict ("ok").
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var res string
	err := s.reader.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res)
	return res, err
}

// write runs fn in one BEGIN IMMEDIATE transaction on the writer connection.
func (s *Store) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	start := time.Now()
	defer s.observe(op, start)
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", op, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", op, err)
	}
	return nil
}

func (s *Store) observe(op string, start time.Time) {
	if s.Observe != nil {
		s.Observe(op, time.Since(start))
	}
}

// now is the store's clock, in UTC with millisecond precision as stored.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// Times are stored as Unix milliseconds: compact, sortable, unambiguous.
func toMillis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMillis(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromNullMillis(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMillis(v.Int64)
	return &t
}
