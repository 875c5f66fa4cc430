package filestore

import (
	"mime"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSafeName(t *testing.T) {
	long := strings.Repeat("ж", 150) + ".txt" // 304 bytes
	tests := []struct {
		in, want string
	}{
		{"report.pdf", "report.pdf"},
		{"../../x", "x"},
		{"..", "file"},
		{".", "file"},
		{"", "file"},
		{"   ", "file"},
		{"/", "file"},
		{`a/b\c.txt`, "c.txt"},
		{`C:\Users\me\Desktop\photo.jpg`, "photo.jpg"},
		{".bashrc", "bashrc"},
		{"...hidden.txt", "hidden.txt"},
		{". .x", "x"},
		{"a\x00b\nc\r\td\x7f\u0085.txt", "abcd.txt"},
		{"Content-Type: text\r\n\r\n<x>", "Content-Type: text<x>"},
		{"invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"line\u2028break.txt", "linebreak.txt"},
		{"bad\xff\xfeutf8.txt", "badutf8.txt"},
		{"résumé 2024.pdf", "résumé 2024.pdf"},
		{"  trailing  ", "trailing"},
		{long, strings.Repeat("ж", 98) + ".txt"},
		{strings.Repeat("a", 199) + "€", strings.Repeat("a", 199)},
		{strings.Repeat("b", 300), strings.Repeat("b", 200)},
		{strings.Repeat("c", 250) + "." + strings.Repeat("e", 40), strings.Repeat("c", 200)},
	}
	for _, tt := range tests {
		if got := SafeName(tt.in); got != tt.want {
			t.Errorf("SafeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	tests := []struct {
		name, contentType string
		want              string
		wantName          string
	}{
		{"cat.png", "image/png", `inline; filename="cat.png"; filename*=UTF-8''cat.png`, "cat.png"},
		{"notes.txt", "text/plain; charset=utf-8", `inline; filename="notes.txt"; filename*=UTF-8''notes.txt`, "notes.txt"},
		{"page.html", "text/html; charset=utf-8", `attachment; filename="page.html"; filename*=UTF-8''page.html`, "page.html"},
		{"x.bin", "application/octet-stream", `attachment; filename="x.bin"; filename*=UTF-8''x.bin`, "x.bin"},
		{"x", "", `attachment; filename="x"; filename*=UTF-8''x`, "x"},
		{"résumé.pdf", "application/pdf", `inline; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`, "résumé.pdf"},
		{`say "hi"\%20.txt`, "text/csv", `attachment; filename="_20.txt"; filename*=UTF-8''%2520.txt`, "%20.txt"},
		{`a "b" 100%.txt`, "text/csv", `attachment; filename="a _b_ 100_.txt"; filename*=UTF-8''a%20%22b%22%20100%25.txt`, `a "b" 100%.txt`},
		{"../../etc/passwd", "text/plain", `inline; filename="passwd"; filename*=UTF-8''passwd`, "passwd"},
		{"a\r\nSet-Cookie: x=1", "image/gif", `inline; filename="aSet-Cookie: x=1"; filename*=UTF-8''aSet-Cookie%3A%20x%3D1`, "aSet-Cookie: x=1"},
	}
	for _, tt := range tests {
		got := ContentDisposition(tt.name, tt.contentType)
		if got != tt.want {
			t.Errorf("ContentDisposition(%q, %q) =\n  %s\nwant\n  %s", tt.name, tt.contentType, got, tt.want)
			continue
		}
		// A standard parser reads the UTF-8 name back.
		_, params, err := mime.ParseMediaType(got)
		if err != nil {
			t.Errorf("ParseMediaType(%q): %v", got, err)
		} else if params["filename"] != tt.wantName {
			t.Errorf("parsed filename of %q = %q, want %q", got, params["filename"], tt.wantName)
		}
	}
}

func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"", "..", "../../x", `a/b\c.txt`, "a\x00b", "\u202Eexe.txt", "résumé.pdf",
		strings.Repeat("ж", 150) + ".txt", "\xff\xfe", ". .", strings.Repeat("x", 199) + "€.tar.gz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := SafeName(in)
		if out == "" || len(out) > maxName || !utf8.ValidString(out) {
			t.Fatalf("SafeName(%q) = %q (%d bytes)", in, out, len(out))
		}
		if strings.ContainsAny(out, "/\\\x00") || strings.IndexFunc(out, unicode.IsControl) >= 0 {
			t.Fatalf("SafeName(%q) = %q keeps a separator or control character", in, out)
		}
		if out[0] == '.' {
			t.Fatalf("SafeName(%q) = %q starts with a dot", in, out)
		}
		if again := SafeName(out); again != out {
			t.Fatalf("SafeName not stable: %q -> %q -> %q", in, out, again)
		}
		cd := ContentDisposition(in, "text/plain")
		if strings.ContainsAny(cd, "\r\n\x00") {
			t.Fatalf("ContentDisposition(%q) = %q breaks the header", in, cd)
		}
		if _, params, err := mime.ParseMediaType(cd); err != nil || params["filename"] != out {
			t.Fatalf("ContentDisposition(%q) = %q parses to %q, %v; want filename %q", in, cd, params["filename"], err, out)
		}
	})
}
