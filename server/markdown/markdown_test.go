package markdown

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// xssCorpus holds messages that try to get script, styles or remote
// content into the page. Every one must render inert.
var xssCorpus = []struct {
	name string
	in   string
}{
	{"script tag", `<script>alert(1)</script>`},
	{"script split by tag", `<scr<script>ipt>alert(1)</script>`},
	{"script block", "<script>\nalert(1)\n</script>"},
	{"img onerror", `<img src=x onerror=alert(1)>`},
	{"svg onload", `<svg onload=alert(1)>`},
	{"svg in text", `hello <svg><script>alert(1)</script></svg> world`},
	{"iframe srcdoc", `<iframe srcdoc="<script>alert(1)</script>"></iframe>`},
	{"iframe javascript src", `<iframe src="javascript:alert(1)">`},
	{"object", `<object data="javascript:alert(1)"></object>`},
	{"embed", `<embed src="javascript:alert(1)">`},
	{"style tag", `<style>body{display:none}</style>`},
	{"style attribute", `<div style="background:url(javascript:alert(1))">x</div>`},
	{"raw anchor", `<a href="javascript:alert(1)">x</a>`},
	{"raw anchor onclick", `<a href="https://example.com" onclick="alert(1)">x</a>`},
	{"details ontoggle", `<details open ontoggle=alert(1)>`},
	{"math xlink", `<math><mi xlink:href="javascript:alert(1)">x</mi></math>`},
	{"form action", `<form action="javascript:alert(1)"><button>x</button></form>`},
	{"base href", `<base href="javascript:/">`},
	{"meta refresh", `<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`},
	{"html comment", `<!-- --><script>alert(1)</script><!-- -->`},
	{"comment hiding markup", "<!--\n<img src=x onerror=alert(1)>\n-->"},
	{"cdata", `<![CDATA[<script>alert(1)</script>]]>`},
	{"entity encoded tag", `&lt;script&gt;alert(1)&lt;/script&gt;`},
	{"numeric entity tag", `&#60;script&#62;alert(1)&#60;/script&#62;`},
	{"hex entity tag", `&#x3C;img src=x onerror=alert(1)&#x3E;`},
	{"inline javascript", `[a](javascript:alert(1))`},
	{"inline mixed case", `[a](JaVaScRiPt:alert(1))`},
	{"inline leading spaces", `[a](  javascript:alert(1))`},
	{"inline pointy", `[a](<javascript:alert(1)>)`},
	{"inline pointy with space", `[a](<java script:alert(1)>)`},
	{"inline entity letter", `[a](jav&#x61;script:alert(1))`},
	{"inline entity tab", `[a](java&#x09;script:alert(1))`},
	{"inline entity newline", `[a](java&#10;script:alert(1))`},
	{"inline all entities", `[a](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))`},
	{"inline named entity colon", `[a](javascript&colon;alert(1))`},
	{"inline numeric colon", `[a](javascript&#58;alert(1))`},
	{"inline literal tab", "[a](<java\tscript:alert(1)>)"},
	{"inline leading control", "[a](\x01javascript:alert(1))"},
	{"inline leading entity space", `[a](&#32;javascript:alert(1))`},
	{"inline leading nul entity", `[a](&#0;javascript:alert(1))`},
	{"inline backslash", `[a](\javascript:alert(1))`},
	{"inline percent", `[a](%6Aavascript:alert(1))`},
	{"inline data", `[a](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`},
	{"inline data upper", `[a](DATA:text/html,<script>alert(1)</script>)`},
	{"inline vbscript", `[a](vbscript:msgbox(1))`},
	{"inline file", `[a](file:///etc/passwd)`},
	{"inline with title", `[a](javascript:alert(1) "title")`},
	{"reference", "[a][x]\n\n[x]: javascript:alert(1)"},
	{"reference collapsed", "[x][]\n\n[x]: JAVASCRIPT:alert(1)"},
	{"reference shortcut pointy", "[x]\n\n[x]: <javascript:alert(1)> \"t\""},
	{"reference entity", "[x]\n\n[x]: &#x6A;avascript:alert(1)"},
	{"autolink javascript", `<javascript:alert(1)>`},
	{"autolink upper", `<JAVASCRIPT:alert(1)>`},
	{"autolink vbscript", `<vbscript:msgbox(1)>`},
	{"autolink data", `<data:text/html,alert(1)>`},
	{"image javascript", `![a](javascript:alert(1))`},
	{"image data png", `![a](data:image/png;base64,iVBORw0KGgo=)`},
	{"image data svg", `![a](data:image/svg+xml,<svg onload=alert(1)>)`},
	{"image onerror in url", `![x](http://x.example/a.png" onerror="alert(1))`},
	{"image title onerror", `![a](http://x.example/a.png "\" onerror=\"alert(1)")`},
	{"title double quote", `[a](https://x.example "\" onmouseover=\"alert(1)")`},
	{"title single quote", `[a](https://x.example 'a" onclick="alert(1)')`},
	{"title entity quote", `[a](https://x.example "&quot; onclick=&quot;alert(1)")`},
	{"url quote", `[a](https://x.example/"onmouseover="alert(1))`},
	{"linkify quote", `https://x.example/"><script>alert(1)</script>`},
	{"image in javascript link", `[![a](javascript:alert(1))](javascript:alert(2))`},
	{"html in link text", `[<img src=x onerror=alert(1)>](https://x.example)`},
	{"html in emphasis", `**<script>alert(1)</script>**`},
	{"html in table", "| a |\n|---|\n| <script>alert(1)</script> |"},
	{"html in task", "- [ ] <img src=x onerror=alert(1)>"},
	{"code span", "`<script>alert(1)</script>`"},
	{"fence language", "```\"><script>alert(1)</script>\nx\n```"},
	{"fence language attribute", "```js\" onmouseover=\"alert(1)\nx\n```"},
	{"fence body", "```\n</code></pre><script>alert(1)</script>\n```"},
	{"mention then tag", `@bob"><script>alert(1)</script>`},
	{"heading attribute syntax", `# hi {onclick="alert(1)" style="x"}`},
}

