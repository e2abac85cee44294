package sestemplate

import (
	"strings"
	"unicode/utf8"
)

// The lexer splits a template into items: runs of literal content and
// mustache tags. The expression inside a tag is split further into tokens.
// It follows the token rules of Handlebars 4 (handlebars.l), with a few
// documented leniencies.

type itemKind uint8

const (
	itemContent          itemKind = iota
	itemMustache                  // {{x}} {{&x}} {{{x}}}
	itemOpenBlock                 // {{#x}}
	itemOpenDecorator             // {{#*x}}
	itemOpenPartialBlock          // {{#>x}}
	itemOpenInverse               // {{^x}}
	itemInverse                   // {{else}} or {{^}}
	itemOpenInverseChain          // {{else x}}
	itemClose                     // {{/x}}
	itemPartial                   // {{>x}}
	itemComment                   // {{! }} {{!-- --}}
	itemEOF
)

type stripFlags struct{ open, close bool }

type item struct {
	kind      itemKind
	pos       int    // byte offset of the content or of the opening "{{"
	text      string // content text
	strip     stripFlags
	unescaped bool // {{{x}}} or {{&x}}
	toks      []token
}

type tokKind uint8

const (
	tokID tokKind = iota
	tokSep
	tokData
	tokString
	tokNumber
	tokBool
	tokNull
	tokUndefined
	tokOpenParen
	tokCloseParen
	tokEquals
	tokOpenBlockParams
	tokPipe
)

type token struct {
	kind    tokKind
	val     string // ID text (brackets removed), string value, number text, "." or "/" for tokSep
	pos     int
	bracket bool // ID written as [literal]
}

type lexer struct {
	src   string
	items []item
}

func (l *lexer) errorf(pos int, msg string) *SyntaxError {
	line, col := lineCol(l.src, pos)
	return &SyntaxError{Line: line, Col: col, Msg: msg}
}

func (l *lexer) content(pos int, s string) {
	if s != "" {
		l.items = append(l.items, item{kind: itemContent, pos: pos, text: s})
	}
}

// lex splits src into items, ending with an itemEOF.
func lex(src string) ([]item, error) {
	l := &lexer{src: src}
	pos := 0
	for pos < len(src) {
		k := strings.Index(src[pos:], "{{")
		if k < 0 {
			l.content(pos, src[pos:])
			break
		}
		k += pos
		switch {
		case k-pos >= 2 && src[k-2:k] == `\\`:
			// \\{{x}}: a literal backslash, then a real tag.
			l.content(pos, src[pos:k-1])
		case k-pos >= 1 && src[k-1] == '\\':
			// \{{x}}: the tag is literal text, up to the next tag.
			l.content(pos, src[pos:k-1])
			end := escapedEnd(src, k)
			l.content(k, src[k:end])
			pos = end
			continue
		default:
			l.content(pos, src[pos:k])
		}
		next, err := l.tag(k)
		if err != nil {
			return nil, err
		}
		pos = next
	}
	l.items = append(l.items, item{kind: itemEOF, pos: len(src)})
	return l.items, nil
}

