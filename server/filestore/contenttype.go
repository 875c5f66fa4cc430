package filestore

import (
	"mime"
	"net/http"
	"path/filepath"
	"strings"
)

// passThrough lists the sniffed types that are served as they are: media a
// browser plays or shows without running anything from the file.
var passThrough = map[string]bool{
	"image/png":       true,
	"image/jpeg":      true,
	"image/gif":       true,
	"image/webp":      true,
	"video/webm":      true,
	"audio/mpeg":      true,
	"video/mp4":       true,
	"application/pdf": true,
}

// textByExt names the text formats whose declared extension may refine a
// sniffed text/plain. Sniffing cannot tell CSV or JSON from other text;
// none of these is a type a browser would execute.
var textByExt = map[string]string{
	".md":       "text/markdown; charset=utf-8",
	".markdown": "text/markdown; charset=utf-8",
	".csv":      "text/csv; charset=utf-8",
	".json":     "application/json",
}

// SniffType returns a Content-Type that is safe to serve for a file that
// starts with head (its first 512 bytes or all of it, if shorter) and was
// uploaded as name. The type comes from the bytes (http.DetectContentType);
// the name's extension only chooses among types the bytes cannot tell apart
// (WebM audio from WebM video, Ogg audio from Ogg video, Markdown, CSV or
// JSON from plain text), and never makes a file HTML, SVG, XML or script.
// Anything a browser could run as a page or script (HTML, SVG, XML, XHTML,
// JavaScript) and anything unrecognised becomes application/octet-stream.
// Text that is not one of those (an SVG without an XML prolog, a script
// file, "evil.html" holding plain text) sniffs as text/plain and stays so:
// served with X-Content-Type-Options: nosniff, a browser shows it as text.
func SniffType(head []byte, name string) string {
	if len(head) > 512 {
		head = head[:512]
	}
	sniffed := http.DetectContentType(head)
	mt, params, err := mime.ParseMediaType(sniffed)
	if err != nil {
		return "application/octet-stream"
	}
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case mt == "text/plain":
		if t, ok := textByExt[ext]; ok && params["charset"] == "utf-8" {
			return t
		}
		if cs := params["charset"]; cs == "utf-16le" || cs == "utf-16be" {
			return sniffed
		}
		return "text/plain; charset=utf-8"
	case mt == "video/webm" && ext == ".weba":
		return "audio/webm"
	case mt == "application/ogg":
		if ext == ".ogv" {
			return "video/ogg"
		}
		return "audio/ogg"
	case passThrough[mt]:
		return mt
	}
	return "application/octet-stream"
}
