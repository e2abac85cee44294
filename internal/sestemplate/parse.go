package sestemplate

import (
	"encoding/json"
	"strconv"
	"strings"
)

// AST. Content nodes keep their original text (used by the standalone-line
// rules) and the value left after whitespace control.

type node interface{ isNode() }

type contentNode struct {
	original, value             string
	leftStripped, rightStripped bool
}

type commentNode struct{ strip stripFlags }

type mustacheNode struct {
	pos     int
	call    *sexpr
	escaped bool
	strip   stripFlags
}

type partialNode struct {
	pos    int
	name   string
	ctx    param // nil: the current context
	hash   []hashPair
	strip  stripFlags
	indent string // set when the tag stands alone on its line
}

type blockKind uint8

const (
	blockHelper    blockKind = iota // {{#x}} and {{^x}}
	blockDecorator                  // {{#* inline "name"}}
	blockPartial                    // {{#> name}}
)

type blockNode struct {
	pos         int
	kind        blockKind
	call        *sexpr
	blockParams []string // as |a b|
	partialName string   // blockDecorator and blockPartial
	partialCtx  param    // blockPartial
	program     *program // nil for {{^x}} without {{else}}
	inverse     *program
	openStrip   stripFlags
	invStrip    stripFlags
	closeStrip  stripFlags
}

type program struct {
	body    []node
	chained bool         // holds one {{else if}} block
	inlines []*blockNode // {{#* inline}} blocks directly in body
}

func (*contentNode) isNode()  {}
func (*commentNode) isNode()  {}
func (*mustacheNode) isNode() {}
func (*partialNode) isNode()  {}
func (*blockNode) isNode()    {}

// Expressions.

type helperKind uint8

const (
	helperNone helperKind = iota
	helperIf
	helperUnless
	helperEach
	helperWith
	helperLookup
	helperLog
)

func helperByName(name string) helperKind {
	switch name {
	case "if":
		return helperIf
	case "unless":
		return helperUnless
	case "each":
		return helperEach
	case "with":
		return helperWith
	case "lookup":
		return helperLookup
	case "log":
		return helperLog
	}
	return helperNone
}

// param is *pathExpr, *literal or *sexpr.
type param interface{}

type literal struct{ v any } // string, json.Number, bool, nil or missing

type pathExpr struct {
	pos      int
	data     bool // @name
	depth    int  // number of leading ../
	parts    []string
	original string
	scoped   bool // starts with this, . or ..
}

type hashPair struct {
	key string
	val param
}

type sexpr struct {
	pos    int
	head   *pathExpr
	helper helperKind
	params []param
	hash   []hashPair
}

func (s *sexpr) hashValue(key string) (param, bool) {
	for _, h := range s.hash {
		if h.key == key {
			return h.val, true
		}
	}
	return nil, false
}

// isSimple reports whether p is a bare identifier, which may name a helper.
func (p *pathExpr) isSimple() bool {
	return !p.data && !p.scoped && p.depth == 0 && len(p.parts) == 1
}

type parser struct {
	src   string
	items []item
	i     int
	depth int
}

func (p *parser) errorf(pos int, msg string) *SyntaxError {
	line, col := lineCol(p.src, pos)
	return &SyntaxError{Line: line, Col: col, Msg: msg}
}

func parse(src string) (*program, error) {
	items, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, items: items}
	root, term, err := p.parseProgram()
	if err != nil {
		return nil, err
	}
	switch term.kind {
	case itemInverse, itemOpenInverseChain:
		return nil, p.errorf(term.pos, "{{else}} outside a block")
	case itemClose:
		name, _ := p.closeName(term)
		return nil, p.errorf(term.pos, "{{/"+name+"}} closes a block that was never opened")
	}
	(&wsControl{}).program(root)
	return root, nil
}