// escapedEnd returns where the literal text of an escaped tag starting at k
// ends: at least two bytes on, before the next "{{", "\{{" or "\\{{".
func escapedEnd(src string, k int) int {
	from := k + 2
	if from >= len(src) {
		return len(src)
	}
	j := strings.Index(src[from:], "{{")
	if j < 0 {
		return len(src)
	}
	j += from
	switch {
	case j-2 >= from && src[j-2:j] == `\\`:
		return j - 2
	case j-1 >= from && src[j-1] == '\\':
		return j - 1
	}
	return j
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// skipSpace returns the offset of the first non-space byte at or after p.
func skipSpace(s string, p int) int {
	for p < len(s) && isSpaceByte(s[p]) {
		p++
	}
	return p
}

// closesAt reports whether s[p:] is "}}" or "~}}" and returns the offset
// after it and whether the close strips.
func closesAt(s string, p int) (end int, strip, ok bool) {
	if strings.HasPrefix(s[p:], "~}}") {
		return p + 3, true, true
	}
	if strings.HasPrefix(s[p:], "}}") {
		return p + 2, false, true
	}
	return 0, false, false
}

// tag lexes the tag whose "{{" is at k and returns the offset after it.
func (l *lexer) tag(k int) (int, error) {
	src := l.src
	if strings.HasPrefix(src[k:], "{{{{") {
		return 0, l.errorf(k, "raw blocks ({{{{raw}}}}) are not supported")
	}
	p := k + 2
	it := item{pos: k}
	if p < len(src) && src[p] == '~' {
		it.strip.open = true
		p++
	}
	if p >= len(src) {
		return 0, l.errorf(k, "unclosed tag: missing }}")
	}
	triple := false
	switch src[p] {
	case '!':
		return l.comment(k, p, it.strip)
	case '>':
		it.kind = itemPartial
		p++
	case '#':
		p++
		switch {
		case p < len(src) && src[p] == '>':
			it.kind = itemOpenPartialBlock
			p++
		case p < len(src) && src[p] == '*':
			it.kind = itemOpenDecorator
			p++
		default:
			it.kind = itemOpenBlock
		}
	case '/':
		it.kind = itemClose
		p++
	case '^':
		q := skipSpace(src, p+1)
		if end, strip, ok := closesAt(src, q); ok {
			it.kind = itemInverse
			it.strip.close = strip
			l.items = append(l.items, it)
			return end, nil
		}
		it.kind = itemOpenInverse
		p++
	case '{':
		it.kind = itemMustache
		it.unescaped = true
		triple = true
		p++
	case '&':
		it.kind = itemMustache
		it.unescaped = true
		p++
	case '*':
		return 0, l.errorf(k, "decorators other than {{#* inline}} are not supported")
	default:
		it.kind = itemMustache
		q := skipSpace(src, p)
		if strings.HasPrefix(src[q:], "else") {
			r := q + 4
			r2 := skipSpace(src, r)
			if end, strip, ok := closesAt(src, r2); ok {
				it.kind = itemInverse
				it.strip.close = strip
				l.items = append(l.items, it)
				return end, nil
			}
			// Handlebars takes any "{{else" as a chained else; we require
			// a space so that {{elsewhere}} stays a variable.
			if r2 > r {
				it.kind = itemOpenInverseChain
				p = r2
			}
		}
	}
	toks, end, strip, err := l.expr(k, p, triple)
	if err != nil {
		return 0, err
	}
	it.toks = toks
	it.strip.close = strip
	l.items = append(l.items, it)
	return end, nil
}

func (l *lexer) comment(k, p int, strip stripFlags) (int, error) {
	src := l.src
	it := item{kind: itemComment, pos: k, strip: strip}
	if strings.HasPrefix(src[p:], "!--") {
		// Long comment: ends at the first "--}}" or "--~}}".
		q := p + 3
		for {
			j := strings.Index(src[q:], "--")
			if j < 0 {
				return 0, l.errorf(k, "unclosed comment: missing --}}")
			}
			j += q
			if strings.HasPrefix(src[j+2:], "}}") {
				l.items = append(l.items, it)
				return j + 4, nil
			}
			if strings.HasPrefix(src[j+2:], "~}}") {
				it.strip.close = true
				l.items = append(l.items, it)
				return j + 5, nil
			}
			q = j + 1
		}
	}
	j := strings.Index(src[p:], "}}")
	if j < 0 {
		return 0, l.errorf(k, "unclosed comment: missing }}")
	}
	j += p
	if j > p && src[j-1] == '~' {
		it.strip.close = true
	}
	l.items = append(l.items, it)
	return j + 2, nil
}

// isIDByte reports whether c may appear in an identifier. Handlebars
// excludes whitespace and !"#%&'()*+,./;<=>@[\]^`{|}~; every other byte,
// including those of non-ASCII characters, is allowed.
func isIDByte(c byte) bool {
	if c >= 0x80 {
		return true
	}
	if isSpaceByte(c) {
		return false
	}
	switch c {
	case '!', '"', '#', '%', '&', '\'', '(', ')', '*', '+', ',', '.', '/',
		';', '<', '=', '>', '@', '[', '\\', ']', '^', '`', '{', '|', '}', '~':
		return false
	}
	return c > 0x20 && c != 0x7f
}

// isLookahead reports whether c may follow an identifier ([=~}\s/.)|]).
func isLookahead(c byte) bool {
	return isSpaceByte(c) || strings.IndexByte("=~}/.)|", c) >= 0
}

// isLiteralLookahead reports whether c may follow a literal ([~}\s)]).
func isLiteralLookahead(c byte) bool {
	return isSpaceByte(c) || c == '~' || c == '}' || c == ')'
}

// expr lexes the tokens of a tag from p up to and including its close
// ("}}", "~}}", or for triple-stash tags "}}}", "}~}}").
func (l *lexer) expr(k, p int, triple bool) (toks []token, end int, strip bool, err error) {
	src := l.src
	for {
		p = skipSpace(src, p)
		if p >= len(src) {
			return nil, 0, false, l.errorf(k, "unclosed tag: missing }}")
		}
		c := src[p]
		if triple {
			if strings.HasPrefix(src[p:], "}}}") {
				return toks, p + 3, false, nil
			}
			if strings.HasPrefix(src[p:], "}~}}") {
				return toks, p + 4, true, nil
			}
			if _, _, ok := closesAt(src, p); ok {
				return nil, 0, false, l.errorf(p, "expected }}} to close {{{")
			}
		} else if e, s, ok := closesAt(src, p); ok {
			return toks, e, s, nil
		}
		switch {
		case c == '(':
			toks = append(toks, token{kind: tokOpenParen, pos: p})
			p++
		case c == ')':
			toks = append(toks, token{kind: tokCloseParen, pos: p})
			p++
		case c == '=':
			toks = append(toks, token{kind: tokEquals, pos: p})
			p++
		case c == '|':
			toks = append(toks, token{kind: tokPipe, pos: p})
			p++
		case c == '@':
			toks = append(toks, token{kind: tokData, pos: p})
			p++
		case strings.HasPrefix(src[p:], ".."):
			toks = append(toks, token{kind: tokID, val: "..", pos: p})
			p += 2
		case c == '.' && (p+1 >= len(src) || isLookahead(src[p+1])):
			toks = append(toks, token{kind: tokID, val: ".", pos: p})
			p++
		case c == '.' || c == '/':
			toks = append(toks, token{kind: tokSep, val: string(c), pos: p})
			p++
		case c == '"' || c == '\'':
			s, e, ok := lexString(src, p)
			if !ok {
				return nil, 0, false, l.errorf(p, "unterminated string literal")
			}
			toks = append(toks, token{kind: tokString, val: s, pos: p})
			p = e
		case c == '[':
			s, e, ok := lexBracket(src, p)
			if !ok {
				return nil, 0, false, l.errorf(p, "unterminated [ in path segment")
			}
			toks = append(toks, token{kind: tokID, val: s, pos: p, bracket: true})
			p = e
		default:
			if e := literalEnd(src, p, "as"); e > 0 {
				q := skipSpace(src, e)
				if q > e && q < len(src) && src[q] == '|' {
					toks = append(toks, token{kind: tokOpenBlockParams, pos: p})
					p = q + 1
					continue
				}
			}
			if t, e, ok := lexKeyword(src, p); ok {
				toks = append(toks, t)
				p = e
				continue
			}
			q := p
			for q < len(src) && isIDByte(src[q]) {
				q++
			}
			if q == p {
				r, _ := utf8.DecodeRuneInString(src[p:])
				return nil, 0, false, l.errorf(p, "unexpected character "+quoteRune(r)+" in tag")
			}
			if q < len(src) && !isLookahead(src[q]) {
				r, _ := utf8.DecodeRuneInString(src[q:])
				return nil, 0, false, l.errorf(q, "unexpected character "+quoteRune(r)+" after identifier")
			}
			toks = append(toks, token{kind: tokID, val: src[p:q], pos: p})
			p = q
		}
	}
}

func quoteRune(r rune) string {
	if r == utf8.RuneError {
		return "(invalid UTF-8)"
	}
	return "'" + string(r) + "'"
}

// literalEnd returns the offset after word if src[p:] starts with word
// followed by a literal lookahead character, else 0.
func literalEnd(src string, p int, word string) int {
	if !strings.HasPrefix(src[p:], word) {
		return 0
	}
	e := p + len(word)
	if e < len(src) && !isLiteralLookahead(src[e]) {
		return 0
	}
	return e
}

// lexKeyword lexes true, false, null, undefined and numbers.
func lexKeyword(src string, p int) (token, int, bool) {
	for _, kw := range [...]struct {
		word string
		kind tokKind
	}{{"true", tokBool}, {"false", tokBool}, {"null", tokNull}, {"undefined", tokUndefined}} {
		if e := literalEnd(src, p, kw.word); e > 0 {
			return token{kind: kw.kind, val: kw.word, pos: p}, e, true
		}
	}
	q := p
	if q < len(src) && src[q] == '-' {
		q++
	}
	d := q
	for q < len(src) && src[q] >= '0' && src[q] <= '9' {
		q++
	}
	if q == d {
		return token{}, 0, false
	}
	if q+1 < len(src) && src[q] == '.' && src[q+1] >= '0' && src[q+1] <= '9' {
		q++
		for q < len(src) && src[q] >= '0' && src[q] <= '9' {
			q++
		}
	}
	if q < len(src) && !isLiteralLookahead(src[q]) {
		return token{}, 0, false
	}
	return token{kind: tokNumber, val: src[p:q], pos: p}, q, true
}

// lexString lexes a quoted string at p; a backslash escapes the quote.
func lexString(src string, p int) (string, int, bool) {
	quote := src[p]
	var b strings.Builder
	for q := p + 1; q < len(src); q++ {
		c := src[q]
		if c == '\\' && q+1 < len(src) && src[q+1] == quote {
			b.WriteByte(quote)
			q++
			continue
		}
		if c == quote {
			return b.String(), q + 1, true
		}
		b.WriteByte(c)
	}
	return "", 0, false
}

// lexBracket lexes a [literal] segment at p; \] and \\ are escapes.
func lexBracket(src string, p int) (string, int, bool) {
	var b strings.Builder
	for q := p + 1; q < len(src); q++ {
		c := src[q]
		if c == '\\' && q+1 < len(src) && (src[q+1] == ']' || src[q+1] == '\\') {
			b.WriteByte(src[q+1])
			q++
			continue
		}
		if c == ']' {
			return b.String(), q + 1, true
		}
		b.WriteByte(c)
	}
	return "", 0, false
}
