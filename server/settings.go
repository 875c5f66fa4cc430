package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"calls/store"
	"calls/turn"
)

// Workspace settings are changed at runtime by admins (GET/PATCH
// /api/v1/admin/settings), stored in SQLite, audited, and announced to
// connected clients. Flags and CALLS_* variables give the defaults; a value
// given explicitly on the command line is fixed and cannot be changed here.

// setting describes one setting.
type setting struct {
	Key         string
	Kind        string // "bool", "int", "duration", "string", "enum", "ips", "ice_servers"
	Description string
	Public      bool // sent to every client (the UI adapts to it)
	Min, Max    int64
	Options     []string // the values of an "enum"
	def         func(cfg *Config) any
	// check validates what needs the database (a team that must exist).
	check func(ctx context.Context, s *Server, v any) error
	// apply makes a change take effect where reading the value at each
	// use is not enough. It runs with the settings locked: it must not read
	// settings.
	apply func(s *Server, v any)
}

var settingDefs = []setting{
	{Key: "site_name", Kind: "string", Public: true, Min: 1, Max: 64, Description: "name shown in the sidebar and page title",
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
	{Key: "recording_allowed", Kind: "bool", Public: true, Description: "calls may be recorded", def: func(*Config) any { return true }},
	{Key: "recording_max", Kind: "duration", Min: int64(10 * time.Second), Max: int64(24 * time.Hour),
		Description: "longest recording (--recording-max)", def: func(c *Config) any { return c.RecordingMax }},
	{Key: "recording_reminder", Kind: "duration", Min: 0, Max: int64(24 * time.Hour),
		Description: "how long before the limit the host is reminded (--recording-reminder)", def: func(c *Config) any { return c.RecordingReminder }},
	{Key: "recording_by", Kind: "enum", Public: true, Options: []string{"host", "admins"},
		Description: "who may record: the call's host (and admins), or admins only", def: func(*Config) any { return "host" }},
	{Key: "default_mic_on", Kind: "bool", Public: true, Description: "microphone on when joining", def: func(*Config) any { return true }},
	{Key: "default_camera_on", Kind: "bool", Public: true, Description: "camera on when joining", def: func(*Config) any { return false }},
	{Key: "public_ips", Kind: "ips", Max: 8,
		Description: "addresses advertised in ICE candidates instead of the host's (--public-ip); calls joined from now on use them, the TURN relay address changes at the next start",
		def:         func(c *Config) any { return append([]string{}, c.PublicIPs...) },
		apply: func(s *Server, v any) {
			if s.sfu != nil {
				s.sfu.SetPublicIPs(v.([]string))
			}
		}},
	{Key: "ice_servers", Kind: "ice_servers", Max: maxICEServers,
		Description: "STUN/TURN servers given to call clients, [{urls, username, credential}]; empty: this server's own STUN/TURN",
		def:         func(c *Config) any { return append([]turn.ICEServer{}, c.ICEServers...) }},
	{Key: "signup", Kind: "enum", Public: true, Options: []string{"closed", "invite", "open"},
		Description: "who may create an account: admins only (closed), people with an invite link (invite), anyone (open)",
		def:         func(*Config) any { return "invite" }},
	{Key: "default_team_id", Kind: "string", Min: 0, Max: 64,
		Description: "team that people who sign up or accept an invite without a team join; empty: none",
		def:         func(*Config) any { return "" }, check: checkTeamSetting},
	{Key: "max_upload_bytes", Kind: "int", Public: true, Min: 1000, Max: 100_000_000_000,
		Description: "largest uploaded file in bytes (--max-upload)", def: func(c *Config) any { return int(c.MaxUpload) }},
	{Key: "message_retention_days", Kind: "int", Min: 0, Max: 36500,
		Description: "delete messages (with their reactions and files) older than this many days; 0 keeps them forever",
		def:         func(*Config) any { return 0 },
		apply:       func(s *Server, _ any) { s.retention.kick() }},
}

// settingDef returns the definition of a key.
func settingDef(key string) (setting, bool) {
	for _, d := range settingDefs {
		if d.Key == key {
			return d, true
		}
	}
	return setting{}, false
}

func checkTeamSetting(ctx context.Context, s *Server, v any) error {
	id := v.(string)
	if id == "" {
		return nil
	}
	if !store.ValidID(id) {
		return fmt.Errorf("default_team_id must be a team id or empty")
	}
	if _, err := s.store.TeamByID(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("default_team_id: no team %s", id)
		}
		return err
	}
	return nil
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
	if strings.TrimSpace(string(raw)) == "null" {
		return nil, fmt.Errorf("%s cannot be null", d.Key)
	}
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
		if err := json.Unmarshal(raw, &str); err != nil || int64(len([]rune(str))) < d.Min || int64(len([]rune(str))) > d.Max ||
			strings.TrimSpace(str) != str {
			return nil, fmt.Errorf("%s must be a string of %d-%d characters without leading or trailing spaces", d.Key, d.Min, d.Max)
		}
		return str, nil
	case "enum":
		var str string
		if err := json.Unmarshal(raw, &str); err != nil || !slices.Contains(d.Options, str) {
			return nil, fmt.Errorf("%s must be one of %s", d.Key, strings.Join(d.Options, ", "))
		}
		return str, nil
	case "ips":
		var ips []string
		if err := json.Unmarshal(raw, &ips); err != nil || int64(len(ips)) > d.Max {
			return nil, fmt.Errorf(`%s must be a list of at most %d IP addresses, e.g. ["203.0.113.7"]`, d.Key, d.Max)
		}
		out := []string{}
		for _, ip := range ips {
			a, err := netip.ParseAddr(strings.TrimSpace(ip))
			if err != nil || a.IsUnspecified() || a.Zone() != "" {
				return nil, fmt.Errorf("%s: %q is not an IP address", d.Key, ip)
			}
			if !slices.Contains(out, a.String()) {
				out = append(out, a.String())
			}
		}
		return out, nil
	case "ice_servers":
		return parseICEServers(d, raw)
	}
	return nil, fmt.Errorf("%s: unknown kind", d.Key)
}

