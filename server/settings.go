package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"calls/store"
)

// Workspace settings are changed at runtime by admins (GET/PATCH
// /api/v1/admin/settings), stored in SQLite, audited, and announced to
// connected clients. Flags and CALLS_* variables give the defaults; a value
// given explicitly on the command line is fixed and cannot be changed here.

// setting describes one setting.
type setting struct {
	Key         string
	Kind        string // "bool", "int", "duration", "string"
	Description string
	Public      bool // sent to every client (the UI adapts to it)
	Min, Max    int64
	def         func(cfg *Config) any
}

var settingDefs = []setting{
	{Key: "site_name", Kind: "string", Public: true, Max: 64, Description: "name shown in the sidebar and page title",
		def: func(*Config) any { return "calls" }},
	{Key: "calls_enabled", Kind: "bool", Public: true, Description: "calls are on in this workspace", def: func(*Config) any { return true }},
	{Key: "calls_in_channels", Kind: "bool", Public: true, Description: "calls in public channels", def: func(*Config) any { return true }},
	{Key: "calls_in_private", Kind: "bool", Public: true, Description: "calls in private channels", def: func(*Config) any { return true }},
	{Key: "calls_in_dms", Kind: "bool", Public: true, Description: "calls in direct messages", def: func(*Config) any { return true }},
	{Key: "calls_in_groups", Kind: "bool", Public: true, Description: "calls in group messages", def: func(*Config) any { return true }},
	{Key: "calls_in_discussions", Kind: "bool", Public: true, Description: "calls in discussions", def: func(*Config) any { return true }},
	{Key: "ringing", Kind: "bool", Public: true, Description: "DM calls ring the other person", def: func(*Config) any { return true }},
	{Key: "ring_timeout", Kind: "duration", Public: true, Min: int64(time.Second), Max: int64(10 * time.Minute),
		Description: "how long a DM call rings (--ring-timeout)", def: func(c *Config) any { return c.RingTimeout }},
	{Key: "video_allowed", Kind: "bool", Public: true, Description: "cameras in calls", def: func(*Config) any { return true }},
	{Key: "screen_share_allowed", Kind: "bool", Public: true, Description: "screen sharing in calls", def: func(*Config) any { return true }},
	{Key: "max_call_participants", Kind: "int", Public: true, Min: 2, Max: 10000,
		Description: "most people in one call (--max-call-participants)", def: func(c *Config) any { return c.MaxCallParticipants }},
	{Key: "recording_allowed", Kind: "bool", Public: true, Description: "hosts may record calls", def: func(*Config) any { return true }},
	{Key: "recording_max", Kind: "duration", Min: int64(10 * time.Second), Max: int64(24 * time.Hour),
		Description: "longest recording (--recording-max)", def: func(c *Config) any { return c.RecordingMax }},
	{Key: "recording_reminder", Kind: "duration", Min: 0, Max: int64(24 * time.Hour),
		Description: "how long before the limit the host is reminded (--recording-reminder)", def: func(c *Config) any { return c.RecordingReminder }},
	{Key: "default_mic_on", Kind: "bool", Public: true, Description: "microphone on when joining", def: func(*Config) any { return true }},
	{Key: "default_camera_on", Kind: "bool", Public: true, Description: "camera on when joining", def: func(*Config) any { return false }},
}

// settings is the live configuration: current values, by key.
type settings struct {
	mu     sync.RWMutex
	values map[string]any
	fixed  map[string]bool
}

func (s *Server) loadSettings(ctx context.Context) error {
	stored, err := s.store.Settings(ctx)
	if err != nil {
		return err
	}
	s.settings.values = map[string]any{}
	s.settings.fixed = s.cfg.FixedSettings
	for _, d := range settingDefs {
		v := d.def(&s.cfg)
		if raw, ok := stored[d.Key]; ok && !s.settings.fixed[d.Key] {
			if parsed, err := d.parse(json.RawMessage(raw)); err == nil {
				v = parsed
			} else {
				s.log.Warn("ignoring a stored setting that no longer parses", "key", d.Key, "err", err)
			}
		}
		s.settings.values[d.Key] = v
	}
	return nil
}

// parse validates a JSON value for the setting and returns it typed.
func (d setting) parse(raw json.RawMessage) (any, error) {
	switch d.Kind {
	case "bool":
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, fmt.Errorf("%s must be true or false", d.Key)
		}
		return b, nil
	case "int":
		var n int64
		if err := json.Unmarshal(raw, &n); err != nil || n < d.Min || n > d.Max {
			return nil, fmt.Errorf("%s must be a whole number from %d to %d", d.Key, d.Min, d.Max)
		}
		return int(n), nil
	case "duration":
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return nil, fmt.Errorf(`%s must be a duration such as "30s"`, d.Key)
		}
		dur, err := time.ParseDuration(str)
		if err != nil || int64(dur) < d.Min || int64(dur) > d.Max {
			return nil, fmt.Errorf("%s must be a duration from %v to %v", d.Key, time.Duration(d.Min), time.Duration(d.Max))
		}
		return dur, nil
	case "string":
		var str string
		if err := json.Unmarshal(raw, &str); err != nil || str == "" || int64(len([]rune(str))) > d.Max {
			return nil, fmt.Errorf("%s must be 1-%d characters", d.Key, d.Max)
		}
		return str, nil
	}
	return nil, fmt.Errorf("%s: unknown kind", d.Key)
}

