package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Team is a group of people with its own channels.
type Team struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
	// Role is the listing user's role in the team ("admin" or "member"),
	// so a client knows whether to offer managing it; empty elsewhere.
	Role string `json:"role,omitempty"`
}

// TeamMember is a user's membership of a team.
type TeamMember struct {
	TeamID string `json:"team_id"`
	UserID string `json:"user_id"`
	Role   string `json:"role"` // admin or member of the team
}

// CreateTeam makes a team with its creator as team admin and a public
// "town-square" channel every member joins, as chat users expect.
func (s *Store) CreateTeam(ctx context.Context, name, displayName, creatorID string) (*Team, *Channel, error) {
	t := &Team{ID: NewID(), Name: name, DisplayName: displayName, CreatedAt: now()}
	town := &Channel{ID: NewID(), TeamID: t.ID, Kind: KindPublic, Name: "town-square", DisplayName: "Town Square",
		CreatorID: creatorID, CreatedAt: t.CreatedAt}
	err := s.write(ctx, "create_team", func(tx *sql.Tx) error {
		ms := toMillis(t.CreatedAt)
		if _, err := tx.ExecContext(ctx, "INSERT INTO teams (id, name, display_name, creator_id, created_at) VALUES (?, ?, ?, ?, ?)",
			t.ID, t.Name, t.DisplayName, creatorID, ms); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO team_members (team_id, user_id, role, created_at) VALUES (?, ?, 'admin', ?)",
			t.ID, creatorID, ms); err != nil {
			return err
		}
		return insertChannel(ctx, tx, town, []string{creatorID})
	})
	if isUniqueViolation(err) {
		return nil, nil, fmt.Errorf("team name %q: %w", name, ErrConflict)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("create team: %w", err)
	}
	return t, town, nil
}

// TeamByID returns a team.
func (s *Store) TeamByID(ctx context.Context, id string) (*Team, error) {
	var t Team
	var created int64
	err := s.reader.QueryRowContext(ctx, "SELECT id, name, display_name, created_at FROM teams WHERE id = ?", id).
		Scan(&t.ID, &t.Name, &t.DisplayName, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	t.CreatedAt = fromMillis(created)
	return &t, err
}

// TeamsForUser lists the teams a user belongs to, by name.
func (s *Store) TeamsForUser(ctx context.Context, userID string) ([]*Team, error) {
	return s.queryTeams(ctx, `SELECT t.id, t.name, t.display_name, t.created_at, m.role FROM teams t
		JOIN team_members m ON m.team_id = t.id WHERE m.user_id = ? ORDER BY t.display_name`, userID)
}

// AllTeams lists every team (admins).
func (s *Store) AllTeams(ctx context.Context) ([]*Team, error) {
	return s.queryTeams(ctx, "SELECT id, name, display_name, created_at, '' FROM teams ORDER BY display_name")
}

func (s *Store) queryTeams(ctx context.Context, q string, args ...any) ([]*Team, error) {
	rows, err := s.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ts := []*Team{}
	for rows.Next() {
		var t Team
		var created int64
		if err := rows.Scan(&t.ID, &t.Name, &t.DisplayName, &created, &t.Role); err != nil {
			return nil, err
		}
		t.CreatedAt = fromMillis(created)
		ts = append(ts, &t)
	}
	return ts, rows.Err()
}

// TeamMembership returns a user's role in a team, or ErrNotFound.
func (s *Store) TeamMembership(ctx context.Context, teamID, userID string) (*TeamMember, error) {
	m := TeamMember{TeamID: teamID, UserID: userID}
	err := s.reader.QueryRowContext(ctx, "SELECT role FROM team_members WHERE team_id = ? AND user_id = ?", teamID, userID).Scan(&m.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &m, err
}

// AddTeamMember adds a user to a team (and to its town-square channel).
// Adding a member twice is not an error.
func (s *Store) AddTeamMember(ctx context.Context, teamID, userID, role string) error {
	if role == "" {
		role = "member"
	}
	return s.write(ctx, "add_team_member", func(tx *sql.Tx) error {
		ms := toMillis(now())
		if _, err := tx.ExecContext(ctx, "INSERT INTO team_members (team_id, user_id, role, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
			teamID, userID, role, ms); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO channel_members (channel_id, user_id, last_read_pk, created_at)
			SELECT id, ?, (SELECT COALESCE(MAX(pk), 0) FROM posts WHERE channel_id = channels.id), ? FROM channels
			WHERE team_id = ? AND name = 'town-square' AND kind = 'public' AND deleted_at IS NULL
			ON CONFLICT DO NOTHING`, userID, ms, teamID)
		return err
	})
}

// RemoveTeamMember takes a user out of a team and all of its channels and
// discussions, returning the ids of the rooms they left.
func (s *Store) RemoveTeamMember(ctx context.Context, teamID, userID string) ([]string, error) {
	var left []string
	err := s.write(ctx, "remove_team_member", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM team_members WHERE team_id = ? AND user_id = ?", teamID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM channel_members WHERE user_id = ? AND channel_id IN (
			SELECT id FROM channels WHERE team_id = ?
			UNION SELECT d.id FROM channels d JOIN channels p ON d.parent_id = p.id WHERE p.team_id = ?) RETURNING channel_id`,
			userID, teamID, teamID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			left = append(left, id)
		}
		return rows.Err()
	})
	return left, err
}

// TeamMembers lists the ids of a team's members.
func (s *Store) TeamMembers(ctx context.Context, teamID string) ([]string, error) {
	return s.queryIDs(ctx, "SELECT user_id FROM team_members WHERE team_id = ?", teamID)
}

func (s *Store) queryIDs(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