// parseProgram parses statements up to, but not including, the next
// {{else}}, {{else x}}, {{/x}} or the end, which it returns.
func (p *parser) parseProgram() (*program, item, error) {
	prog := &program{}
	for {
		it := p.items[p.i]
		switch it.kind {
		case itemEOF, itemInverse, itemOpenInverseChain, itemClose:
			return prog, it, nil
		}
		p.i++
		switch it.kind {
		case itemContent:
			prog.body = append(prog.body, &contentNode{original: it.text, value: it.text})
		case itemComment:
			prog.body = append(prog.body, &commentNode{strip: it.strip})
		case itemMustache:
			n, err := p.parseMustache(it)
			if err != nil {
				return nil, it, err
			}
			prog.body = append(prog.body, n)
		case itemPartial:
			n, err := p.parsePartial(it)
			if err != nil {
				return nil, it, err
			}
			prog.body = append(prog.body, n)
		case itemOpenBlock, itemOpenInverse, itemOpenDecorator, itemOpenPartialBlock:
			n, err := p.parseBlock(it)
			if err != nil {
				return nil, it, err
			}
			prog.body = append(prog.body, n)
			if n.kind == blockDecorator {
				prog.inlines = append(prog.inlines, n)
			}
		}
	}
}

func (p *parser) parseMustache(it item) (*mustacheNode, error) {
	call, _, err := p.parseCall(it, it.toks, false)
	if err != nil {
		return nil, err
	}
	switch call.helper {
	case helperIf, helperUnless, helperEach, helperWith:
		return nil, p.errorf(it.pos, "helper '"+call.head.original+"' must be used as a block: {{#"+call.head.original+" …}}…{{/"+call.head.original+"}}")
	case helperLookup:
		if len(call.params) != 2 {
			return nil, p.errorf(it.pos, "lookup takes exactly two arguments")
		}
	}
	return &mustacheNode{pos: it.pos, call: call, escaped: !it.unescaped, strip: it.strip}, nil
}

func (p *parser) parsePartial(it item) (*partialNode, error) {
	name, ctx, hash, err := p.parsePartialArgs(it)
	if err != nil {
		return nil, err
	}
	return &partialNode{pos: it.pos, name: name, ctx: ctx, hash: hash, strip: it.strip}, nil
}

// parsePartialArgs parses "name [context] [key=value…]".
func (p *parser) parsePartialArgs(it item) (name string, ctx param, hash []hashPair, err error) {
	toks := it.toks
	if len(toks) == 0 {
		return "", nil, nil, p.errorf(it.pos, "partial tag without a partial name")
	}
	if toks[0].kind == tokOpenParen {
		return "", nil, nil, p.errorf(toks[0].pos, "dynamic partial names are not supported")
	}
	call, _, err := p.parseCall(it, toks, false)
	if err != nil {
		return "", nil, nil, err
	}
	if len(call.params) > 1 {
		return "", nil, nil, p.errorf(it.pos, "a partial takes at most one context argument")
	}
	if len(call.params) == 1 {
		ctx = call.params[0]
	}
	return call.head.original, ctx, call.hash, nil
}

