package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Session is a login of one user on one device.
type Session struct {
	TokenHash string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateSession stores a session under the hash of its token.
func (s *Store) CreateSession(ctx context.Context, tokenHash, userID string, ttl time.Duration, userAgent, ip string) (*Session, error) {
	t := now()
	sess := &Session{TokenHash: tokenHash, UserID: userID, CreatedAt: t, ExpiresAt: t.Add(ttl)}
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	err := s.write(ctx, "create_session", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at, user_agent, ip)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, tokenHash, userID, toMillis(t), toMillis(sess.ExpiresAt), toMillis(t), userAgent, ip)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// SessionUser returns the user a token hash belongs to. It fails with
// ErrNotFound for unknown or revoked sessions, ErrSessionExpiry for expired
// ones and ErrDeactivated when the user was deactivated.
func (s *Store) SessionUser(ctx context.Context, tokenHash string) (*User, *Session, error) {
	defer s.observe("session_user", time.Now())
	row := s.reader.QueryRowContext(ctx, `SELECT s.user_id, s.created_at, s.expires_at,
		u.id, u.username, u.display_name, u.role, u.is_bot, u.created_at, u.deactivated_at, u.password_hash
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`, tokenHash)
	var sess Session
	var created, expires, ucreated int64
	var deact sql.NullInt64
	var u User
	err := row.Scan(&sess.UserID, &created, &expires, &u.ID, &u.Username, &u.DisplayName, &u.Role, &u.IsBot, &ucreated, &deact, &u.PasswordHash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	sess.TokenHash = tokenHash
	sess.CreatedAt, sess.ExpiresAt = fromMillis(created), fromMillis(expires)
	u.CreatedAt, u.DeactivatedAt = fromMillis(ucreated), fromNullMillis(deact)
	if time.Now().After(sess.ExpiresAt) {
		return nil, nil, ErrSessionExpiry
	}
	if !u.Active() {
		return nil, nil, ErrDeactivated
	}
	return &u, &sess, nil
}

// DeleteSession revokes one session (logout).
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	return s.write(ctx, "delete_session", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE token_hash = ?", tokenHash)
		return err
	})
}

// DeleteExpiredSessions removes sessions past their expiry and says how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	var n int64
	err := s.write(ctx, "delete_expired_sessions", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at < ?", toMillis(now()))
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
