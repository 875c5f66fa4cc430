package markdown

import (
	"bytes"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/util"
)

// linkAttrs go on every anchor: a message's links open in a new tab that
// cannot script the chat through window.opener, and lend the links no rank.
const linkAttrs = ` rel="noopener noreferrer nofollow" target="_blank"`

// safeHTML renders the nodes whose goldmark defaults are not safe enough or
// not right for chat: links and images (scheme allowlist, no <img>), code
// blocks (a sanitised language class), headings (no attributes), mentions,
// and raw HTML, which the parser does not produce but which is escaped here
// too should that ever change.
type safeHTML struct{}

func (safeHTML) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindLink, renderLink)
	reg.Register(ast.KindAutoLink, renderAutoLink)
	reg.Register(ast.KindImage, renderImage)
	reg.Register(ast.KindFencedCodeBlock, renderFencedCodeBlock)
	reg.Register(ast.KindHeading, renderHeading)
	reg.Register(ast.KindRawHTML, renderRawHTML)
	reg.Register(ast.KindHTMLBlock, renderHTMLBlock)
	reg.Register(kindMention, renderMention)
}

// safeHref returns the href for a link destination and whether it may be
// linked at all: only http, https and mailto URLs and relative references
// may. With resolve, backslash escapes and character references are decoded
// first, as CommonMark asks, so "jav&#x61;script:" is seen for what it is.
// Anything that is not a URL character comes back percent-encoded, so the
// browser finds no tab or newline to strip out of "java\tscript:" either.
func safeHref(dest []byte, resolve bool) ([]byte, bool) {
	href := bytes.TrimFunc(util.URLEscape(dest, resolve), func(r rune) bool { return r <= ' ' })
	for i, c := range href {
		switch {
		case c == '/' || c == '?' || c == '#':
			// A colon after this point is not a scheme's.
			return href, true
		case c == ':':
			switch strings.ToLower(string(href[:i])) {
			case "http", "https", "mailto":
				return href, true
			}
			return nil, false
		case c < ' ' || c == 0x7f:
			return nil, false
		}
	}
	return href, true
}

func writeAnchorOpen(w util.BufWriter, href, title []byte) {
	_, _ = w.WriteString(`<a href="`)
	_, _ = w.Write(util.EscapeHTML(href))
	_ = w.WriteByte('"')
	if len(title) > 0 {
		_, _ = w.WriteString(` title="`)
		html.DefaultWriter.Write(w, title)
		_ = w.WriteByte('"')
	}
	_, _ = w.WriteString(linkAttrs + ">")
}

// renderLink writes a link with an allowed destination as an anchor, and
// any other as its text alone.
func renderLink(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Link)
	href, ok := safeHref(n.Destination, true)
	if !ok {
		return ast.WalkContinue, nil
	}
	if entering {
		writeAnchorOpen(w, href, n.Title)
	} else {
		_, _ = w.WriteString("</a>")
	}
	return ast.WalkContinue, nil
}

func renderAutoLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.AutoLink)
	url := n.URL(source)
	if n.AutoLinkType == ast.AutoLinkEmail && !hasPrefixFold(url, "mailto:") {
		url = append([]byte("mailto:"), url...)
	}
	label := n.Label(source)
	href, ok := safeHref(url, false)
	if !ok {
		_, _ = w.Write(util.EscapeHTML(label))
		return ast.WalkContinue, nil
	}
	writeAnchorOpen(w, href, nil)
	_, _ = w.Write(util.EscapeHTML(label))
	_, _ = w.WriteString("</a>")
	return ast.WalkContinue, nil
}

// renderImage writes an image as a link to it labelled with its alt text
// (or, lacking one, its address). Inline images would load from wherever the
// sender chose whenever the message is read, telling that host who read it.
func renderImage(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.Image)
	var alt strings.Builder
	plainText(&alt, source, n)
	href, ok := safeHref(n.Destination, true)
	if !ok {
		html.DefaultWriter.Write(w, []byte(alt.String()))
		return ast.WalkSkipChildren, nil
	}
	writeAnchorOpen(w, href, n.Title)
	if alt.Len() > 0 {
		html.DefaultWriter.Write(w, []byte(alt.String()))
	} else {
		_, _ = w.Write(util.EscapeHTML(href))
	}
	_, _ = w.WriteString("</a>")
	return ast.WalkSkipChildren, nil
}

func renderFencedCodeBlock(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		_, _ = w.WriteString("</code></pre>\n")
		return ast.WalkContinue, nil
	}
	n := node.(*ast.FencedCodeBlock)
	_, _ = w.WriteString("<pre><code")
	if lang := languageClass(n.Language(source)); lang != "" {
		_, _ = w.WriteString(` class="language-` + lang + `"`)
	}
	_ = w.WriteByte('>')
	lines := n.Lines()
	for i := range lines.Len() {
		line := lines.At(i)
		html.DefaultWriter.RawWrite(w, line.Value(source))
	}
	return ast.WalkContinue, nil
}

// languageClass lower-cases a fenced code block's info word and keeps only
// [a-z0-9+#-], enough for "c++", "c#" and "objective-c".
func languageClass(info []byte) string {
	var b strings.Builder
	for _, c := range bytes.ToLower(info) {
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '#' || c == '-' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func renderHeading(w util.BufWriter, _ []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Heading)
	tag := "h" + string(rune('0'+n.Level))
	if entering {
		_, _ = w.WriteString("<" + tag + ">")
	} else {
		_, _ = w.WriteString("</" + tag + ">\n")
	}
	return ast.WalkContinue, nil
}

func renderRawHTML(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if entering {
		segs := node.(*ast.RawHTML).Segments
		for i := range segs.Len() {
			seg := segs.At(i)
			html.DefaultWriter.RawWrite(w, seg.Value(source))
		}
	}
	return ast.WalkSkipChildren, nil
}

func renderHTMLBlock(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.HTMLBlock)
	_, _ = w.WriteString("<p>")
	lines := n.Lines()
	for i := range lines.Len() {
		line := lines.At(i)
		html.DefaultWriter.RawWrite(w, line.Value(source))
	}
	if n.HasClosure() {
		html.DefaultWriter.RawWrite(w, n.ClosureLine.Value(source))
	}
	_, _ = w.WriteString("</p>\n")
	return ast.WalkSkipChildren, nil
}

func renderMention(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*mention)
	_, _ = w.WriteString(`<span class="mention" data-mention="`)
	_, _ = w.Write(util.EscapeHTML([]byte(n.Name)))
	_, _ = w.WriteString(`">`)
	_, _ = w.Write(util.EscapeHTML(n.Segment.Value(source)))
	_, _ = w.WriteString("</span>")
	return ast.WalkSkipChildren, nil
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && strings.EqualFold(string(b[:len(prefix)]), prefix)
}