// parseICEServers validates RTCIceServer entries; "urls" may be a string
// or a list, as in the browser API.
func parseICEServers(d setting, raw json.RawMessage) (any, error) {
	return ParseICEServers(d.Key, raw)
}

// maxICEServers bounds the ice_servers setting and --ice-servers.
const maxICEServers = 8

// ParseICEServers validates a JSON list of RTCIceServer entries
// ({urls, username, credential}) for the ice_servers setting or the
// --ice-servers flag; name starts each error message.
func ParseICEServers(name string, raw []byte) ([]turn.ICEServer, error) {
	var in []struct {
		URLs       json.RawMessage `json:"urls"`
		Username   string          `json:"username"`
		Credential string          `json:"credential"`
	}
	if err := json.Unmarshal(raw, &in); err != nil || len(in) > maxICEServers {
		why := ""
		var se *json.SyntaxError
		if errors.As(err, &se) {
			why = fmt.Sprintf(" (not valid JSON: %v at byte %d)", se, se.Offset)
		}
		return nil, fmt.Errorf(`%s must be a list of at most %d servers like [{"urls": ["turn:turn.example.com:3478"], "username": "u", "credential": "p"}]%s`, name, maxICEServers, why)
	}
	out := []turn.ICEServer{}
	for i, e := range in {
		var urls []string
		var one string
		if json.Unmarshal(e.URLs, &one) == nil && one != "" {
			urls = []string{one}
		} else if json.Unmarshal(e.URLs, &urls) != nil || len(urls) == 0 || len(urls) > 8 {
			return nil, fmt.Errorf("%s[%d]: urls must be one URL or a list of 1-8", name, i)
		}
		needsAuth := false
		for _, u := range urls {
			scheme, rest, _ := strings.Cut(u, ":")
			switch scheme {
			case "stun", "stuns":
			case "turn", "turns":
				needsAuth = true
			default:
				return nil, fmt.Errorf("%s[%d]: %q must start with stun:, stuns:, turn: or turns:", name, i, u)
			}
			if rest == "" || len(u) > 256 || strings.ContainsAny(rest, " \t\r\n/") {
				return nil, fmt.Errorf("%s[%d]: %q is not a STUN/TURN URL such as turn:host:3478?transport=udp", name, i, u)
			}
		}
		if needsAuth && (e.Username == "" || e.Credential == "") {
			return nil, fmt.Errorf("%s[%d]: a TURN server needs a username and a credential", name, i)
		}
		if len(e.Username) > 256 || len(e.Credential) > 256 {
			return nil, fmt.Errorf("%s[%d]: username and credential are at most 256 characters", name, i)
		}
		out = append(out, turn.ICEServer{URLs: urls, Username: e.Username, Credential: e.Credential})
	}
	return out, nil
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

func (s *Server) settingStrings(key string) []string {
	s.settings.mu.RLock()
	defer s.settings.mu.RUnlock()
	v, _ := s.settings.values[key].([]string)
	return slices.Clone(v)
}

// configuredICEServers are the admin's ICE servers; empty means our own.
func (s *Server) configuredICEServers() []turn.ICEServer {
	s.settings.mu.RLock()
	defer s.settings.mu.RUnlock()
	v, _ := s.settings.values["ice_servers"].([]turn.ICEServer)
	return slices.Clone(v)
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

// errCallsDisabled answers a call in a room whose kind has calls off.
func errCallsDisabled(kind string) error {
	what := map[string]string{store.KindPublic: "channels", store.KindPrivate: "private channels",
		store.KindDM: "direct messages", store.KindGroup: "group messages", store.KindDiscussion: "discussions"}[kind]
	if what == "" {
		what = "this kind of room"
	}
	return errorf(http.StatusForbidden, "calls_disabled", "calls are turned off for %s in this workspace; ask an admin", what)
}

type settingView struct {
	Key         string   `json:"key"`
	Value       any      `json:"value"`
	Default     any      `json:"default"`
	Kind        string   `json:"type"`
	Fixed       bool     `json:"fixed"` // set on the command line: read-only here
	Description string   `json:"description"`
	Options     []string `json:"options,omitempty"`
	Min         *int64   `json:"min,omitempty"`
	Max         *int64   `json:"max,omitempty"`
}

func jsonValue(v any) any {
	if dur, ok := v.(time.Duration); ok {
		return dur.String()
	}
	return v
}

func (s *Server) settingViews(publicOnly bool) []settingView {
	s.settings.mu.RLock()
	defer s.settings.mu.RUnlock()
	var out []settingView
	for _, d := range settingDefs {
		if publicOnly && !d.Public {
			continue
		}
		v := settingView{Key: d.Key, Value: jsonValue(s.settings.values[d.Key]), Default: jsonValue(d.def(&s.cfg)), Kind: d.Kind,
			Fixed: s.settings.fixed[d.Key], Description: d.Description, Options: d.Options}
		if d.Kind == "int" {
			v.Min, v.Max = &d.Min, &d.Max
		}
		out = append(out, v)
	}
	return out
}

// publicSettingValues is the subset every client gets, key → value.
func (s *Server) publicSettingValues() map[string]any {
	out := map[string]any{}
	for _, v := range s.settingViews(true) {
		out[v.Key] = v.Value
	}
	return out
}

// adminSettingsAnswer is GET /api/v1/admin/settings (and PATCH's answer).
func (s *Server) adminSettingsAnswer() map[string]any {
	views := s.settingViews(false)
	values, fixed := map[string]any{}, []string{}
	for _, v := range views {
		values[v.Key] = v.Value
		if v.Fixed {
			fixed = append(fixed, v.Key)
		}
	}
	return map[string]any{"settings": values, "fixed": fixed, "schema": views}
}

func (s *Server) adminGetSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	writeJSON(w, http.StatusOK, s.adminSettingsAnswer())
}

// publicSettings is what every logged-in client needs to adapt the UI.
func (s *Server) publicSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	writeJSON(w, http.StatusOK, s.publicSettingValues())
}

