package server

import (
	"context"
	"time"
)

// Message retention: with message_retention_days set (0, the default,
// keeps everything), a background job deletes posts older than that, with
// their reactions, search rows and the files only they used. It works in
// batches of retentionBatch posts, one short transaction each with a pause
// between, so chat writes never wait long behind it.

const (
	retentionBatch = 500
	retentionPause = 50 * time.Millisecond
	retentionEvery = time.Hour
	retentionFirst = time.Minute // after start, so a restart is not slowed
)

// retention wakes the job early when the setting changes.
type retention struct {
	wake  chan struct{}
	batch int // posts per transaction
}

func newRetention(batch int) retention {
	if batch <= 0 {
		batch = retentionBatch
	}
	return retention{wake: make(chan struct{}, 1), batch: batch}
}

func (r *retention) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// runRetention applies the retention setting now and then until ctx ends.
func (s *Server) runRetention(ctx context.Context) {
	t := time.NewTimer(retentionFirst)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.retention.wake:
		}
		if _, err := s.applyRetention(ctx, time.Now()); err != nil && ctx.Err() == nil {
			s.log.Error("message retention", "err", err)
		}
		t.Reset(retentionEvery)
	}
}

// retentionResult is what one pass deleted.
type retentionResult struct {
	Posts, Files, Blobs int
}

// applyRetention deletes what the setting no longer keeps, as of now.
func (s *Server) applyRetention(ctx context.Context, now time.Time) (retentionResult, error) {
	var res retentionResult
	days := s.settingInt("message_retention_days")
	if days <= 0 {
		return res, nil
	}
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
	for {
		b, err := s.store.DeleteOldPosts(ctx, cutoff, s.retention.batch)
		if err != nil {
			return res, err
		}
		res.Posts += b.Posts
		res.Files += b.Files
		for _, sha := range b.Blobs {
			// Checked again just before removing: an upload of the same
			// bytes may have named the blob since the batch committed.
			if used, err := s.store.BlobReferenced(ctx, sha); err != nil || used {
				continue
			}
			if err := s.files.Remove(sha); err != nil {
				s.log.Warn("message retention: remove blob", "sha256", sha, "err", err)
				continue
			}
			res.Blobs++
		}
		if b.Posts < s.retention.batch {
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(retentionPause):
		}
	}
	if res.Posts > 0 {
		s.log.Info("message retention", "days", days, "posts_deleted", res.Posts, "files_deleted", res.Files, "blobs_removed", res.Blobs)
	}
	return res, nil
}