func (p *parser) parseBlock(open item) (*blockNode, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > MaxDepth {
		return nil, p.errorf(open.pos, "blocks (and {{else if}} chains) nested more than "+strconv.Itoa(MaxDepth)+" deep")
	}
	b := &blockNode{pos: open.pos, openStrip: open.strip}
	inverted := open.kind == itemOpenInverse
	var openName string
	switch open.kind {
	case itemOpenPartialBlock:
		b.kind = blockPartial
		name, ctx, hash, err := p.parsePartialArgs(open)
		if err != nil {
			return nil, err
		}
		b.partialName, b.partialCtx = name, ctx
		b.call = &sexpr{pos: open.pos, head: &pathExpr{original: name}, hash: hash}
		openName = name
	default:
		call, bp, err := p.parseCall(open, open.toks, true)
		if err != nil {
			return nil, err
		}
		b.call, b.blockParams = call, bp
		openName = call.head.original
		if open.kind == itemOpenDecorator {
			b.kind = blockDecorator
			if err := p.checkInline(open, call); err != nil {
				return nil, err
			}
			b.partialName = literalText(call.params[0].(*literal))
		} else if err := p.checkBlockHelper(open, call); err != nil {
			return nil, err
		}
	}
	body, term, err := p.parseProgram()
	if err != nil {
		return nil, err
	}
	b.program = body
	var closeIt item
	switch term.kind {
	case itemEOF:
		return nil, p.errorf(open.pos, "unclosed block {{#"+openName+"}}: missing {{/"+openName+"}}")
	case itemInverse, itemOpenInverseChain:
		if b.kind != blockHelper {
			return nil, p.errorf(term.pos, "{{else}} is not allowed in {{#"+openName+"}}")
		}
		if inverted && term.kind == itemOpenInverseChain {
			return nil, p.errorf(term.pos, "{{else …}} chains are not allowed in an inverted section")
		}
		p.i++
		b.invStrip = term.strip
		if term.kind == itemInverse {
			inv, t2, err := p.parseProgram()
			if err != nil {
				return nil, err
			}
			if err := p.expectClose(open, openName, t2); err != nil {
				return nil, err
			}
			b.inverse = inv
			closeIt = t2
		} else {
			chained, t2, err := p.parseChain(open, openName, term)
			if err != nil {
				return nil, err
			}
			b.inverse = &program{body: []node{chained}, chained: true}
			closeIt = t2
			chained.closeStrip = t2.strip
		}
	case itemClose:
		closeIt = term
	}
	p.i++ // the close tag
	name, err := p.closeName(closeIt)
	if err != nil {
		return nil, err
	}
	if name != openName {
		return nil, p.errorf(closeIt.pos, "{{/"+name+"}} does not match {{#"+openName+"}}")
	}
	b.closeStrip = closeIt.strip
	if inverted {
		b.program, b.inverse = b.inverse, b.program
	}
	return b, nil
}

// parseChain parses the block opened by an {{else x}} tag, up to and
// including the end of the chain; it returns the chain's final close tag
// without consuming it.
func (p *parser) parseChain(open item, openName string, chain item) (*blockNode, item, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > MaxDepth {
		return nil, chain, p.errorf(chain.pos, "blocks (and {{else if}} chains) nested more than "+strconv.Itoa(MaxDepth)+" deep")
	}
	call, bp, err := p.parseCall(chain, chain.toks, true)
	if err != nil {
		return nil, chain, err
	}
	if err := p.checkBlockHelper(chain, call); err != nil {
		return nil, chain, err
	}
	b := &blockNode{pos: chain.pos, call: call, blockParams: bp, openStrip: chain.strip}
	body, term, err := p.parseProgram()
	if err != nil {
		return nil, chain, err
	}
	b.program = body
	switch term.kind {
	case itemEOF:
		return nil, term, p.errorf(open.pos, "unclosed block {{#"+openName+"}}: missing {{/"+openName+"}}")
	case itemClose:
		return b, term, nil
	case itemInverse:
		p.i++
		b.invStrip = term.strip
		b.closeStrip = term.strip
		inv, t2, err := p.parseProgram()
		if err != nil {
			return nil, t2, err
		}
		if err := p.expectClose(open, openName, t2); err != nil {
			return nil, t2, err
		}
		b.inverse = inv
		return b, t2, nil
	default: // itemOpenInverseChain
		p.i++
		b.invStrip = term.strip
		nested, t2, err := p.parseChain(open, openName, term)
		if err != nil {
			return nil, t2, err
		}
		// Handlebars gives a chained block after the first the strip
		// flags of the {{else x}} tag that opens it as its close strip.
		nested.closeStrip = term.strip
		b.inverse = &program{body: []node{nested}, chained: true}
		return b, t2, nil
	}
}

func (p *parser) expectClose(open item, openName string, t item) error {
	switch t.kind {
	case itemClose:
		return nil
	case itemEOF:
		return p.errorf(open.pos, "unclosed block {{#"+openName+"}}: missing {{/"+openName+"}}")
	default:
		return p.errorf(t.pos, "a second {{else}} in {{#"+openName+"}}")
	}
}