// adminPatchSettings validates every change first: one bad value and
// nothing is saved.
func (s *Server) adminPatchSettings(w http.ResponseWriter, r *http.Request, p *principal) {
	var req map[string]json.RawMessage
	if err := readJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	keys := make([]string, 0, len(req))
	for k := range req {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parsed := map[string]any{}
	for _, k := range keys {
		d, ok := settingDef(k)
		if !ok {
			s.writeError(w, r, errorf(http.StatusBadRequest, "unknown_setting", "no setting %q", k))
			return
		}
		s.settings.mu.RLock()
		fixed := s.settings.fixed[k]
		s.settings.mu.RUnlock()
		if fixed {
			s.writeError(w, r, errorf(http.StatusConflict, "setting_fixed", "%s is set on the server's command line (flag or CALLS_* variable); change it there", k))
			return
		}
		v, err := d.parse(req[k])
		if err == nil && d.check != nil {
			err = d.check(r.Context(), s, v)
		}
		if err != nil {
			s.writeError(w, r, errorf(http.StatusBadRequest, "invalid_setting", "%s", err.Error()))
			return
		}
		parsed[k] = v
	}
	// Settings that depend on each other are checked as they would stand.
	reminder, max := s.settingDuration("recording_reminder"), s.settingDuration("recording_max")
	if v, ok := parsed["recording_reminder"]; ok {
		reminder = v.(time.Duration)
	}
	if v, ok := parsed["recording_max"]; ok {
		max = v.(time.Duration)
	}
	if reminder >= max && (parsed["recording_reminder"] != nil || parsed["recording_max"] != nil) {
		s.writeError(w, r, errorf(http.StatusBadRequest, "invalid_setting", "recording_reminder (%v) must be shorter than recording_max (%v)", reminder, max))
		return
	}

	// Compare and save under the write lock, so two admins saving at once
	// each record the old value the other left.
	s.settings.mu.Lock()
	var changes []store.SettingChange
	for _, k := range keys {
		old, next := encodeSetting(s.settings.values[k]), encodeSetting(parsed[k])
		if old == next {
			delete(parsed, k)
			continue
		}
		changes = append(changes, store.SettingChange{Key: k, Old: old, New: next})
	}
	if len(changes) > 0 {
		if err := s.store.SaveSettings(r.Context(), p.User.ID, changes); err != nil {
			s.settings.mu.Unlock()
			s.writeError(w, r, err)
			return
		}
		for k, v := range parsed {
			s.settings.values[k] = v
			// Applied under the lock, so two saves apply in the order they
			// were stored. apply must not read settings (the lock is held).
			if d, _ := settingDef(k); d.apply != nil {
				d.apply(s, v)
			}
		}
	}
	s.settings.mu.Unlock()
	if len(changes) > 0 {
		s.log.Info("settings changed", "by", p.User.Username, "keys", strings.Join(slices.Collect(maps.Keys(parsed)), ","))
		if _, err := s.hub.Publish("settings_changed", s.publicSettingValues(), nil); err != nil {
			s.log.Error("publish settings", "err", err)
		}
	}
	out := s.adminSettingsAnswer()
	out["changed"] = len(changes)
	writeJSON(w, http.StatusOK, out)
}
