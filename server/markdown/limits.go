package markdown

import (
	"sort"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Goldmark parses ordinary messages in linear time, but some shapes of input
// make it quadratic, and any user can send them:
//
//   - a line that opens thousands of nested containers ("> > > …",
//     "1. 1. 1. …"): each new block re-measures the line's indentation from
//     its start;
//   - thousands of unclosed inline links ("[a]([a]([a](…"): each "](" scans
//     the rest of the line for its destination;
//   - thousands of nested brackets ("[[[…]]]"): each "]" walks everything
//     since its "[" looking for a link inside;
//   - thousands of link reference definitions in one paragraph ("[a]: b"
//     on every line): each one re-reads the paragraph's lines;
//   - thousands of lines of brackets or link titles in one paragraph
//     ("[a]" on every line): goldmark's block reader finds the text of each
//     by searching the paragraph's lines from the last one back.
//
// The wrappers here bound the first four, much as cmark does: containers
// nest at most maxBlockDepth deep, at most maxOpenBrackets "[" or "![" wait
// for their "]" at a time, a link destination nests parentheses at most
// maxDestinationParens deep and, in <…> form, contains no "<" (as CommonMark
// requires; goldmark does not check), and only a paragraph's first
// maxDefinitionLines lines may hold definitions. Past a limit the markers
// are text. No message a person writes comes near these limits. The last
// case needs no limit: the link parser reads through linkReader, which finds
// a line by binary search.
const (
	maxBlockDepth        = 32
	maxOpenBrackets      = 32
	maxDestinationParens = 32
	maxDefinitionLines   = 256
)

// depthLimited is a container block parser that declines to open a block
// nested more than maxBlockDepth deep. Counting stops at the cap, so a
// refusal costs constant time.
type depthLimited struct {
	parser.BlockParser
}

func (p depthLimited) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	depth := 0
	for n := parent; n != nil; n = n.Parent() {
		if depth++; depth > maxBlockDepth {
			return nil, parser.NoChildren
		}
	}
	return p.BlockParser.Open(parent, reader, pc)
}

// boundedLinks wraps goldmark's link parser. It counts the brackets left
// open, and declines a "[" beyond maxOpenBrackets. When a "](" is followed by
// something that cannot be a link destination within the limits, it hides the
// "(" from the wrapped parser, which then treats the brackets as any "[text]"
// not followed by a destination (a shortcut reference link, or text) without
// scanning the rest of the line.
type boundedLinks struct {
	parser.InlineParser
}

// openBracketsKey holds the number of brackets waiting for their "]" in the
// paragraph being parsed.
var openBracketsKey = parser.NewContextKey()

func (p boundedLinks) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	open, _ := pc.Get(openBracketsKey).(int)
	if !pc.IsInLinkLabel() {
		open = 0
	}
	line, seg := block.PeekLine()
	if line[0] == ']' {
		r := linkReader{Reader: block, lines: parent.Lines(), hide: -1}
		if len(line) > 1 && line[1] == '(' && !destinationMayFollow(line[2:]) {
			r.hide = seg.Start + 1
		}
		// Given a bracket to close, the wrapped parser closes the last one
		// opened, whether or not it makes a link.
		pc.Set(openBracketsKey, max(open-1, 0))
		return p.InlineParser.Parse(parent, r, pc)
	}
	if open >= maxOpenBrackets {
		return nil
	}
	n := p.InlineParser.Parse(parent, block, pc)
	if n != nil {
		pc.Set(openBracketsKey, open+1)
	}
	return n
}

// CloseBlock forwards to the wrapped parser, which uses it to turn brackets
// left open at the end of a paragraph back into text.
func (p boundedLinks) CloseBlock(parent ast.Node, block text.Reader, pc parser.Context) {
	if cb, ok := p.InlineParser.(parser.CloseBlocker); ok {
		cb.CloseBlock(parent, block, pc)
	}
}

// destinationMayFollow reports whether s, the rest of a line after "](",
// could begin a link destination within the limits. It looks no further
// than goldmark would before giving up, so the check at most doubles the
// work of a link that parses. A destination on the next line is left to
// goldmark: that costs at most one scan of one line per line.
func destinationMayFollow(s []byte) bool {
	i := 0
	for i < len(s) && util.IsSpace(s[i]) {
		i++
	}
	if i == len(s) {
		return true
	}
	if s[i] == '<' {
		for i++; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 < len(s) && util.IsPunct(s[i+1]) {
					i++
				}
			case '>':
				return true
			case '<', '\n', '\r':
				return false
			}
		}
		return false
	}
	open := 0
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+1 < len(s) && util.IsPunct(s[i+1]) {
				i++
			}
		case c == '(':
			if open++; open > maxDestinationParens {
				return false
			}
		case c == ')':
			if open--; open < 0 {
				return true
			}
		case util.IsSpace(c):
			return true
		}
	}
	return true
}

// linkReader is the paragraph's reader as the link parser sees it on a "]".
type linkReader struct {
	text.Reader
	// lines are the paragraph's lines, the segments the reader reads.
	lines *text.Segments
	// hide is a source offset whose byte Peek shows as a space, or -1.
	hide int
}

func (r linkReader) Peek() byte {
	if _, seg := r.Reader.Position(); seg.Start == r.hide && seg.Padding == 0 {
		return ' '
	}
	return r.Reader.Peek()
}

// Value returns what the block reader's Value does, finding the line where
// seg starts by binary search rather than by a walk back from the last line.
func (r linkReader) Value(seg text.Segment) []byte {
	n := r.lines.Len()
	line := sort.Search(n, func(i int) bool { return r.lines.At(i).Start > seg.Start }) - 1
	if line < 0 {
		return r.Reader.Value(seg)
	}
	source := r.Reader.Source()
	ret := make([]byte, 0, seg.Stop-seg.Start+1)
	for i := seg.Start; line < n; line++ {
		s := r.lines.At(line)
		if i < 0 {
			i = s.Start
		}
		ret = s.ConcatPadding(ret)
		for ; i < seg.Stop && i < s.Stop; i++ {
			ret = append(ret, source[i])
		}
		i = -1
		if s.Stop > seg.Stop {
			break
		}
	}
	return ret
}

// boundedDefinitions wraps goldmark's link reference definition parser so
// that it sees only a paragraph's first maxDefinitionLines lines.
type boundedDefinitions struct {
	parser.ParagraphTransformer
}

func (t boundedDefinitions) Transform(node *ast.Paragraph, reader text.Reader, pc parser.Context) {
	lines := node.Lines()
	if lines.Len() <= maxDefinitionLines {
		t.ParagraphTransformer.Transform(node, reader, pc)
		return
	}
	rest := lines.Sliced(maxDefinitionLines, lines.Len())
	head := text.NewSegments()
	head.AppendAll(lines.Sliced(0, maxDefinitionLines))
	node.SetLines(head)
	parent, next := node.Parent(), node.NextSibling()
	t.ParagraphTransformer.Transform(node, reader, pc)
	if node.Parent() == nil {
		// Every line it saw was a definition, so it dropped the paragraph;
		// the lines it did not see still need one.
		node.SetLines(text.NewSegments())
		if next != nil {
			parent.InsertBefore(parent, next, node)
		} else {
			parent.AppendChild(parent, node)
		}
	}
	node.Lines().AppendAll(rest)
}