func (p *parser) closeName(it item) (string, error) {
	toks := it.toks
	if len(toks) == 0 {
		return "", p.errorf(it.pos, "closing tag without a name")
	}
	i := 0
	var name string
	switch toks[0].kind {
	case tokString, tokNumber, tokBool, tokNull, tokUndefined:
		name = toks[0].val
		i = 1
	default:
		path, err := p.parsePath(toks, &i)
		if err != nil {
			return "", err
		}
		name = path.original
	}
	if i != len(toks) {
		return "", p.errorf(toks[i].pos, "unexpected token in closing tag")
	}
	return name, nil
}

func (p *parser) checkBlockHelper(it item, call *sexpr) error {
	n := len(call.params)
	switch call.helper {
	case helperIf, helperUnless, helperWith:
		if n != 1 {
			return p.errorf(it.pos, "#"+call.head.original+" requires exactly one argument")
		}
	case helperEach:
		if n < 1 {
			return p.errorf(it.pos, "#each requires an argument")
		}
	case helperLookup, helperLog:
		return p.errorf(it.pos, "helper '"+call.head.original+"' cannot be used as a block")
	}
	return nil
}

func (p *parser) checkInline(it item, call *sexpr) error {
	if call.head.original != "inline" || !call.head.isSimple() {
		return p.errorf(it.pos, "decorator '"+call.head.original+"' is not supported; only {{#* inline \"name\"}}")
	}
	if len(call.params) != 1 {
		return p.errorf(it.pos, "{{#* inline}} takes exactly one partial name")
	}
	lit, ok := call.params[0].(*literal)
	if !ok {
		return p.errorf(it.pos, "{{#* inline}} needs a quoted partial name")
	}
	switch lit.v.(type) {
	case string, json.Number:
	default:
		return p.errorf(it.pos, "{{#* inline}} needs a quoted partial name")
	}
	return nil
}

func literalText(l *literal) string {
	switch v := l.v.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	}
	return ""
}

// parseCall parses "head param* hash? blockParams?" from toks.
func (p *parser) parseCall(it item, toks []token, allowBP bool) (*sexpr, []string, error) {
	if len(toks) == 0 {
		return nil, nil, p.errorf(it.pos, "empty tag")
	}
	i := 0
	call, err := p.parseSexprBody(toks, &i, 0)
	if err != nil {
		return nil, nil, err
	}
	var bp []string
	if i < len(toks) && toks[i].kind == tokOpenBlockParams {
		if !allowBP {
			return nil, nil, p.errorf(toks[i].pos, "block parameters (as |x|) are only allowed on blocks")
		}
		i++
		for i < len(toks) && toks[i].kind == tokID {
			bp = append(bp, toks[i].val)
			i++
		}
		if i >= len(toks) || toks[i].kind != tokPipe || len(bp) == 0 {
			return nil, nil, p.errorf(it.pos, "malformed block parameters: expected as |name …|")
		}
		i++
	}
	if i != len(toks) {
		return nil, nil, p.errorf(toks[i].pos, "unexpected token in tag")
	}
	call.pos = it.pos
	return call, bp, nil
}

// parseSexprBody parses "head param* hash?" starting at toks[*i], stopping
// before a ')' or block parameters.
func (p *parser) parseSexprBody(toks []token, i *int, depth int) (*sexpr, error) {
	if depth > MaxDepth {
		return nil, p.errorf(toks[*i].pos, "subexpressions nested more than "+strconv.Itoa(MaxDepth)+" deep")
	}
	s := &sexpr{pos: toks[*i].pos}
	switch toks[*i].kind {
	case tokString, tokNumber, tokBool, tokNull, tokUndefined:
		// A literal in helper position is looked up as a name:
		// {{"first name"}} is the "first name" attribute.
		t := toks[*i]
		*i++
		s.head = &pathExpr{pos: t.pos, parts: []string{t.val}, original: t.val}
	case tokOpenParen:
		return nil, p.errorf(toks[*i].pos, "a subexpression cannot be called as a helper")
	default:
		path, err := p.parsePath(toks, i)
		if err != nil {
			return nil, err
		}
		s.head = path
		if path.isSimple() {
			s.helper = helperByName(path.parts[0])
		}
	}
	for *i < len(toks) {
		t := toks[*i]
		if t.kind == tokCloseParen || t.kind == tokOpenBlockParams {
			break
		}
		if t.kind == tokID && *i+1 < len(toks) && toks[*i+1].kind == tokEquals {
			break
		}
		v, err := p.parseParam(toks, i, depth)
		if err != nil {
			return nil, err
		}
		s.params = append(s.params, v)
	}
	for *i < len(toks) && toks[*i].kind == tokID && *i+1 < len(toks) && toks[*i+1].kind == tokEquals {
		key, keyPos := toks[*i].val, toks[*i].pos
		*i += 2
		if *i >= len(toks) {
			return nil, p.errorf(keyPos, "missing value after "+key+"=")
		}
		v, err := p.parseParam(toks, i, depth)
		if err != nil {
			return nil, err
		}
		s.hash = append(s.hash, hashPair{key: key, val: v})
	}
	return s, nil
}

