package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ErrFileUnusable means a file id given with a post is unknown, someone
// else's, from another room or already attached.
var ErrFileUnusable = errors.New("file cannot be attached")

// File is an uploaded file's record; its bytes are the blob SHA256.
type File struct {
	ID          string    `json:"id"`
	SHA256      string    `json:"-"`
	Name        string    `json:"name"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type"`
	UserID      string    `json:"user_id"`
	ChannelID   string    `json:"channel_id"`
	PostID      string    `json:"post_id,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// CreateFile records an upload whose blob is already on disk.
func (s *Store) CreateFile(ctx context.Context, f *File) error {
	f.ID, f.CreatedAt = NewID(), now()
	return s.write(ctx, "create_file", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO files (id, sha256, name, size, content_type, user_id, channel_id, post_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.ID, f.SHA256, f.Name, f.Size, f.ContentType, f.UserID, f.ChannelID,
			nullable(f.PostID), toMillis(f.CreatedAt))
		return err
	})
}

// FileByID returns a file record.
func (s *Store) FileByID(ctx context.Context, id string) (*File, error) {
	var f File
	var created int64
	var post sql.NullString
	err := s.reader.QueryRowContext(ctx, `SELECT id, sha256, name, size, content_type, user_id, channel_id, post_id, created_at
		FROM files WHERE id = ?`, id).Scan(&f.ID, &f.SHA256, &f.Name, &f.Size, &f.ContentType, &f.UserID, &f.ChannelID, &post, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	f.PostID, f.CreatedAt = post.String, fromMillis(created)
	return &f, err
}

// FilesByIDs returns the records of the given files that exist.
func (s *Store) FilesByIDs(ctx context.Context, ids []string) ([]*File, error) {
	out := []*File{}
	for _, id := range ids {
		f, err := s.FileByID(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// AllFileHashes lists the blob of every file row (for integrity checks).
func (s *Store) AllFileHashes(ctx context.Context) ([]string, error) {
	return s.queryIDs(ctx, "SELECT DISTINCT sha256 FROM files")
}

// FileUsage is what uploads and recordings take on disk.
type FileUsage struct {
	Blobs, BlobBytes           int64 // distinct stored blobs (recordings included)
	Recordings, RecordingBytes int64 // files posted as call recordings
}

// FileUsage sums the stored blobs and the recordings among them.
func (s *Store) FileUsage(ctx context.Context) (FileUsage, error) {
	var u FileUsage
	if err := s.reader.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(size), 0) FROM
		(SELECT sha256, MAX(size) AS size FROM files GROUP BY sha256)`).Scan(&u.Blobs, &u.BlobBytes); err != nil {
		return u, err
	}
	err := s.reader.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(f.size), 0) FROM files f
		JOIN posts p ON p.id = f.post_id WHERE p.type = 'call_recording'`).Scan(&u.Recordings, &u.RecordingBytes)
	return u, err
}
