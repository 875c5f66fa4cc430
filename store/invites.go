package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ErrGone means a link that existed but no longer works: expired, used up
// or revoked.
var ErrGone = errors.New("link expired or already used")

// Invite is a link that lets people create an account with a role (and
// join a team). Its token is only in the link; the row keeps its hash.
type Invite struct {
	ID        string     `json:"id"`
	Role      string     `json:"role"`
	TeamID    string     `json:"team_id"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	MaxUses   int        `json:"max_uses"`
	Uses      int        `json:"uses"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Usable says whether the invite can still be accepted at t.
func (i *Invite) Usable(t time.Time) bool {
	return i.RevokedAt == nil && i.Uses < i.MaxUses && t.Before(i.ExpiresAt)
}

const inviteColumns = "id, role, COALESCE(team_id, ''), COALESCE(created_by, ''), created_at, expires_at, max_uses, uses, revoked_at"

func scanInvite(row interface{ Scan(...any) error }) (*Invite, error) {
	var i Invite
	var created, expires int64
	var revoked sql.NullInt64
	err := row.Scan(&i.ID, &i.Role, &i.TeamID, &i.CreatedBy, &created, &expires, &i.MaxUses, &i.Uses, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	i.CreatedAt, i.ExpiresAt, i.RevokedAt = fromMillis(created), fromMillis(expires), fromNullMillis(revoked)
	return &i, nil
}

// CreateInvite stores an invite under the hash of its token.
func (s *Store) CreateInvite(ctx context.Context, tokenHash string, inv *Invite, audit ...AuditRecord) error {
	inv.ID, inv.CreatedAt, inv.Uses = NewID(), now(), 0
	inv.ExpiresAt = inv.ExpiresAt.UTC().Truncate(time.Millisecond)
	return s.write(ctx, "create_invite", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO invites (id, token_hash, role, team_id, created_by, created_at, expires_at, max_uses)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, inv.ID, tokenHash, inv.Role, nullable(inv.TeamID), nullable(inv.CreatedBy),
			toMillis(inv.CreatedAt), toMillis(inv.ExpiresAt), inv.MaxUses); err != nil {
			return err
		}
		return insertAudit(ctx, tx, inv.ID, audit)
	})
}

// Invites lists the invites not revoked, newest first.
func (s *Store) Invites(ctx context.Context) ([]*Invite, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT "+inviteColumns+" FROM invites WHERE revoked_at IS NULL ORDER BY created_at DESC")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Invite{}
	for rows.Next() {
		i, err := scanInvite(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// InviteByToken finds an invite by its token's hash, usable or not.
func (s *Store) InviteByToken(ctx context.Context, tokenHash string) (*Invite, error) {
	return scanInvite(s.reader.QueryRowContext(ctx, "SELECT "+inviteColumns+" FROM invites WHERE token_hash = ?", tokenHash))
}

// RevokeInvite stops an invite from working.
func (s *Store) RevokeInvite(ctx context.Context, id string, audit ...AuditRecord) error {
	return s.write(ctx, "revoke_invite", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", toMillis(now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return insertAudit(ctx, tx, id, audit)
	})
}

// AcceptInvite creates the user an invite admits, counts the use and adds
// them to the invite's team (or defaultTeamID when it names none), all in
// one transaction: two people racing for the last use cannot both get in.
// at is the moment the expiry is checked against. ErrNotFound: no such
// invite; ErrGone: expired, used up or revoked; ErrConflict: the username
// is taken.
func (s *Store) AcceptInvite(ctx context.Context, at time.Time, tokenHash string, nu NewUser, defaultTeamID string, audit ...AuditRecord) (*User, *Invite, error) {
	t := now()
	var u *User
	var inv *Invite
	err := s.write(ctx, "accept_invite", func(tx *sql.Tx) error {
		var err error
		inv, err = scanInvite(tx.QueryRowContext(ctx, "SELECT "+inviteColumns+" FROM invites WHERE token_hash = ?", tokenHash))
		if err != nil {
			return err
		}
		if !inv.Usable(at) {
			return ErrGone
		}
		nu.Role = inv.Role
		u = &User{ID: NewID(), Username: nu.Username, DisplayName: nu.DisplayName, Role: nu.Role, CreatedAt: t, PasswordHash: nu.PasswordHash}
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE invites SET uses = uses + 1 WHERE id = ?", inv.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO invite_uses (invite_id, user_id, used_at) VALUES (?, ?, ?)", inv.ID, u.ID, toMillis(t)); err != nil {
			return err
		}
		inv.Uses++
		team := inv.TeamID
		if team == "" {
			team = defaultTeamID
		}
		if err := joinTeam(ctx, tx, team, u.ID); err != nil {
			return err
		}
		return insertAudit(ctx, tx, u.ID, audit)
	})
	if isUniqueViolation(err) {
		return nil, nil, ErrConflict
	}
	if err != nil {
		return nil, nil, err
	}
	return u, inv, nil
}

// SignUp creates a user who signed up on their own and adds them to the
// default team (when not ""), in one transaction.
func (s *Store) SignUp(ctx context.Context, nu NewUser, teamID string, audit ...AuditRecord) (*User, error) {
	t := now()
	u := &User{ID: NewID(), Username: nu.Username, DisplayName: nu.DisplayName, Role: nu.Role, CreatedAt: t, PasswordHash: nu.PasswordHash}
	err := s.write(ctx, "sign_up", func(tx *sql.Tx) error {
		if err := insertUser(ctx, tx, u); err != nil {
			return err
		}
		if err := joinTeam(ctx, tx, teamID, u.ID); err != nil {
			return err
		}
		return insertAudit(ctx, tx, u.ID, audit)
	})
	if isUniqueViolation(err) {
		return nil, ErrConflict
	}
	return u, err
}

// joinTeam adds a user to a team and its town-square, if the team still
// exists ("" or a deleted team: nothing).
func joinTeam(ctx context.Context, tx *sql.Tx, teamID, userID string) error {
	if teamID == "" {
		return nil
	}
	ms := toMillis(now())
	res, err := tx.ExecContext(ctx, `INSERT INTO team_members (team_id, user_id, role, created_at)
		SELECT id, ?, 'member', ? FROM teams WHERE id = ? ON CONFLICT DO NOTHING`, userID, ms, teamID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO channel_members (channel_id, user_id, last_read_pk, created_at)
		SELECT id, ?, (SELECT COALESCE(MAX(pk), 0) FROM posts WHERE channel_id = channels.id), ? FROM channels
		WHERE team_id = ? AND name = 'town-square' AND kind = 'public' AND deleted_at IS NULL
		ON CONFLICT DO NOTHING`, userID, ms, teamID)
	return err
}
