package markdown

import (
	"strings"
	"unicode"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// maxNameLen is the longest username a mention can name.
const maxNameLen = 64

// kindMention is the goldmark node kind of a mention.
var kindMention = ast.NewNodeKind("Mention")

// mention is an inline node for "@name".
type mention struct {
	ast.BaseInline
	// Name is the mentioned name, lower-cased, without the "@".
	Name string
	// Segment is "@name" as written in the source.
	Segment text.Segment
}

// Kind implements ast.Node.
func (n *mention) Kind() ast.NodeKind { return kindMention }

// Dump implements ast.Node.
func (n *mention) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"Name": n.Name}, nil)
}

// mentionParser recognises "@name" where name is
// [a-zA-Z0-9][a-zA-Z0-9._-]{0,63}, less any trailing dots ("thanks @bob."),
// and the "@" does not follow a word character ("bob@example.com").
// Code spans and code blocks never reach inline parsers; mentions inside link
// text are undone by mentionTransformer.
type mentionParser struct{}

func (mentionParser) Trigger() []byte { return []byte{'@'} }

func (mentionParser) Parse(_ ast.Node, block text.Reader, _ parser.Context) ast.Node {
	if !mentionMayFollow(block.PrecendingCharacter()) {
		return nil
	}
	line, seg := block.PeekLine()
	end := 1
	for end < len(line) && isNameByte(line[end]) {
		end++
	}
	for end > 1 && line[end-1] == '.' {
		end--
	}
	name := line[1:end]
	if len(name) == 0 || len(name) > maxNameLen || !isAlnum(name[0]) {
		return nil
	}
	block.Advance(end)
	return &mention{
		Name:    strings.ToLower(string(name)),
		Segment: seg.WithStop(seg.Start + end),
	}
}

// mentionMayFollow reports whether a mention may start after the character
// prev: not after a word character, so e-mail addresses are not mentions.
func mentionMayFollow(prev rune) bool {
	return prev != '_' && !unicode.IsLetter(prev) && !unicode.IsDigit(prev)
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isNameByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '-'
}

// mentionsKey holds a parse's mentions in its parser.Context.
var mentionsKey = parser.NewContextKey()

// mentionsFrom returns the mentions mentionTransformer left in ctx.
func mentionsFrom(ctx parser.Context) []string {
	m, _ := ctx.Get(mentionsKey).([]string)
	return m
}

// mentionTransformer runs once the whole message is parsed, when it is known
// which text ended up inside a link or an image. There a mention or a bare URL
// would nest an element that acts on click inside a link, and an image inside
// a link would nest a link in a link (images render as links here), so all
// three become plain text. The remaining mentions are collected into the
// parse's context.
//
// It walks the tree once, keeping count of enclosing links, so its cost is
// linear however deeply the message nests.
type mentionTransformer struct{}

func (mentionTransformer) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	source := reader.Source()
	var (
		mentions []string
		seen     = map[string]bool{}
		inLink   int
		undo     []ast.Node
	)
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n := n.(type) {
		case *ast.Link, *ast.Image:
			if !entering {
				inLink--
				return ast.WalkContinue, nil
			}
			inLink++
			if _, ok := n.(*ast.Image); ok && inLink > 1 {
				undo = append(undo, n)
				return ast.WalkSkipChildren, nil
			}
		case *ast.AutoLink:
			if entering && inLink > 0 {
				undo = append(undo, n)
			}
		case *mention:
			if !entering {
				break
			}
			if inLink > 0 {
				undo = append(undo, n)
				break
			}
			if !seen[n.Name] {
				seen[n.Name] = true
				mentions = append(mentions, n.Name)
			}
		}
		return ast.WalkContinue, nil
	})
	for _, n := range undo {
		var repl ast.Node
		switch n := n.(type) {
		case *mention:
			repl = ast.NewTextSegment(n.Segment)
		case *ast.AutoLink:
			repl = ast.NewString(n.Label(source))
		case *ast.Image:
			var b strings.Builder
			plainText(&b, source, n)
			repl = ast.NewString([]byte(b.String()))
		}
		n.Parent().ReplaceChild(n.Parent(), n, repl)
	}
	if mentions != nil {
		pc.Set(mentionsKey, mentions)
	}
}

// plainText writes the text of n's descendants to b, as an image's alt text
// is formed: markup dropped, line breaks as spaces.
func plainText(b *strings.Builder, source []byte, n ast.Node) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Value(source))
			if c.SoftLineBreak() || c.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.AutoLink:
			b.Write(c.Label(source))
		case *mention:
			b.Write(c.Segment.Value(source))
		default:
			plainText(b, source, c)
		}
	}
}
