package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Roles a user can have.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
	RoleGuest  = "guest"
)

// User is a person (or bot) who can log in.
type User struct {
	ID            string     `json:"id"`
	Username      string     `json:"username"`
	DisplayName   string     `json:"display_name"`
	Role          string     `json:"role"`
	IsBot         bool       `json:"is_bot,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	DeactivatedAt *time.Time `json:"deactivated_at,omitempty"`
	PasswordHash  string     `json:"-"`
}

// Active reports whether the user may log in.
func (u *User) Active() bool { return u.DeactivatedAt == nil }

// NewUser is what CreateUser needs.
type NewUser struct {
	Username     string
	DisplayName  string
	Role         string
	PasswordHash string
	IsBot        bool
}

const userColumns = "id, username, display_name, role, is_bot, created_at, deactivated_at, password_hash"

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created int64
	var deact sql.NullInt64
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.IsBot, &created, &deact, &u.PasswordHash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	u.CreatedAt = fromMillis(created)
	u.DeactivatedAt = fromNullMillis(deact)
	return &u, nil
}

// CreateUser inserts a user; a taken username (case-insensitive) is ErrConflict.
func (s *Store) CreateUser(ctx context.Context, nu NewUser) (*User, error) {
	t := now()
	u := &User{ID: NewID(), Username: nu.Username, DisplayName: nu.DisplayName, Role: nu.Role,
		IsBot: nu.IsBot, CreatedAt: t, PasswordHash: nu.PasswordHash}
	err := s.write(ctx, "create_user", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, username, display_name, password_hash, role, is_bot, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.Username, u.DisplayName, u.PasswordHash, u.Role, u.IsBot, toMillis(t), toMillis(t))
		return err
	})
	if isUniqueViolation(err) {
		return nil, fmt.Errorf("username %q: %w", nu.Username, ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("create user %q: %w", nu.Username, err)
	}
	return u, nil
}

// UserByID returns one user.
func (s *Store) UserByID(ctx context.Context, id string) (*User, error) {
	defer s.observe("user_by_id", time.Now())
	return scanUser(s.reader.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
}

// UserByUsername returns one user, matching the name case-insensitively.
func (s *Store) UserByUsername(ctx context.Context, username string) (*User, error) {
	defer s.observe("user_by_username", time.Now())
	return scanUser(s.reader.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE username = ?", username))
}

// CountUsers counts all users, active or not.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.reader.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n)
	return n, err
}

// ListUsers returns users ordered by username.
func (s *Store) ListUsers(ctx context.Context) ([]*User, error) {
	defer s.observe("list_users", time.Now())
	rows, err := s.reader.QueryContext(ctx, "SELECT "+userColumns+" FROM users ORDER BY username")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var us []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, rows.Err()
}

// SetDeactivated deactivates (or reactivates) a user. Deactivating also
// deletes every session of the user in the same transaction, so no request
// that starts after this returns is authenticated as them.
func (s *Store) SetDeactivated(ctx context.Context, userID string, deactivated bool) error {
	return s.write(ctx, "set_deactivated", func(tx *sql.Tx) error {
		var at any
		if deactivated {
			at = toMillis(now())
		}
		res, err := tx.ExecContext(ctx, "UPDATE users SET deactivated_at = ?, updated_at = ? WHERE id = ?", at, toMillis(now()), userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if deactivated {
			_, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", userID)
		}
		return err
	})
}

// SetPassword replaces a user's password hash and ends their other sessions.
func (s *Store) SetPassword(ctx context.Context, userID, hash string) error {
	return s.write(ctx, "set_password", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", hash, toMillis(now()), userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", userID)
		return err
	})
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// UsersSharingRooms lists the active users who share at least one room
// with userID (what a guest may see), the user included.
func (s *Store) UsersSharingRooms(ctx context.Context, userID string) ([]*User, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT "+prefixed("u.", userColumns)+` FROM users u
		WHERE u.deactivated_at IS NULL AND u.id IN (
			SELECT m2.user_id FROM channel_members m1 JOIN channel_members m2 ON m1.channel_id = m2.channel_id
			JOIN channels c ON c.id = m1.channel_id AND c.deleted_at IS NULL
			WHERE m1.user_id = ?) ORDER BY u.username`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	us := []*User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, rows.Err()
}

// UsersByUsernames resolves usernames (any case) to active users.
func (s *Store) UsersByUsernames(ctx context.Context, names []string) ([]*User, error) {
	out := []*User{}
	for _, n := range names {
		u, err := s.UserByUsername(ctx, n)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if u.Active() {
			out = append(out, u)
		}
	}
	return out, nil
}

// prefixed qualifies each column of a plain list with a table alias.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = alias + parts[i]
	}
	return strings.Join(parts, ", ")
}
