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
	// LastSeenAt is when the user last logged in or went offline (admins
	// see it; others see presence only).
	LastSeenAt *time.Time `json:"-"`
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

const userColumns = "id, username, display_name, role, is_bot, created_at, deactivated_at, password_hash, last_seen_at"

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created int64
	var deact, seen sql.NullInt64
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.IsBot, &created, &deact, &u.PasswordHash, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	u.CreatedAt = fromMillis(created)
	u.DeactivatedAt = fromNullMillis(deact)
	u.LastSeenAt = fromNullMillis(seen)
	return &u, nil
}

// CreateUser inserts a user; a taken username (case-insensitive) is
// ErrConflict. Audit records, if any, are written in the same transaction
// (an empty Target becomes the new user's id).
func (s *Store) CreateUser(ctx context.Context, nu NewUser, audit ...AuditRecord) (*User, error) {
	t := now()
	u := &User{ID: NewID(), Username: nu.Username, DisplayName: nu.DisplayName, Role: nu.Role,
		IsBot: nu.IsBot, CreatedAt: t, PasswordHash: nu.PasswordHash}
	err := s.write(ctx, "create_user", func(tx *sql.Tx) error {
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		return insertAudit(ctx, tx, u.ID, audit)
	})
	if isUniqueViolation(err) {
		return nil, fmt.Errorf("username %q: %w", nu.Username, ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("create user %q: %w", nu.Username, err)
	}
	return u, nil
}

func insertUser(ctx context.Context, tx *sql.Tx, u *User) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO users (id, username, display_name, password_hash, role, is_bot, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.Username, u.DisplayName, u.PasswordHash, u.Role, u.IsBot, toMillis(u.CreatedAt), toMillis(u.CreatedAt))
	return err
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

// Deactivation is one user's deactivation: who, and when.
type Deactivation struct {
	UserID string
	At     time.Time
}

// DeactivatedSince lists the users deactivated after since, whoever did it
// (this server or `calls user deactivate` beside it).
func (s *Store) DeactivatedSince(ctx context.Context, since time.Time) ([]Deactivation, error) {
	defer s.observe("deactivated_since", time.Now())
	rows, err := s.reader.QueryContext(ctx, "SELECT id, deactivated_at FROM users WHERE deactivated_at > ?", toMillis(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ds []Deactivation
	for rows.Next() {
		var d Deactivation
		var at int64
		if err := rows.Scan(&d.UserID, &at); err != nil {
			return nil, err
		}
		d.At = time.UnixMilli(at)
		ds = append(ds, d)
	}
	return ds, rows.Err()
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
func (s *Store) SetDeactivated(ctx context.Context, userID string, deactivated bool, audit ...AuditRecord) error {
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
			if _, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", userID); err != nil {
				return err
			}
		}
		return insertAudit(ctx, tx, userID, audit)
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

// ErrLastAdmin refuses a change that would leave no active admin.
var ErrLastAdmin = errors.New("the last active admin")

// UserPatch is an admin's change to a user; nil fields stay.
type UserPatch struct {
	Role        *string
	DisplayName *string
}

// UpdateUser changes a user's role and display name and returns the user
// as it was and as it is now. Demoting the last active admin is
// ErrLastAdmin, checked in the same transaction as the change.
func (s *Store) UpdateUser(ctx context.Context, id string, p UserPatch, audit ...AuditRecord) (before, after *User, err error) {
	err = s.write(ctx, "update_user", func(tx *sql.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
		if err != nil {
			return err
		}
		before = u
		next := *u
		if p.Role != nil {
			next.Role = *p.Role
		}
		if p.DisplayName != nil {
			next.DisplayName = *p.DisplayName
		}
		if u.Role == RoleAdmin && next.Role != RoleAdmin && u.Active() {
			var others int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE role = 'admin' AND deactivated_at IS NULL AND id != ?",
				id).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return ErrLastAdmin
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET role = ?, display_name = ?, updated_at = ? WHERE id = ?",
			next.Role, next.DisplayName, toMillis(now()), id); err != nil {
			return err
		}
		after = &next
		return insertAudit(ctx, tx, id, audit)
	})
	return before, after, err
}

// UserQuery filters the admin's user list.
type UserQuery struct {
	Q      string // substring of username or display name
	Role   string // "" or a role
	Status string // "", "active" or "deactivated"
	Limit  int
	Offset int
}

// SearchUsers returns a page of users ordered by username, and how many
// match in all.
func (s *Store) SearchUsers(ctx context.Context, q UserQuery) ([]*User, int, error) {
	defer s.observe("search_users", time.Now())
	where, args := []string{"1 = 1"}, []any{}
	if q.Q != "" {
		like := "%" + escapeLike(q.Q) + "%"
		where = append(where, `(username LIKE ? ESCAPE '\' OR display_name LIKE ? ESCAPE '\')`)
		args = append(args, like, like)
	}
	if q.Role != "" {
		where = append(where, "role = ?")
		args = append(args, q.Role)
	}
	switch q.Status {
	case "active":
		where = append(where, "deactivated_at IS NULL")
	case "deactivated":
		where = append(where, "deactivated_at IS NOT NULL")
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.reader.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE "+cond, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.reader.QueryContext(ctx, "SELECT "+userColumns+" FROM users WHERE "+cond+" ORDER BY username LIMIT ? OFFSET ?",
		append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	us := []*User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, err
		}
		us = append(us, u)
	}
	return us, total, rows.Err()
}

// escapeLike makes a user's text match literally in LIKE ... ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// TouchLastSeen records that users were seen at a moment (login, going
// offline), in one transaction.
func (s *Store) TouchLastSeen(ctx context.Context, userIDs []string, at time.Time) error {
	if len(userIDs) == 0 {
		return nil
	}
	return s.write(ctx, "touch_last_seen", func(tx *sql.Tx) error {
		for _, id := range userIDs {
			if _, err := tx.ExecContext(ctx, "UPDATE users SET last_seen_at = MAX(COALESCE(last_seen_at, 0), ?) WHERE id = ?", toMillis(at), id); err != nil {
				return err
			}
		}
		return nil
	})
}
