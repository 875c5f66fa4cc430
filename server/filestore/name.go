package filestore

import (
	"mime"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxName is the longest name SafeName returns, in bytes: below the 255-byte
// limit of common file systems, with room for a " (2)" a browser may add.
const maxName = 200

// maxExt is the longest extension SafeName keeps when it shortens a name;
// a longer "extension" is just a dot inside a long name.
const maxExt = 32

// SafeName returns a file name fit to show and to send in
// Content-Disposition: the last path element only (both / and \ separate,
// so "../../x" and "a\b.txt" lose their directories), without control,
// bidirectional-override or line-separator characters (which could disguise
// "evil.exe" as "exe.txt" in a download bar), without leading dots or
// surrounding spaces, valid UTF-8, at most 200 bytes (shortened on a rune
// boundary, keeping the extension), and "file" if nothing is left.
func SafeName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.In(r, unicode.Bidi_Control, unicode.Zl, unicode.Zp) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = strings.TrimLeft(name, ". \u00a0")
	name = strings.TrimRightFunc(name, unicode.IsSpace)
	if len(name) > maxName {
		ext := filepath.Ext(name)
		if len(ext) > maxExt {
			ext = ""
		}
		base := name[:maxName-len(ext)]
		for !utf8.ValidString(base) {
			base = base[:len(base)-1] // drop the bytes of a cut rune
		}
		name = strings.TrimRightFunc(base, unicode.IsSpace) + ext
	}
	if name == "" {
		return "file"
	}
	return name
}

// inline lists the types a browser shows harmlessly in the page; any other
// file is offered as a download.
var inline = map[string]bool{
	"image/png":       true,
	"image/jpeg":      true,
	"image/gif":       true,
	"image/webp":      true,
	"audio/webm":      true,
	"video/webm":      true,
	"audio/ogg":       true,
	"video/ogg":       true,
	"audio/mp4":       true,
	"video/mp4":       true,
	"audio/mpeg":      true,
	"video/mpeg":      true,
	"application/pdf": true,
	"text/plain":      true,
}

// ContentDisposition returns the Content-Disposition header value for
// serving a file called name with type contentType: "inline" for the types
// a browser renders harmlessly, "attachment" otherwise, with the name (made
// safe by SafeName) both as an ASCII filename="..." for old clients and as
// an RFC 5987 filename* (UTF-8, percent-encoded) that RFC 6266 clients prefer.
func ContentDisposition(name, contentType string) string {
	disp := "attachment"
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && inline[mt] {
		disp = "inline"
	}
	name = SafeName(name)
	var b strings.Builder
	b.WriteString(disp)
	b.WriteString(`; filename="`)
	for _, r := range name {
		// '%' too: some browsers percent-decode the plain filename.
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			r = '_'
		}
		b.WriteRune(r)
	}
	b.WriteString(`"; filename*=UTF-8''`)
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isAttrChar(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// isAttrChar reports whether c may appear unencoded in an RFC 5987 value.
func isAttrChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
