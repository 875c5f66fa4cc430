package server

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"calls/store"
)

// The system page: version, uptime, disk, TURN, connections; and the
// support bundle, a tar.gz an admin can hand to whoever helps them, with
// the effective configuration, recent logs, metrics and audit log, and
// never a secret or a message.

type dataDirUsage struct {
	Path            string `json:"path"`
	DBBytes         int64  `json:"db_bytes"`
	WALBytes        int64  `json:"wal_bytes"`
	FilesBytes      int64  `json:"files_bytes"`
	FilesCount      int64  `json:"files_count"`
	RecordingsBytes int64  `json:"recordings_bytes"`
	RecordingsCount int64  `json:"recordings_count"`
}

type systemInfo struct {
	Version          string       `json:"version"`
	StartedAt        time.Time    `json:"started_at"`
	UptimeSeconds    int64        `json:"uptime_s"`
	SchemaVersion    int          `json:"schema_version"`
	DataDir          dataDirUsage `json:"data_dir"`
	TURN             turnInfo     `json:"turn"`
	WebsocketClients int          `json:"websocket_clients"`
	ActiveCalls      int          `json:"active_calls"`
	CallParticipants int          `json:"call_participants"`
	Go               goInfo       `json:"go"`
	MetricsURL       string       `json:"metrics_url"`
}

type turnInfo struct {
	Enabled     bool `json:"enabled"`
	Allocations int  `json:"allocations"`
}

type goInfo struct {
	Version    string `json:"version"`
	Goroutines int    `json:"goroutines"`
	HeapBytes  uint64 `json:"heap_bytes"`
}

func fileSize(path string) int64 {
	if fi, err := os.Stat(path); err == nil {
		return fi.Size()
	}
	return 0
}

