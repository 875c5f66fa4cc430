package filestore

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
)

func tinyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUploadTypes puts files the way an upload handler does and checks the
// type and disposition they would be served with: nothing a browser could
// run as a page may come back as HTML, SVG, XML or script, or inline.
func TestUploadTypes(t *testing.T) {
	s, _ := openStore(t)
	tests := []struct {
		name       string
		content    []byte
		wantType   string
		wantInline bool
	}{
		{"page.html", []byte("<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"), "application/octet-stream", false},
		{"page.txt", []byte("<html><body onload=alert(1)>"), "application/octet-stream", false},
		{"cat.svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "application/octet-stream", false},
		{"bare.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "text/plain; charset=utf-8", true},
		{"data.xml", []byte(`<?xml version="1.0" encoding="UTF-8"?><note><to>x</to></note>`), "application/octet-stream", false},
		{"evil.html", []byte("just some harmless words"), "text/plain; charset=utf-8", true},
		{"evil.svg", []byte("no markup at all"), "text/plain; charset=utf-8", true},
		{"app.js", []byte("fetch('/api/v1/users/me').then(r => r.json())"), "text/plain; charset=utf-8", true},
		{"picture.png", tinyPNG(t), "image/png", true},
		{"picture.html", tinyPNG(t), "image/png", true},
		{"photo.jpg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), "image/jpeg", true},
		{"anim.gif", []byte("GIF89a\x01\x00\x01\x00"), "image/gif", true},
		{"notes.md", []byte("# Title\n\n* point\n"), "text/markdown; charset=utf-8", false},
		{"table.csv", []byte("a,b\n1,2\n"), "text/csv; charset=utf-8", false},
		{"data.json", []byte(`{"a": [1, 2]}`), "application/json", false},
		{"doc.pdf", []byte("%PDF-1.7\n"), "application/pdf", true},
		{"recording.webm", []byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01"), "video/webm", true},
		{"voice.weba", []byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01"), "audio/webm", true},
		{"voice.opus", []byte("OggS\x00\x02\x00\x00"), "audio/ogg", true},
		{"clip.ogv", []byte("OggS\x00\x02\x00\x00"), "video/ogg", true},
		{"song.mp3", []byte("ID3\x03\x00\x00\x00"), "audio/mpeg", true},
		{"binary.bin", []byte{0, 1, 2, 3, 0xff, 0xfe}, "application/octet-stream", false},
		{"archive.zip", []byte("PK\x03\x04\x14\x00"), "application/octet-stream", false},
		{"empty", nil, "text/plain; charset=utf-8", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := s.Put(bytes.NewReader(tt.content), tt.name, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if b.ContentType != tt.wantType {
				t.Fatalf("ContentType = %q, want %q", b.ContentType, tt.wantType)
			}
			cd := ContentDisposition(tt.name, b.ContentType)
			if inline := strings.HasPrefix(cd, "inline;"); inline != tt.wantInline {
				t.Fatalf("ContentDisposition = %q, want inline %v", cd, tt.wantInline)
			}
			if !strings.HasPrefix(cd, "inline;") && !strings.HasPrefix(cd, "attachment;") {
				t.Fatalf("ContentDisposition = %q", cd)
			}
		})
	}
}

func TestSniffTypeNeverUnsafe(t *testing.T) {
	unsafe := []string{"html", "svg", "xml", "javascript", "ecmascript"}
	names := []string{"x.html", "x.htm", "x.svg", "x.xml", "x.xhtml", "x.js", "x.mjs", "x", "x.md", "x.json"}
	heads := [][]byte{
		[]byte("<!doctype html>"), []byte("<?xml version='1.0'?><svg/>"), []byte("<script>1</script>"),
		[]byte("\xef\xbb\xbf<html>"), []byte("plain"), []byte("\x00binary"),
		[]byte("\xfe\xff\x00<\x00h\x00t\x00m\x00l\x00>"),
	}
	for _, name := range names {
		for _, head := range heads {
			ct := SniffType(head, name)
			for _, u := range unsafe {
				if strings.Contains(ct, u) {
					t.Errorf("SniffType(%q, %q) = %q", head, name, ct)
				}
			}
		}
	}
}