func (p *parser) parseParam(toks []token, i *int, depth int) (param, error) {
	t := toks[*i]
	switch t.kind {
	case tokString:
		*i++
		return &literal{v: t.val}, nil
	case tokNumber:
		*i++
		return &literal{v: json.Number(t.val)}, nil
	case tokBool:
		*i++
		return &literal{v: t.val == "true"}, nil
	case tokNull:
		*i++
		return &literal{v: nil}, nil
	case tokUndefined:
		*i++
		return &literal{v: undefined{}}, nil
	case tokOpenParen:
		*i++
		if *i >= len(toks) || toks[*i].kind == tokCloseParen {
			return nil, p.errorf(t.pos, "empty subexpression")
		}
		s, err := p.parseSexprBody(toks, i, depth+1)
		if err != nil {
			return nil, err
		}
		if *i >= len(toks) || toks[*i].kind != tokCloseParen {
			return nil, p.errorf(t.pos, "unclosed subexpression: missing )")
		}
		*i++
		switch s.helper {
		case helperLookup:
			if len(s.params) != 2 {
				return nil, p.errorf(t.pos, "lookup takes exactly two arguments")
			}
		case helperIf, helperUnless, helperEach, helperWith:
			return nil, p.errorf(t.pos, "helper '"+s.head.original+"' cannot be used in a subexpression")
		}
		return s, nil
	case tokID, tokData:
		return p.parsePath(toks, i)
	}
	return nil, p.errorf(t.pos, "unexpected token in tag")
}

// parsePath parses [@]segment([./]segment)* and applies Handlebars's
// rules for this, . and .. segments.
func (p *parser) parsePath(toks []token, i *int) (*pathExpr, error) {
	start := toks[*i]
	path := &pathExpr{pos: start.pos}
	if start.kind == tokData {
		path.data = true
		*i++
		if *i >= len(toks) || toks[*i].kind != tokID {
			return nil, p.errorf(start.pos, "expected a name after @")
		}
	}
	if toks[*i].kind != tokID {
		return nil, p.errorf(toks[*i].pos, "expected a name")
	}
	original := ""
	sep := ""
	for {
		t := toks[*i]
		*i++
		part := t.val
		original += sep + part
		if t.kind == tokNumber {
			// Lenient: a number after a separator is array indexes, as in
			// items.0 or matrix.1.0 (Handlebars lexes those as numbers).
			path.parts = append(path.parts, strings.Split(part, ".")...)
		} else if !t.bracket && (part == ".." || part == "." || part == "this") {
			if len(path.parts) > 0 {
				return nil, p.errorf(path.pos, "invalid path: "+original)
			}
			path.scoped = true
			if part == ".." {
				path.depth++
			}
		} else {
			path.parts = append(path.parts, part)
		}
		if *i+1 < len(toks) && toks[*i].kind == tokSep && (toks[*i+1].kind == tokID || toks[*i+1].kind == tokNumber) {
			sep = toks[*i].val
			*i++
			continue
		}
		if *i < len(toks) && toks[*i].kind == tokSep {
			return nil, p.errorf(toks[*i].pos, "expected a name after '"+toks[*i].val+"'")
		}
		break
	}
	if path.data {
		original = "@" + original
	}
	path.original = original
	return path, nil
}
