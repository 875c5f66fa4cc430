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

// AuditRecord is an admin action to write to the audit log, usually in
// the same transaction as the action itself.
type AuditRecord struct {
	ActorID string
	Action  string // e.g. "user.role"
	Target  string // what it was done to (an id, a setting key)
	Old     any    // the value before, if the action has one
	New     any    // the value after
}

func (a AuditRecord) detail() string {
	d := map[string]any{}
	if a.Old != nil {
		d["old"] = a.Old
	}
	if a.New != nil {
		d["new"] = a.New
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// insertAudit writes records in tx; an empty Target becomes target.
func insertAudit(ctx context.Context, tx *sql.Tx, target string, recs []AuditRecord) error {
	for _, a := range recs {
		if a.Target == "" {
			a.Target = target
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO audit_log (at, actor_id, action, target, detail) VALUES (?, ?, ?, ?, ?)",
			toMillis(now()), nullable(a.ActorID), a.Action, a.Target, a.detail()); err != nil {
			return err
		}
	}
	return nil
}

// Audit records an admin action on its own.
func (s *Store) Audit(ctx context.Context, rec AuditRecord) error {
	return s.write(ctx, "audit", func(tx *sql.Tx) error {
		return insertAudit(ctx, tx, rec.Target, []AuditRecord{rec})
	})
}

// AuditEntry is one line of the audit log: who did what to which target,
// with the value before and after where there is one.
type AuditEntry struct {
	ID            int64           `json:"id"`
	At            time.Time       `json:"at"`
	ActorID       string          `json:"actor_id"`
	ActorUsername string          `json:"actor_username"`
	Action        string          `json:"action"`
	Target        string          `json:"target"`
	Old           json.RawMessage `json:"old"`
	New           json.RawMessage `json:"new"`
	Detail        json.RawMessage `json:"detail"`
}

// AuditQuery pages through the audit log, newest first: entries older than
// Before (an id; 0: from the newest), skipping Offset.
type AuditQuery struct {
	Before        int64
	Limit, Offset int
}

// AuditLog returns a page of entries, newest first, and how many entries
// the log holds in all.
func (s *Store) AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, int, error) {
	if q.Before <= 0 {
		q.Before = 1 << 62
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	var total int
	if err := s.reader.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_log").Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT a.id, a.at, COALESCE(a.actor_id, ''), COALESCE(u.username, ''), a.action, a.target, a.detail
		FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
		WHERE a.id < ? ORDER BY a.id DESC LIMIT ? OFFSET ?`, q.Before, q.Limit, q.Offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		var detail string
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.ActorUsername, &e.Action, &e.Target, &detail); err != nil {
			return nil, 0, err
		}
		e.At, e.Detail = fromMillis(at), json.RawMessage(detail)
		e.Old, e.New = auditValues(e.Action, detail)
		out = append(out, e)
	}
	return out, total, rows.Err()
}

// auditValues takes old and new out of an entry's detail. A setting change
// keeps each value as JSON text in a string; it is unwrapped, so old and
// new are always plain JSON values (null when the action has none).
func auditValues(action, detail string) (old, next json.RawMessage) {
	var d map[string]json.RawMessage
	_ = json.Unmarshal([]byte(detail), &d)
	get := func(k string) json.RawMessage {
		v, ok := d[k]
		if !ok {
			return json.RawMessage("null")
		}
		if action == "setting_changed" {
			var text string
			if json.Unmarshal(v, &text) == nil && json.Valid([]byte(text)) {
				return json.RawMessage(text)
			}
		}
		return v
	}
	return get("old"), get("new")
}
