// Package markdown renders chat messages from Markdown to HTML that is safe to
// insert into the web UI, and finds the users a message @-mentions.
//
// The dialect is CommonMark with the GitHub extensions people expect in a chat
// (strikethrough, tables, task lists, bare URLs turned into links) and one
// chat rule: a newline in a message is a line break. Raw HTML is never passed
// through: the HTML parsers are left out, so markup such as <b> is shown as the
// text the user typed. Links keep only http, https, mailto and relative
// destinations, and images become links, because remote images would leak the
// reader's address to whoever hosts them.
package markdown

import (
	"bytes"
	"strings"
	"sync"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Renderer turns chat messages into HTML. It is safe for concurrent use; build
// one with New and share it.
type Renderer struct {
	md goldmark.Markdown
}

// New returns a Renderer configured for chat messages.
func New() *Renderer {
	md := goldmark.New(
		goldmark.WithParser(newParser()),
		goldmark.WithExtensions(
			extension.NewLinkify(extension.WithLinkifyAllowedProtocols([]string{"http:", "https:"})),
			// The default alignment method writes style attributes, which the
			// UI's CSP and our sanitising rules both refuse.
			extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
			extension.Strikethrough,
			extension.TaskList,
		),
		goldmark.WithRendererOptions(
			html.WithHardWraps(),
			// Priority 100 puts these ahead of goldmark's own HTML renderer
			// (1000) and the extensions' renderers (500).
			renderer.WithNodeRenderers(util.Prioritized(safeHTML{}, 100)),
		),
	)
	return &Renderer{md: md}
}

// newParser returns goldmark's CommonMark parser without its raw HTML block
// and inline parsers, so that "<script>" in a message stays text rather than
// becoming a node a renderer could pass through, with the limits of
// limits.go, and with the mention parser.
func newParser() parser.Parser {
	return parser.NewParser(
		parser.WithBlockParsers(
			util.Prioritized(parser.NewSetextHeadingParser(), 100),
			util.Prioritized(parser.NewThematicBreakParser(), 200),
			util.Prioritized(depthLimited{parser.NewListParser()}, 300),
			util.Prioritized(parser.NewListItemParser(), 400),
			util.Prioritized(parser.NewCodeBlockParser(), 500),
			util.Prioritized(parser.NewATXHeadingParser(), 600),
			util.Prioritized(parser.NewFencedCodeBlockParser(), 700),
			util.Prioritized(depthLimited{parser.NewBlockquoteParser()}, 800),
			util.Prioritized(parser.NewParagraphParser(), 1000),
		),
		parser.WithInlineParsers(
			util.Prioritized(parser.NewCodeSpanParser(), 100),
			util.Prioritized(boundedLinks{parser.NewLinkParser()}, 200),
			util.Prioritized(parser.NewAutoLinkParser(), 300),
			util.Prioritized(parser.NewEmphasisParser(), 500),
			util.Prioritized(mentionParser{}, 600),
		),
		parser.WithParagraphTransformers(
			util.Prioritized(boundedDefinitions{parser.LinkReferenceParagraphTransformer}, 100),
		),
		// Last, after the table extension's transformer (priority 0).
		parser.WithASTTransformers(util.Prioritized(mentionTransformer{}, 1000)),
	)
}

// Render returns the message as sanitised HTML, without a trailing newline,
// and the names it @-mentions: lower-cased, each once, in order of
// appearance. "@here", "@channel" and "@all" come back as "here", "channel"
// and "all"; deciding who they notify is the caller's business.
func (r *Renderer) Render(src string) (html string, mentions []string) {
	source := []byte(src)
	ctx := parser.NewContext()
	doc := r.md.Parser().Parse(text.NewReader(source), parser.WithContext(ctx))
	var buf buffer
	buf.Grow(len(source) + len(source)/2 + 16)
	// Rendering into memory cannot fail, and the node renderers here return
	// no errors.
	_ = r.md.Renderer().Render(&buf, source, doc)
	return strings.TrimRight(buf.String(), "\n"), mentionsFrom(ctx)
}

// buffer is a bytes.Buffer that goldmark's renderer writes to directly; given
// a plain io.Writer it would put a 4 KB bufio.Writer in front.
type buffer struct {
	bytes.Buffer
}

var _ util.BufWriter = (*buffer)(nil)

func (b *buffer) Available() int { return b.Cap() - b.Len() }
func (b *buffer) Buffered() int  { return 0 }
func (b *buffer) Flush() error   { return nil }

// Mentions returns the names src @-mentions by the same rules as Render,
// without producing HTML. The write path uses it to count mentions.
func Mentions(src string) []string {
	if !strings.Contains(src, "@") {
		return nil // most messages, and no parse needed to know
	}
	ctx := parser.NewContext()
	mentionOnlyParser().Parse(text.NewReader([]byte(src)), parser.WithContext(ctx))
	return mentionsFrom(ctx)
}

// mentionOnlyParser is built once: a goldmark parser holds no per-parse state
// and is safe for concurrent use. It must see the same syntax as New's
// parser, linkify and strikethrough included, since they decide what is a
// link or code and so where a mention may stand.
var mentionOnlyParser = sync.OnceValue(func() parser.Parser {
	return New().md.Parser()
})