func encodeSetting(v any) string {
	if d, ok := v.(time.Duration); ok {
		v = d.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *Server) settingBool(key string) bool {
	s.settings.mu.RLock()
	defer s.settings.mu.RUnlock()
	b, _ := s.settings.values[key].(bool)
	return b
}

func (s *Server) settingInt(key string) int {
	s.settings.mu.RLock()
	defer s.settings.mu.RUnlock()
	n, _ := s.settings.values[key].(int)
	return n
}

func (s *Server) settingDuration(key string) time.Duration {
	s.settings.mu.RLock()
	defer s.settings.mu.RUnlock()
	d, _ := s.settings.values[key].(time.Duration)
	return d
}

func (s *Server) settingString(key string) string {
	s.settings.mu.RLock()
	defer s.settings.mu.RUnlock()
	str, _ := s.settings.values[key].(string)
	return str
}

// callsAllowedIn says whether calls are on for a room's kind.
func (s *Server) callsAllowedIn(kind string) bool {
	if !s.settingBool("calls_enabled") {
		return false
	}
	key := map[string]string{store.KindPublic: "calls_in_channels", store.KindPrivate: "calls_in_private",
		store.KindDM: "calls_in_dms", store.KindGroup: "calls_in_groups", store.KindDiscussion: "calls_in_discussions"}[kind]
	return s.settingBool(key)
}

type settingView struct {
	Key         string `json:"key"`
	Value       any    `json:"value"`
	Default     any    `json:"default"`
	Kind        string `json:"type"`
	Fixed       bool   `json:"fixed"` // set on the command line: read-only here
	Description string `json:"description"`
}

func (s *Server) settingViews(publicOnly bool) []settingView {
	s.settings.mu.RLock()
	defer s.settings.mu.RUnlock()
	var out []settingView
	for _, d := range settingDefs {
		if publicOnly && !d.Public {
			continue
		}
		v, def := s.settings.values[d.Key], d.def(&s.cfg)
		if dur, ok := v.(time.Duration); ok {
			v = dur.String()
		}
		if dur, ok := def.(time.Duration); ok {
			def = dur.String()
		}
		out = append(out, settingView{Key: d.Key, Value: v, Default: def, Kind: d.Kind, Fixed: s.settings.fixed[d.Key], Description: d.Description})
	}
	return out
}

func (s *Server) adminGetSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	writeJSON(w, http.StatusOK, map[string]any{"settings": s.settingViews(false)})
}

// publicSettings is what every logged-in client needs to adapt the UI.
func (s *Server) publicSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	out := map[string]any{}
	for _, v := range s.settingViews(true) {
		out[v.Key] = v.Value
	}
	writeJSON(w, http.StatusOK, out)
}

// adminPatchSettings validates every change first: one bad value and
// nothing is saved.
func (s *Server) adminPatchSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	var req map[string]json.RawMessage
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	defs := map[string]setting{}
	for _, d := range settingDefs {
		defs[d.Key] = d
	}
	keys := make([]string, 0, len(req))
	for k := range req {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parsed := map[string]any{}
	var changes []store.SettingChange
	s.settings.mu.RLock()
	for _, k := range keys {
		d, ok := defs[k]
		if !ok {
			s.settings.mu.RUnlock()
			s.writeError(w, r, errorf(http.StatusBadRequest, "unknown_setting", "no setting %q", k))
			return
		}
		if s.settings.fixed[k] {
			s.settings.mu.RUnlock()
			s.writeError(w, r, errorf(http.StatusConflict, "setting_fixed", "%s is set on the server's command line; change it there", k))
			return
		}
		v, err := d.parse(req[k])
		if err != nil {
			s.settings.mu.RUnlock()
			s.writeError(w, r, errorf(http.StatusBadRequest, "invalid_setting", "%s", err.Error()))
			return
		}
		old, next := encodeSetting(s.settings.values[k]), encodeSetting(v)
		if old != next {
			parsed[k] = v
			changes = append(changes, store.SettingChange{Key: k, Old: old, New: next})
		}
	}
	s.settings.mu.RUnlock()
	if len(changes) > 0 {
		if err := s.store.SaveSettings(r.Context(), p.User.ID, changes); err != nil {
			s.writeError(w, r, err)
			return
		}
		s.settings.mu.Lock()
		for k, v := range parsed {
			s.settings.values[k] = v
		}
		s.settings.mu.Unlock()
		s.log.Info("settings changed", "by", p.User.Username, "changes", len(changes))
		pub := map[string]any{}
		for _, v := range s.settingViews(true) {
			pub[v.Key] = v.Value
		}
		if _, err := s.hub.Publish("settings_changed", pub, nil); err != nil {
			s.log.Error("publish settings", "err", err)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": s.settingViews(false), "changed": len(changes)})
}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request, p *principal) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	entries, err := s.store.AuditLog(r.Context(), before, 100)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}
