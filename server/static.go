package server

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
)

// contentSecurityPolicy allows only our own scripts and styles: no inline
// script, no eval, nothing from another origin (the UI runs air-gapped).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob:; connect-src 'self'; font-src 'self'; frame-ancestors 'self'; base-uri 'none'; " +
	"form-action 'self'; object-src 'none'"

// securityHeaders go on every response.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self), geolocation=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// uiHandler serves the embedded web UI. Every file carries a strong ETag
// (its content hash) and "no-cache", so browsers revalidate with a cheap 304
// and never run stale code after an upgrade. Paths without a file extension
// are routes of the single-page app and get index.html.
type uiHandler struct {
	files fs.FS
	mu    sync.Mutex
	cache map[string]uiFile
}

type uiFile struct {
	body  []byte
	etag  string
	ctype string
}

func newUIHandler(files fs.FS) *uiHandler {
	return &uiHandler{files: files, cache: map[string]uiFile{}}
}

var uiTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".svg":         "image/svg+xml",
	".json":        "application/json",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".webmanifest": "application/manifest+json",
	".txt":         "text/plain; charset=utf-8",
}

func (u *uiHandler) load(name string) (uiFile, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if f, ok := u.cache[name]; ok {
		return f, true
	}
	body, err := fs.ReadFile(u.files, name)
	if err != nil {
		return uiFile{}, false
	}
	sum := sha256.Sum256(body)
	ext := path.Ext(name)
	ctype := uiTypes[ext]
	if ctype == "" {
		ctype = mime.TypeByExtension(ext)
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	f := uiFile{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: ctype}
	u.cache[name] = f
	return f, true
}

func (u *uiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	f, ok := u.load(name)
	if !ok {
		if path.Ext(name) != "" || strings.HasPrefix(name, "api/") {
			http.Error(w, "404 not found", http.StatusNotFound)
			return
		}
		f, ok = u.load("index.html") // an app route such as /setup or /call/ID
		if !ok {
			http.Error(w, "web UI missing from this build", http.StatusInternalServerError)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(f.body)
}
