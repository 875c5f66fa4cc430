package server

import (
	"context"
	"net/http"
	"strconv"

	"calls/store"
)

// The audit log records every admin change: who, when, what, old → new.
// Changes made through the store write their entry in the same
// transaction; the rest (ending a call, stopping a recording) through
// audit, right after the action.

// Audit actions (docs/API.md). Settings changes are "setting_changed".
const (
	auditUserCreate     = "user.create"
	auditUserRole       = "user.role"
	auditUserName       = "user.display_name"
	auditUserDeactivate = "user.deactivate"
	auditUserActivate   = "user.activate"
	auditUserResetLink  = "user.reset_link"
	auditUserReset      = "user.password_reset"
	auditInviteCreate   = "invite.create"
	auditInviteRevoke   = "invite.revoke"
	auditInviteAccept   = "invite.accept"
	auditSignup         = "user.signup"
	auditCallEnd        = "call.end"
	auditRecordingStop  = "recording.stop"
)

func auditBy(p *principal, action, target string, old, next any) store.AuditRecord {
	return store.AuditRecord{ActorID: p.User.ID, Action: action, Target: target, Old: old, New: next}
}

// audit writes an entry on its own; failing to is logged, as the action
// itself has happened.
func (s *Server) audit(ctx context.Context, rec store.AuditRecord) {
	if err := s.store.Audit(ctx, rec); err != nil {
		s.log.Error("write audit entry", "action", rec.Action, "target", rec.Target, "err", err)
	}
}

// pageParams reads limit (1..max, default def) and offset (≥ 0).
func pageParams(r *http.Request, def, max int) (limit, offset int, err error) {
	limit, offset = def, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			return 0, 0, errorf(http.StatusBadRequest, "bad_limit", "limit must be 1-%d", max)
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, errorf(http.StatusBadRequest, "bad_offset", "offset must be a whole number ≥ 0")
		}
		offset = n
	}
	return limit, offset, nil
}

// adminAudit serves GET /api/v1/admin/audit?limit=&offset= (or ?before=<id>).
func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request, p *principal) {
	limit, offset, err := pageParams(r, 100, 500)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := store.AuditQuery{Limit: limit, Offset: offset}
	if v := r.URL.Query().Get("before"); v != "" {
		if q.Before, err = strconv.ParseInt(v, 10, 64); err != nil {
			s.writeError(w, r, errorf(http.StatusBadRequest, "bad_before", "before must be an entry id"))
			return
		}
	}
	entries, total, err := s.store.AuditLog(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "total": total})
}