func (s *Server) systemInfo(ctx context.Context) (systemInfo, error) {
	usage, err := s.store.FileUsage(ctx)
	if err != nil {
		return systemInfo{}, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	calls, participants := s.callCounts()
	db := s.store.Path()
	return systemInfo{
		Version: s.cfg.Version, StartedAt: s.startedAt, UptimeSeconds: int64(time.Since(s.startedAt).Seconds()),
		SchemaVersion: store.SchemaVersion(),
		DataDir: dataDirUsage{Path: s.cfg.DataDir, DBBytes: fileSize(db), WALBytes: fileSize(db + "-wal"),
			FilesBytes: usage.BlobBytes, FilesCount: usage.Blobs, RecordingsBytes: usage.RecordingBytes, RecordingsCount: usage.Recordings},
		TURN:             turnInfo{Enabled: s.turn != nil, Allocations: s.turnStats().Allocations},
		WebsocketClients: s.hub.Count(), ActiveCalls: calls, CallParticipants: participants,
		Go:         goInfo{Version: runtime.Version(), Goroutines: runtime.NumGoroutine(), HeapBytes: ms.HeapAlloc},
		MetricsURL: "/metrics",
	}, nil
}

// adminSystem serves GET /api/v1/admin/system.
func (s *Server) adminSystem(w http.ResponseWriter, r *http.Request, p *principal) {
	info, err := s.systemInfo(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// adminSupportBundle serves GET /api/v1/admin/support-bundle: a tar.gz of
// config.json, system.json, metrics.txt, recent-logs.txt and audit.json.
func (s *Server) adminSupportBundle(w http.ResponseWriter, r *http.Request, p *principal) {
	files, err := s.supportBundleFiles(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	now := time.Now()
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.body)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			s.writeError(w, r, err)
			return
		}
		if _, err := tw.Write(f.body); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if err := tw.Close(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := gz.Close(); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("support bundle downloaded", "by", p.User.Username)
	name := "calls-support-" + now.UTC().Format("20060102-150405") + ".tar.gz"
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

type bundleFile struct {
	name string
	body []byte
}

func (s *Server) supportBundleFiles(ctx context.Context) ([]bundleFile, error) {
	info, err := s.systemInfo(ctx)
	if err != nil {
		return nil, err
	}
	audit, _, err := s.store.AuditLog(ctx, store.AuditQuery{Limit: 500})
	if err != nil {
		return nil, err
	}
	var metrics bytes.Buffer
	mreq, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/metrics", nil)
	s.metrics.handler().ServeHTTP(&bufferResponse{body: &metrics, header: http.Header{}}, mreq)

	secrets := s.knownSecrets()
	files := []bundleFile{
		{"config.json", s.redact(mustJSON(s.effectiveConfig()), secrets)},
		{"system.json", s.redact(mustJSON(info), secrets)},
		{"metrics.txt", s.redact(metrics.Bytes(), secrets)},
		{"recent-logs.txt", s.redact(s.logs.Lines(), secrets)},
		{"audit.json", s.redact(mustJSON(map[string]any{"entries": audit}), secrets)},
	}
	return files, nil
}

func mustJSON(v any) []byte {
	b, _ := json.MarshalIndent(v, "", "  ")
	return append(redactJSONFields(b), '\n')
}

// bufferResponse collects a handler's answer (the metrics page).
type bufferResponse struct {
	body   *bytes.Buffer
	header http.Header
}

func (b *bufferResponse) Header() http.Header         { return b.header }
func (b *bufferResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferResponse) WriteHeader(int)             {}

// effectiveConfig is the configuration as it stands: the command line's
// values and the settings, with secrets replaced by whether they are set.
func (s *Server) effectiveConfig() map[string]any {
	c := s.cfg
	set := func(v string) string {
		if v == "" {
			return ""
		}
		return "(set)"
	}
	turnSecret := "(generated, in the data dir)"
	if c.TURN.Secret != "" {
		turnSecret = "(set on the command line)"
	}
	allow := make([]string, len(c.TURN.AllowPeers))
	for i, p := range c.TURN.AllowPeers {
		allow[i] = p.String()
	}
	flags := map[string]any{
		"data": c.DataDir, "listen": c.Listen, "insecure": c.Insecure, "tls_cert": c.TLSCert, "tls_key": set(c.TLSKey),
		"domain": c.Domain, "public_url": c.PublicURL, "session_ttl": c.SessionTTL.String(), "max_upload": c.MaxUpload, "rtc_addr": c.RTCAddr,
		"public_ips": c.PublicIPs, "ice_loopback": c.ICELoopback, "max_call_participants": c.MaxCallParticipants,
		"ring_timeout": c.RingTimeout.String(), "recording_max": c.RecordingMax.String(), "recording_reminder": c.RecordingReminder.String(),
		"turn": map[string]any{"enabled": c.TURN.Enabled, "port": c.TURN.Port, "tls_port": c.TURN.TLSPort,
			"relay_ports": fmt.Sprintf("%d-%d", c.TURN.RelayMin, c.TURN.RelayMax), "secret": turnSecret, "ttl": c.TURN.TTL.String(),
			"allow_peers": allow, "user_quota": c.TURN.UserQuota, "total_quota": c.TURN.TotalQuota, "bandwidth_bytes": c.TURN.BandwidthBytes},
	}
	settings := map[string]any{}
	fixed := []string{}
	for _, v := range s.settingViews(false) {
		settings[v.Key] = v.Value
		if v.Fixed {
			fixed = append(fixed, v.Key)
		}
	}
	return map[string]any{"version": c.Version, "flags": flags, "settings": settings, "fixed_settings": fixed}
}

// knownSecrets are values that must never leave in a bundle, whatever
// logged or stored them: the TURN secret and the ICE servers' credentials.
func (s *Server) knownSecrets() []string {
	var out []string
	if s.cfg.TURN.Secret != "" {
		out = append(out, s.cfg.TURN.Secret)
	} else if b, err := os.ReadFile(filepath.Join(s.cfg.DataDir, "turn-secret")); err == nil {
		if v := strings.TrimSpace(string(b)); v != "" {
			out = append(out, v)
		}
	}
	for _, ice := range s.configuredICEServers() {
		if ice.Credential != "" {
			out = append(out, ice.Credential)
		}
	}
	s.setupMu.Lock()
	if s.setupCode != "" {
		out = append(out, s.setupCode)
	}
	s.setupMu.Unlock()
	return out
}

// secretField matches a secret-looking key with its value, as slog's text
// (key=value) or JSON ("key":"value") writes it.
var secretField = regexp.MustCompile(`(?i)("?[a-z_]*(?:secret|token|password|passwd|credential|setup_code|cookie|authorization)[a-z_]*"?\s*[=:]\s*)("(?:[^"\\]|\\.)*"|[^\s,}]+)`)

// redact removes the known secrets and any secret-looking field's value.
func (s *Server) redact(b []byte, secrets []string) []byte {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			b = bytes.ReplaceAll(b, []byte(sec), []byte("[redacted]"))
		}
	}
	return secretField.ReplaceAll(b, []byte(`${1}"[redacted]"`))
}

// redactJSONFields is redact's field rule for JSON made here (the same
// expression; kept separate so mustJSON needs no server).
func redactJSONFields(b []byte) []byte {
	return secretField.ReplaceAll(b, []byte(`${1}"[redacted]"`))
}
