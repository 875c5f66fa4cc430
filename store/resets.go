package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// PasswordReset is a one-time link an admin made for a user to choose a
// new password.
type PasswordReset struct {
	UserID    string
	Username  string
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// CreatePasswordReset stores a reset link's token hash for a user.
func (s *Store) CreatePasswordReset(ctx context.Context, tokenHash, userID, createdBy string, expires time.Time, audit ...AuditRecord) error {
	return s.write(ctx, "create_password_reset", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO password_resets (token_hash, user_id, created_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?)`, tokenHash, userID, nullable(createdBy), toMillis(now()), toMillis(expires)); err != nil {
			return err
		}
		return insertAudit(ctx, tx, userID, audit)
	})
}

// PasswordResetByToken finds a reset link by its token's hash.
func (s *Store) PasswordResetByToken(ctx context.Context, tokenHash string) (*PasswordReset, error) {
	return scanReset(s.reader.QueryRowContext(ctx, `SELECT r.user_id, u.username, r.expires_at, r.used_at
		FROM password_resets r JOIN users u ON u.id = r.user_id WHERE r.token_hash = ?`, tokenHash))
}

func scanReset(row *sql.Row) (*PasswordReset, error) {
	var r PasswordReset
	var expires int64
	var used sql.NullInt64
	err := row.Scan(&r.UserID, &r.Username, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	r.ExpiresAt, r.UsedAt = fromMillis(expires), fromNullMillis(used)
	return &r, nil
}

// UsePasswordReset spends a reset link: the user's password becomes hash,
// every session of theirs ends and every other open reset link of theirs
// is spent too, in one transaction. ErrNotFound: no such link; ErrGone:
// used or expired (at is the moment the expiry is checked against);
// ErrDeactivated: the user was deactivated meanwhile.
func (s *Store) UsePasswordReset(ctx context.Context, at time.Time, tokenHash, hash string) (*User, error) {
	var u *User
	err := s.write(ctx, "use_password_reset", func(tx *sql.Tx) error {
		r, err := scanReset(tx.QueryRowContext(ctx, `SELECT r.user_id, u.username, r.expires_at, r.used_at
			FROM password_resets r JOIN users u ON u.id = r.user_id WHERE r.token_hash = ?`, tokenHash))
		if err != nil {
			return err
		}
		if r.UsedAt != nil || !at.Before(r.ExpiresAt) {
			return ErrGone
		}
		if u, err = scanUser(tx.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", r.UserID)); err != nil {
			return err
		}
		if !u.Active() {
			return ErrDeactivated
		}
		ms := toMillis(now())
		if _, err := tx.ExecContext(ctx, "UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL", ms, r.UserID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", hash, ms, r.UserID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", r.UserID)
		return err
	})
	return u, err
}