var (
	allowedElements = map[atom.Atom]bool{
		atom.A: true, atom.Blockquote: true, atom.Br: true, atom.Code: true, atom.Del: true,
		atom.Em: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
		atom.H5: true, atom.H6: true, atom.Hr: true, atom.Input: true, atom.Li: true,
		atom.Ol: true, atom.P: true, atom.Pre: true, atom.Span: true, atom.Strong: true,
		atom.Table: true, atom.Tbody: true, atom.Td: true, atom.Th: true, atom.Thead: true,
		atom.Tr: true, atom.Ul: true,
	}
	forbiddenElements = []string{"script", "iframe", "object", "embed", "img", "svg", "style"}
	allowedAttrs      = map[string]bool{
		"href": true, "rel": true, "target": true, "title": true, "class": true,
		"data-mention": true, "align": true, "start": true, "checked": true,
		"disabled": true, "type": true,
	}
	urlAttrs = []string{"href", "src", "srcdoc", "action", "formaction", "xlink:href", "data", "poster", "background"}
	// schemeRE is how a browser finds a URL's scheme, once it has trimmed
	// spaces and controls from the ends and dropped tabs and newlines.
	schemeRE  = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*):`)
	mentionRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

// unsafeURL reports whether a browser would follow v to something other
// than an http, https or mailto URL, or a relative one.
func unsafeURL(v string) bool {
	v = strings.TrimFunc(v, func(r rune) bool { return r <= ' ' })
	v = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, v)
	m := schemeRE.FindStringSubmatch(v)
	if m == nil {
		return false
	}
	switch strings.ToLower(m[1]) {
	case "http", "https", "mailto":
		return false
	}
	return true
}

// checkSafe parses rendered HTML as a browser would and reports the first
// thing in it that could run script, apply styles or load content.
func checkSafe(rendered string) error {
	ctx := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	nodes, err := html.ParseFragment(strings.NewReader(rendered), ctx)
	if err != nil {
		// The tree builder gives up past 512 open elements, where a browser
		// carries on; deeply nested emphasis gets there. Every element in
		// the tree comes from a start tag, so checking the tags is enough.
		return checkTokens(rendered)
	}
	var check func(n *html.Node) error
	check = func(n *html.Node) error {
		if n.Type == html.ElementNode {
			if err := checkElement(n.Data, n.Attr); err != nil {
				return err
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if err := check(c); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range nodes {
		if err := check(n); err != nil {
			return err
		}
	}
	return nil
}

// checkTokens is checkSafe without the tree: it checks each start tag.
func checkTokens(rendered string) error {
	z := html.NewTokenizer(strings.NewReader(rendered))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return nil
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if err := checkElement(tok.Data, tok.Attr); err != nil {
				return err
			}
		}
	}
}

// checkElement reports what is unsafe or unexpected in one element.
func checkElement(tag string, attr []html.Attribute) error {
	tag = strings.ToLower(tag)
	if slices.Contains(forbiddenElements, tag) {
		return fmt.Errorf("<%s> element", tag)
	}
	a := atom.Lookup([]byte(tag))
	if !allowedElements[a] {
		return fmt.Errorf("unexpected <%s> element", tag)
	}
	attrs := map[string]string{}
	for _, at := range attr {
		name := strings.ToLower(at.Key)
		if at.Namespace != "" {
			name = at.Namespace + ":" + name
		}
		attrs[name] = at.Val
		switch {
		case strings.HasPrefix(name, "on"):
			return fmt.Errorf("<%s %s=%q>: event handler", tag, name, at.Val)
		case name == "style":
			return fmt.Errorf("<%s style=%q>", tag, at.Val)
		case slices.Contains(urlAttrs, name) && unsafeURL(at.Val):
			return fmt.Errorf("<%s %s=%q>: unsafe URL", tag, name, at.Val)
		case !allowedAttrs[name]:
			return fmt.Errorf("<%s %s=%q>: unexpected attribute", tag, name, at.Val)
		}
	}
	switch a {
	case atom.A:
		if attrs["rel"] != "noopener noreferrer nofollow" || attrs["target"] != "_blank" {
			return fmt.Errorf("<a> with rel=%q target=%q", attrs["rel"], attrs["target"])
		}
	case atom.Input:
		if _, ok := attrs["disabled"]; !ok || attrs["type"] != "checkbox" {
			return fmt.Errorf("<input> not a disabled checkbox: %v", attrs)
		}
	default:
		if _, ok := attrs["href"]; ok {
			return fmt.Errorf("href on <%s>", tag)
		}
	}
	return nil
}

// checkMentions reports mentions that break Render's promises.
func checkMentions(mentions []string) error {
	seen := map[string]bool{}
	for _, m := range mentions {
		if !mentionRE.MatchString(m) || strings.HasSuffix(m, ".") {
			return fmt.Errorf("mention %q is not a valid lower-case name", m)
		}
		if seen[m] {
			return fmt.Errorf("mention %q returned twice in %q", m, mentions)
		}
		seen[m] = true
	}
	return nil
}

func TestRenderXSSCorpusIsInert(t *testing.T) {
	r := New()
	for _, tc := range xssCorpus {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := r.Render(tc.in)
			if err := checkSafe(got); err != nil {
				t.Errorf("Render(%q) = %q: %v", tc.in, got, err)
			}
			// Rendered HTML pasted back as a message must be inert too.
			again, _ := r.Render(got)
			if err := checkSafe(again); err != nil {
				t.Errorf("Render(Render(%q)) = %q: %v", tc.in, again, err)
			}
		})
	}
}

// TestRenderUnsafeLinksKeepText checks that a refused link keeps its text,
// so the reader still sees what was written.
func TestRenderUnsafeLinksKeepText(t *testing.T) {
	r := New()
	for _, tc := range []struct {
		in   string
		want string
	}{
		{`[click me](javascript:alert(1))`, `<p>click me</p>`},
		{`[click *me*](JaVaScRiPt:alert(1))`, `<p>click <em>me</em></p>`},
		{`[a](jav&#x61;script:alert(1))`, `<p>a</p>`},
		{`[a](data:text/html,x)`, `<p>a</p>`},
		{`<javascript:alert(1)>`, `<p>javascript:alert(1)</p>`},
		{`![a cat](javascript:alert(1))`, `<p>a cat</p>`},
		{"[x]\n\n[x]: vbscript:msgbox(1)", `<p>x</p>`},
		{`<script>alert(1)</script>`, `<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>`},
		{`x <b>y</b> <!-- z -->`, `<p>x &lt;b&gt;y&lt;/b&gt; &lt;!-- z --&gt;</p>`},
	} {
		got, _ := r.Render(tc.in)
		if got != tc.want {
			t.Errorf("Render(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

const anchor = `rel="noopener noreferrer nofollow" target="_blank"`

func TestRender(t *testing.T) {
	r := New()
	for _, tc := range []struct {
		name     string
		in       string
		want     string
		mentions []string
	}{
		{"plain", "hello", "<p>hello</p>", nil},
		{"escaped", `a < b && c > "d"`, "<p>a &lt; b &amp;&amp; c &gt; &quot;d&quot;</p>", nil},
		{"bold italic strike", "**bold** _it_ *it* ~~gone~~",
			"<p><strong>bold</strong> <em>it</em> <em>it</em> <del>gone</del></p>", nil},
		{"hard line breaks", "one\ntwo\nthree", "<p>one<br>\ntwo<br>\nthree</p>", nil},
		{"paragraphs", "one\n\ntwo", "<p>one</p>\n<p>two</p>", nil},
		{"bullet list", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>", nil},
		{"ordered list", "3. a\n4. b", "<ol start=\"3\">\n<li>a</li>\n<li>b</li>\n</ol>", nil},
		{"nested list", "- a\n  - b", "<ul>\n<li>a\n<ul>\n<li>b</li>\n</ul>\n</li>\n</ul>", nil},
		{"task list", "- [ ] todo\n- [x] done",
			"<ul>\n<li><input disabled=\"\" type=\"checkbox\"> todo</li>\n" +
				"<li><input checked=\"\" disabled=\"\" type=\"checkbox\"> done</li>\n</ul>", nil},
		{"table", "| a | b |\n|:--|--:|\n| 1 | 2 |",
			"<table>\n<thead>\n<tr>\n<th align=\"left\">a</th>\n<th align=\"right\">b</th>\n</tr>\n</thead>\n" +
				"<tbody>\n<tr>\n<td align=\"left\">1</td>\n<td align=\"right\">2</td>\n</tr>\n</tbody>\n</table>", nil},
		{"blockquote", "> quoted\n\nreply", "<blockquote>\n<p>quoted</p>\n</blockquote>\n<p>reply</p>", nil},
		{"heading without id", "# Release notes\n## Fixes",
			"<h1>Release notes</h1>\n<h2>Fixes</h2>", nil},
		{"code span", "run `go test ./...`", "<p>run <code>go test ./...</code></p>", nil},
		{"code block", "```go\nif a < b {}\n```",
			"<pre><code class=\"language-go\">if a &lt; b {}\n</code></pre>", nil},
		{"code block language sanitised", "```C++\"/><x\nx\n```",
			"<pre><code class=\"language-c++x\">x\n</code></pre>", nil},
		{"code block language c#", "```C#\nx\n```", "<pre><code class=\"language-c#\">x\n</code></pre>", nil},
		{"code block no language", "```\nx\n```", "<pre><code>x\n</code></pre>", nil},
		{"code block language all invalid", "```\"'<>\nx\n```", "<pre><code>x\n</code></pre>", nil},
		{"indented code", "    x := 1", "<pre><code>x := 1\n</code></pre>", nil},
		{"link", "[docs](https://example.com/docs)",
			`<p><a href="https://example.com/docs" ` + anchor + `>docs</a></p>`, nil},
		{"link upper-case scheme", "[docs](HTTPS://example.com)",
			`<p><a href="HTTPS://example.com" ` + anchor + `>docs</a></p>`, nil},
		{"link title", `[docs](https://example.com "The \"docs\"")`,
			`<p><a href="https://example.com" title="The &quot;docs&quot;" ` + anchor + `>docs</a></p>`, nil},
		{"relative link", "[general](/channels/general)",
			`<p><a href="/channels/general" ` + anchor + `>general</a></p>`, nil},
		{"mailto link", "[mail](mailto:ops@example.com)",
			`<p><a href="mailto:ops@example.com" ` + anchor + `>mail</a></p>`, nil},
		{"reference link", "see [the docs][d]\n\n[d]: https://example.com/d",
			`<p>see <a href="https://example.com/d" ` + anchor + `>the docs</a></p>`, nil},
		{"autolink", "<https://example.com>",
			`<p><a href="https://example.com" ` + anchor + `>https://example.com</a></p>`, nil},
		{"bare url", "see https://example.com/a?b=1.",
			`<p>see <a href="https://example.com/a?b=1" ` + anchor + `>https://example.com/a?b=1</a>.</p>`, nil},
		{"bare www", "www.example.com",
			`<p><a href="http://www.example.com" ` + anchor + `>www.example.com</a></p>`, nil},
		{"bare email", "mail bob@example.com",
			`<p>mail <a href="mailto:bob@example.com" ` + anchor + `>bob@example.com</a></p>`, nil},
		{"url with spaces escaped", "[a](<https://example.com/a b>)",
			`<p><a href="https://example.com/a%20b" ` + anchor + `>a</a></p>`, nil},
		{"image as link", "![a cat](https://example.com/cat.png)",
			`<p><a href="https://example.com/cat.png" ` + anchor + `>a cat</a></p>`, nil},
		{"image alt is plain text", "![a *cat* `x`](https://example.com/cat.png)",
			`<p><a href="https://example.com/cat.png" ` + anchor + `>a cat x</a></p>`, nil},
		{"image without alt", "![](https://example.com/cat.png)",
			`<p><a href="https://example.com/cat.png" ` + anchor + `>https://example.com/cat.png</a></p>`, nil},
		{"image inside link", "[![logo](https://example.com/l.png)](https://example.com)",
			`<p><a href="https://example.com" ` + anchor + `>logo</a></p>`, nil},
		{"mention", "hi @Alice!",
			`<p>hi <span class="mention" data-mention="alice">@Alice</span>!</p>`, []string{"alice"}},
		{"mention trailing period", "thanks @bob.",
			`<p>thanks <span class="mention" data-mention="bob">@bob</span>.</p>`, []string{"bob"}},
		{"mention with dots inside", "@j.doe-2_x...",
			`<p><span class="mention" data-mention="j.doe-2_x">@j.doe-2_x</span>...</p>`, []string{"j.doe-2_x"}},
		{"special mentions", "@here @channel @all",
			`<p><span class="mention" data-mention="here">@here</span> ` +
				`<span class="mention" data-mention="channel">@channel</span> ` +
				`<span class="mention" data-mention="all">@all</span></p>`,
			[]string{"here", "channel", "all"}},
		{"mentions unique in order", "@b @A @b @a",
			`<p><span class="mention" data-mention="b">@b</span> <span class="mention" data-mention="a">@A</span> ` +
				`<span class="mention" data-mention="b">@b</span> <span class="mention" data-mention="a">@a</span></p>`,
			[]string{"b", "a"}},
		{"mention in emphasis", "**@bob**",
			`<p><strong><span class="mention" data-mention="bob">@bob</span></strong></p>`, []string{"bob"}},
		{"mention in list and quote", "- @ann\n> @bob",
			"<ul>\n<li><span class=\"mention\" data-mention=\"ann\">@ann</span></li>\n</ul>\n" +
				"<blockquote>\n<p><span class=\"mention\" data-mention=\"bob\">@bob</span></p>\n</blockquote>",
			[]string{"ann", "bob"}},
		{"mention after punctuation", "(@bob)",
			`<p>(<span class="mention" data-mention="bob">@bob</span>)</p>`, []string{"bob"}},
		{"no mention in code span", "`@bob`", "<p><code>@bob</code></p>", nil},
		{"no mention in code block", "```\n@bob\n```", "<pre><code>@bob\n</code></pre>", nil},
		{"no mention in email", "x,bob@example.com a@b", "<p>x,bob@example.com a@b</p>", nil},
		{"no mention in link text", "[@bob](https://example.com)",
			`<p><a href="https://example.com" ` + anchor + `>@bob</a></p>`, nil},
		{"no mention in image alt", "![@bob](https://example.com/b.png)",
			`<p><a href="https://example.com/b.png" ` + anchor + `>@bob</a></p>`, nil},
		{"no mention in url", "https://example.com/@bob",
			`<p><a href="https://example.com/@bob" ` + anchor + `>https://example.com/@bob</a></p>`, nil},
		{"no mention after underscore", "x_@bob", "<p>x_@bob</p>", nil},
		{"no mention of punctuation", "@ @. @-x @_x", "<p>@ @. @-x @_x</p>", nil},
		{"no mention of over-long name", "@" + strings.Repeat("a", 65), "<p>@" + strings.Repeat("a", 65) + "</p>", nil},
		{"longest name", "@" + strings.Repeat("a", 64),
			`<p><span class="mention" data-mention="` + strings.Repeat("a", 64) + `">@` + strings.Repeat("a", 64) + `</span></p>`,
			[]string{strings.Repeat("a", 64)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, mentions := r.Render(tc.in)
			if got != tc.want {
				t.Errorf("Render(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
			if !slices.Equal(mentions, tc.mentions) {
				t.Errorf("Render(%q) mentions = %q, want %q", tc.in, mentions, tc.mentions)
			}
			if m := Mentions(tc.in); !slices.Equal(m, tc.mentions) {
				t.Errorf("Mentions(%q) = %q, want %q", tc.in, m, tc.mentions)
			}
			if err := checkSafe(got); err != nil {
				t.Errorf("Render(%q) = %q: %v", tc.in, got, err)
			}
		})
	}
}

func TestRendererConcurrentUse(t *testing.T) {
	r := New()
	const msg = "**hi** @bob, see [x](https://example.com) and `code`"
	want, wantMentions := r.Render(msg)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				got, mentions := r.Render(msg)
				if got != want || !slices.Equal(mentions, wantMentions) {
					t.Errorf("concurrent Render = %q %q, want %q %q", got, mentions, want, wantMentions)
					return
				}
				if m := Mentions(msg); !slices.Equal(m, wantMentions) {
					t.Errorf("concurrent Mentions = %q, want %q", m, wantMentions)
					return
				}
			}
		})
	}
	wg.Wait()
}

// maxMessage is the longest message the server accepts, in characters.
const maxMessage = 16383

// hostileInputs are messages built to make a Markdown parser nest deeply or
// rescan the same text over and over.
var hostileInputs = []struct {
	name    string
	pattern string
	closing string // repeated after pattern, for nesting that closes
}{
	{"blockquotes", ">", ""},
	{"spaced blockquotes", "> ", ""},
	{"blockquote lines", ">\n", ""},
	{"ordered lists", "1. ", ""},
	{"bullet lists", "- ", ""},
	{"open brackets", "[", ""},
	{"open image brackets", "![", ""},
	{"nested brackets", "[", "]"},
	{"nested links", "[", "](x)"},
	{"nested images", "![", "](x)"},
	{"emphasis in brackets", "*[", "]*"},
	{"unclosed links", "[a](", ""},
	{"unclosed pointy links", "[a](<", ""},
	{"unclosed titles", `[a](b "`, ""},
	{"shortcut links on lines", "[a]\n", ""},
	{"titles on lines", "[a](b \"c\")\n", ""},
	{"definitions", "[a]: b\n", ""},
	{"emphasis", "*a", ""},
	{"strong and underscore", "**_", "_**"},
	{"nested emphasis", "*", "a*"},
	{"strikethrough", "~~a", ""},
	{"backticks", "`a", ""},
	{"pointy", "<a", ""},
	{"autolinks", "<http://", ""},
	{"bare urls", "http://a.co/ ", ""},
	{"emails", " a@b.co", ""},
	{"mentions", "@a ", ""},
	{"entities", "&amp;", ""},
	{"escapes", "\\", ""},
	{"table cells", "|", ""},
	{"table rows", "|a|b|\n", ""},
	{"fences", "```\n", ""},
	{"task items", "- [ ] a\n", ""},
	{"line breaks", "a\n", ""},
}

// hostile returns the input named by tc, n bytes long.
func hostile(pattern, closing string, n int) string {
	if closing == "" {
		return strings.Repeat(pattern, n/len(pattern)+1)[:n]
	}
	k := n / (len(pattern) + len(closing))
	return strings.Repeat(pattern, k) + "x" + strings.Repeat(closing, k)
}

// fastest returns the quickest of a few renders of src, which is what the
// code costs with the least noise from whatever else the machine is doing.
func fastest(r *Renderer, src string, runs int) time.Duration {
	best := time.Duration(1<<63 - 1)
	for range runs {
		runtime.GC()
		start := time.Now()
		r.Render(src)
		best = min(best, time.Since(start))
	}
	return best
}

// longMessage returns an ordinary message of n bytes: prose with some
// formatting, links and mentions.
func longMessage(n int) string {
	return strings.Repeat(benchMessage+"\n\n", n/len(benchMessage)+1)[:n]
}

// TestRenderLongMessage checks that the longest message the server accepts
// renders in well under 10 ms.
func TestRenderLongMessage(t *testing.T) {
	if skipTimings() {
		t.Skip("timing checks run only with CALLS_TIMING_TESTS=1 and without -race")
	}
	r := New()
	src := longMessage(maxMessage)
	if d := fastest(r, src, 5); d > 5*time.Millisecond {
		t.Errorf("Render of a %d-byte message took %v, want well under 10ms", len(src), d)
	}
}

// TestRenderHostileInput checks that no message the server accepts takes
// long to render, and that the cost grows linearly with the input: a
// quadratic step would make a message 8 times longer cost 64 times more.
//
// The budget is 10 ms, or 25 times what an ordinary message of the same
// length takes right now if that is more: 25 times is about 10 ms on an idle
// machine, and the stretch keeps a busy machine (or fuzzing's coverage
// counters) from failing the test.
func TestRenderHostileInput(t *testing.T) {
	r := New()
	budget := max(10*time.Millisecond, 25*fastest(r, longMessage(maxMessage), 5))
	for _, tc := range hostileInputs {
		t.Run(tc.name, func(t *testing.T) {
			src := hostile(tc.pattern, tc.closing, maxMessage)
			got, _ := r.Render(src)
			if err := checkSafe(got); err != nil {
				t.Fatalf("Render(%.40q…): %v", src, err)
			}
			if skipTimings() {
				t.Skip("timing checks run only with CALLS_TIMING_TESTS=1 and without -race")
			}
			d := fastest(r, src, 5)
			if d > budget {
				t.Errorf("Render(%.40q…) of %d bytes took %v, want under %v", src, len(src), d, budget)
			}
			// The collector would run only for the longer input (the heap
			// starts at 4 MB), which says nothing about the parser.
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			d = fastest(r, src, 3)
			long := fastest(r, hostile(tc.pattern, tc.closing, 8*maxMessage), 3)
			if long > 32*d+time.Millisecond {
				t.Errorf("8 times the input took %.0f times as long (%v, then %v): worse than linear",
					float64(long)/float64(d), d, long)
			}
		})
	}
}

func TestRenderDeepNesting(t *testing.T) {
	r := New()
	for _, in := range []string{
		strings.Repeat(">", 10000) + " x",
		strings.Repeat("[", 10000) + "x" + strings.Repeat("]", 10000),
		strings.Repeat("- ", 5000) + "x",
		strings.Repeat("*", 5000) + "x" + strings.Repeat("*", 5000),
		strings.Repeat("![", 5000) + "x" + strings.Repeat("](y)", 5000),
		strings.Repeat("> - ", 2500) + "@bob",
	} {
		got, _ := r.Render(in)
		if err := checkSafe(got); err != nil {
			t.Errorf("Render(%.30q…): %v", in, err)
		}
	}
}

// TestRenderDeepNestingCapped checks what happens past the nesting limits:
// the markers that would nest deeper stay text.
func TestRenderDeepNestingCapped(t *testing.T) {
	r := New()
	got, _ := r.Render(strings.Repeat(">", 40) + " x")
	if n := strings.Count(got, "<blockquote>"); n != maxBlockDepth {
		t.Errorf("40 nested quotes rendered %d blockquotes, want %d", n, maxBlockDepth)
	}
	if !strings.Contains(got, "<p>&gt;&gt;&gt;&gt;&gt;&gt;&gt;&gt; x</p>") {
		t.Errorf("quotes past the limit not kept as text: %q", got[len(got)-200:])
	}
	got, _ = r.Render("[a](" + strings.Repeat("(", maxDestinationParens+1) + "x")
	if strings.Contains(got, "<a ") {
		t.Errorf("destination nesting past the limit made a link: %q", got)
	}
	got, _ = r.Render("[a](" + strings.Repeat("(", maxDestinationParens) + "x" + strings.Repeat(")", maxDestinationParens) + ")")
	if !strings.Contains(got, "<a ") {
		t.Errorf("destination nesting within the limit made no link: %q", got)
	}
}

// FuzzRender checks the safety promises on arbitrary messages: whatever is
// sent, the HTML is inert and the mentions are well-formed and the same as
// Mentions finds.
func FuzzRender(f *testing.F) {
	for _, tc := range xssCorpus {
		f.Add(tc.in)
	}
	for _, s := range []string{
		"hello",
		"**bold** _it_ ~~gone~~ `code` @bob. www.example.com",
		"- [ ] todo\n- [x] done\n\n| a | b |\n|---|--:|\n| 1 | 2 |",
		"```go\nfmt.Println(\"hi\")\n```",
		"> quoted @alice\n\nreply to [docs](https://example.com \"t\") ![cat](/c.png)",
		"[x][r]\n\n[r]: https://example.com",
		"mail bob@example.com or <mailto:ops@example.com>",
		"[[a](b)](c) ![![a](b)](c) [a]([b](c))",
	} {
		f.Add(s)
	}
	r := New()
	f.Fuzz(func(t *testing.T, src string) {
		got, mentions := r.Render(src)
		if err := checkSafe(got); err != nil {
			t.Fatalf("Render(%q) = %q: %v", src, got, err)
		}
		if err := checkMentions(mentions); err != nil {
			t.Fatalf("Render(%q): %v", src, err)
		}
		if m := Mentions(src); !slices.Equal(m, mentions) {
			t.Fatalf("Mentions(%q) = %q, Render found %q", src, m, mentions)
		}
	})
}

// benchMessage is a typical 300-character chat message.
const benchMessage = "Hey @alice, the **v2.3 deploy** is done and the error rate is back to normal. " +
	"Release notes are in the [wiki](https://wiki.example.com/releases/v2-3), and the rollback " +
	"steps are in the runbook if we need them. I'll keep an eye on the dashboards for " +
	"another hour, then hand over to the evening shift."

func BenchmarkRender(b *testing.B) {
	r := New()
	b.SetBytes(int64(len(benchMessage)))
	b.ReportAllocs()
	for b.Loop() {
		r.Render(benchMessage)
	}
}

func BenchmarkMentions(b *testing.B) {
	b.SetBytes(int64(len(benchMessage)))
	b.ReportAllocs()
	for b.Loop() {
		Mentions(benchMessage)
	}
}

// skipTimings keeps wall-clock checks out of the normal suite: on shared,
// noisy machines they would fail for reasons that are not ours. They are a
// guard against quadratic parsing, run by hand after a goldmark upgrade:
//
//	CALLS_TIMING_TESTS=1 go test -run 'Long|Hostile' ./server/markdown/
func skipTimings() bool { return raceEnabled || os.Getenv("CALLS_TIMING_TESTS") == "" }
