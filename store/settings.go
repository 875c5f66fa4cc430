package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// Settings returns every stored workspace setting (key → JSON value).
func (s *Store) Settings(ctx context.Context) (map[string]string, error) {
	rows, err := s.reader.QueryContext(ctx, "SELECT key, value FROM settings")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// SettingChange is one changed setting, old and new JSON values.
type SettingChange struct {
	Key string `json:"key"`
	Old string `json:"old"`
	New string `json:"new"`
}

// SaveSettings stores changed settings and their audit entries in one
// transaction: either all of a change lands, with its record, or none.
func (s *Store) SaveSettings(ctx context.Context, actorID string, changes []SettingChange) error {
	return s.write(ctx, "save_settings", func(tx *sql.Tx) error {
		ms := toMillis(now())
		for _, c := range changes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
				c.Key, c.New, ms, actorID); err != nil {
				return err
			}
			detail, _ := json.Marshal(map[string]string{"old": c.Old, "new": c.New})
			if _, err := tx.ExecContext(ctx, "INSERT INTO audit_log (at, actor_id, action, target, detail) VALUES (?, ?, 'setting_changed', ?, ?)",
				ms, actorID, c.Key, string(detail)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Audit records an admin action.
func (s *Store) Audit(ctx context.Context, actorID, action, target string, detail any) error {
	b, _ := json.Marshal(detail)
	return s.write(ctx, "audit", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO audit_log (at, actor_id, action, target, detail) VALUES (?, ?, ?, ?, ?)",
			toMillis(now()), nullable(actorID), action, target, string(b))
		return err
	})
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID      int64           `json:"id"`
	At      time.Time       `json:"at"`
	ActorID string          `json:"actor_id"`
	Action  string          `json:"action"`
	Target  string          `json:"target"`
	Detail  json.RawMessage `json:"detail"`
}

// AuditLog returns entries older than before (0: newest), newest first.
func (s *Store) AuditLog(ctx context.Context, before int64, limit int) ([]AuditEntry, error) {
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT id, at, COALESCE(actor_id, ''), action, target, detail FROM audit_log
		WHERE id < ? ORDER BY id DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		var detail string
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.Action, &e.Target, &detail); err != nil {
			return nil, err
		}
		e.At, e.Detail = fromMillis(at), json.RawMessage(detail)
		out = append(out, e)
	}
	return out, rows.Err()
}
