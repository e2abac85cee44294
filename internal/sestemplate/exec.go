package sestemplate

import (
	"strconv"
	"strings"
)

// Limits that keep parsing and rendering bounded on hostile input.
const (
	// MaxDepth bounds the nesting of blocks (each {{else if}} of a chain
	// counts as one level) and of subexpressions in a template, and of
	// partial calls while rendering.
	MaxDepth = 64
	// MaxOutputSize bounds one rendered part, in bytes.
	MaxOutputSize = 10 << 20
	// MaxSteps bounds the evaluation steps (statements executed plus loop
	// iterations) of one Execute call.
	MaxSteps = 5_000_000
	// MaxDataSize is SES's limit on TemplateData, in bytes.
	MaxDataSize = 262144
)

// Mode says how values printed by {{x}} are escaped.
type Mode int

const (
	// Plain prints values as they are.
	Plain Mode = iota
	// HTML escapes values printed by {{x}} as Handlebars does (& < > " '
	// ` =); {{{x}}} and {{&x}} are never escaped.
	HTML
)

// Template is a parsed SES template part (subject, text or html).
// A Template is immutable and safe for concurrent use.
type Template struct {
	src  string
	root *program
}

// Parse parses src. Syntax errors (unclosed block, mismatched {{/each}},
// bad expression, unsupported feature) are *SyntaxError with line:col.
func Parse(src string) (*Template, error) {
	root, err := parse(src)
	if err != nil {
		return nil, err
	}
	return &Template{src: src, root: root}, nil
}

// Execute renders the template with data: the decoded TemplateData JSON
// object (*Object from DecodeData, or map[string]any), whose values are
// *Object or map[string]any, []any, string, json.Number or float64, bool
// and nil.
//
// A name printed from the top-level context ({{name}} outside {{#each}}
// and {{#with}}, or reached with ../ or @root) whose first segment is
// missing or null is a *MissingAttributeError naming it, SES's rendering
// failure. Inside {{#if}}, {{#unless}}, {{#each}} and {{#with}} arguments
// a missing name is simply false or empty, and missing members elsewhere
// print "". Other failures (unknown partial, limits) are *RenderError.
func (t *Template) Execute(data any, mode Mode) (string, error) {
	return t.execute(data, mode, limits{steps: MaxSteps, output: MaxOutputSize, depth: MaxDepth})
}

type limits struct{ steps, output, depth int }

func (t *Template) execute(data any, mode Mode, lim limits) (string, error) {
	s := &state{t: t, mode: mode, lim: lim, root: data}
	s.buf = make([]byte, 0, min(len(t.src)+len(t.src)/2, lim.output))
	e := env{fr: &frame{ctx: data, root: true}}
	if err := s.execProgram(t.root, e); err != nil {
		return "", err
	}
	return string(s.buf), nil
}

type state struct {
	t            *Template
	mode         Mode
	lim          limits
	root         any
	buf          []byte
	steps        int
	pos          int // offset of the tag being executed, for errors
	partialDepth int
}

// frame is a context: the value that names are looked up in.
type frame struct {
	ctx    any
	parent *frame
	root   bool
}

// dataFrame holds @index, @key, @first and @last of an {{#each}} pass.
type dataFrame struct {
	parent      *dataFrame
	index       int
	key         any
	first, last bool
}

type blockParamScope struct {
	names  []string
	vals   []any
	parent *blockParamScope
}

type partialScope struct {
	name   string
	prog   *program
	outer  *partialScope    // for @partial-block: the partials where it was written
	bp     *blockParamScope // for @partial-block: the block parameters there
	parent *partialScope
}

func (p *partialScope) find(name string) *partialScope {
	for ; p != nil; p = p.parent {
		if p.name == name {
			return p
		}
	}
	return nil
}

type env struct {
	fr       *frame
	data     *dataFrame
	bp       *blockParamScope
	partials *partialScope
}

func (s *state) fail(msg string, err error) *RenderError {
	line, col := lineCol(s.t.src, s.pos)
	return &RenderError{Line: line, Col: col, Msg: msg, Err: err}
}

func (s *state) step() error {
	s.steps++
	if s.steps > s.lim.steps {
		return s.fail(ErrTooComplex.Error(), ErrTooComplex)
	}
	return nil
}

func (s *state) write(str string) error {
	if len(s.buf)+len(str) > s.lim.output {
		return s.fail(ErrOutputTooLarge.Error(), ErrOutputTooLarge)
	}
	s.buf = append(s.buf, str...)
	return nil
}

func (s *state) writeValue(v any, escaped bool) error {
	str := toString(v)
	if !escaped || s.mode != HTML {
		return s.write(str)
	}
	if len(s.buf)+escapedLen(str) > s.lim.output {
		return s.fail(ErrOutputTooLarge.Error(), ErrOutputTooLarge)
	}
	s.buf = appendEscaped(s.buf, str)
	return nil
}

func (s *state) execProgram(p *program, e env) error {
	if p == nil {
		return nil
	}
	for _, b := range p.inlines {
		e.partials = &partialScope{name: b.partialName, prog: b.program, parent: e.partials}
	}
	for _, n := range p.body {
		if err := s.step(); err != nil {
			return err
		}
		var err error
		switch n := n.(type) {
		case *contentNode:
			err = s.write(n.value)
		case *mustacheNode:
			s.pos = n.pos
			err = s.execMustache(n, e)
		case *partialNode:
			s.pos = n.pos
			err = s.invokePartial(n.name, n.ctx, n.hash, n.indent, nil, e)
		case *blockNode:
			s.pos = n.pos
			err = s.execBlock(n, e)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *state) execMustache(n *mustacheNode, e env) error {
	call := n.call
	switch call.helper {
	case helperLog:
		return nil
	case helperLookup:
		v, err := s.evalSexpr(call, e)
		if err != nil {
			return err
		}
		return s.writeValue(v, n.escaped)
	}
	if len(call.params) > 0 || len(call.hash) > 0 {
		return s.unknownHelper(call, e)
	}
	v, strict := s.resolve(call.head, e)
	if strict {
		return &MissingAttributeError{Name: call.head.original}
	}
	return s.writeValue(v, n.escaped)
}

// unknownHelper handles {{name args…}} where name is not a helper. SES
// reports such a name as a missing attribute (seen for {{#IF x}}).
func (s *state) unknownHelper(call *sexpr, e env) error {
	v, _ := s.resolve(call.head, e)
	if isNullish(v) {
		return &MissingAttributeError{Name: call.head.original}
	}
	return s.fail("'"+call.head.original+"' is not a helper (supported: if, unless, each, with, lookup, log)", nil)
}

func (s *state) execBlock(b *blockNode, e env) error {
	switch b.kind {
	case blockDecorator:
		return nil // registered when its program started
	case blockPartial:
		return s.invokePartial(b.partialName, b.partialCtx, b.call.hash, "", b.program, e)
	}
	call := b.call
	switch call.helper {
	case helperIf, helperUnless:
		v, err := s.eval(call.params[0], e)
		if err != nil {
			return err
		}
		includeZero := false
		if p, ok := call.hashValue("includeZero"); ok {
			iz, err := s.eval(p, e)
			if err != nil {
				return err
			}
			includeZero = truthy(iz, false)
		}
		if truthy(v, includeZero) == (call.helper == helperIf) {
			return s.execProgram(b.program, e)
		}
		return s.execProgram(b.inverse, e)
	case helperWith:
		v, err := s.eval(call.params[0], e)
		if err != nil {
			return err
		}
		if isEmpty(v) {
			return s.execProgram(b.inverse, e)
		}
		inner := e
		inner.fr = &frame{ctx: v, parent: e.fr}
		if len(b.blockParams) > 0 {
			inner.bp = &blockParamScope{names: b.blockParams, vals: []any{v}, parent: e.bp}
		}
		return s.execProgram(b.program, inner)
	case helperEach:
		v, err := s.eval(call.params[0], e)
		if err != nil {
			return err
		}
		return s.each(b, v, e)
	}
	if len(call.params) > 0 || len(call.hash) > 0 {
		return s.unknownHelper(call, e)
	}
	// A section: {{#name}}…{{/name}} or {{^name}}…{{/name}}, rendered as
	// Handlebars's blockHelperMissing does.
	v, _ := s.resolve(call.head, e)
	switch x := v.(type) {
	case bool:
		if x {
			return s.execProgram(b.program, e)
		}
		return s.execProgram(b.inverse, e)
	case nil, undefined:
		return s.execProgram(b.inverse, e)
	}
	if l, ok := asList(v); ok {
		if len(l) == 0 {
			return s.execProgram(b.inverse, e)
		}
		return s.each(b, v, e)
	}
	inner := e
	inner.fr = &frame{ctx: v, parent: e.fr}
	return s.execProgram(b.program, inner)
}

// each renders b's program once per element of a list or member of an
// object, or b's inverse ({{else}}) if there are none.
func (s *state) each(b *blockNode, v any, e env) error {
	iter := func(item, key any, index int, last bool) error {
		if err := s.step(); err != nil {
			return err
		}
		inner := e
		inner.fr = &frame{ctx: item, parent: e.fr}
		inner.data = &dataFrame{parent: e.data, index: index, key: key, first: index == 0, last: last}
		if len(b.blockParams) > 0 {
			inner.bp = &blockParamScope{names: b.blockParams, vals: []any{item, key}, parent: e.bp}
		}
		return s.execProgram(b.program, inner)
	}
	n := 0
	if l, ok := asList(v); ok {
		for i, item := range l {
			if err := iter(item, i, i, i == len(l)-1); err != nil {
				return err
			}
		}
		n = len(l)
	} else if keys, ok := objectKeys(v); ok {
		for i, k := range keys {
			if err := iter(lookupProperty(v, k), k, i, i == len(keys)-1); err != nil {
				return err
			}
		}
		n = len(keys)
	}
	if n == 0 {
		return s.execProgram(b.inverse, e)
	}
	return nil
}

func (s *state) invokePartial(name string, ctxParam param, hash []hashPair, indent string, block *program, e env) error {
	entry := e.partials.find(name)
	var prog *program
	inner := env{fr: e.fr, data: e.data, partials: e.partials}
	switch {
	case entry != nil && name == "@partial-block":
		// The block of a {{#> name}} call: it sees the partials and
		// block parameters of the place it was written.
		prog, inner.partials, inner.bp = entry.prog, entry.outer, entry.bp
	case entry != nil:
		prog = entry.prog
	case block != nil:
		// {{#> name}}fallback{{/name}} with no such partial.
		prog, inner.bp = block, e.bp
	default:
		return s.fail("the partial "+name+" could not be found", nil)
	}
	if block != nil && entry != nil {
		// Inline partials defined in the block are visible to the
		// partial, and {{> @partial-block}} renders the block.
		for _, b := range block.inlines {
			inner.partials = &partialScope{name: b.partialName, prog: b.program, parent: inner.partials}
		}
		inner.partials = &partialScope{name: "@partial-block", prog: block, outer: e.partials, bp: e.bp, parent: inner.partials}
	}
	if ctxParam != nil || len(hash) > 0 {
		ctx := e.fr.ctx
		if ctxParam != nil {
			v, err := s.eval(ctxParam, e)
			if err != nil {
				return err
			}
			ctx = v
		}
		if len(hash) > 0 {
			obj := &Object{Values: map[string]any{}}
			if keys, ok := objectKeys(ctx); ok {
				for _, k := range keys {
					obj.set(k, lookupProperty(ctx, k))
				}
			}
			for _, h := range hash {
				v, err := s.eval(h.val, e)
				if err != nil {
					return err
				}
				obj.set(h.key, v)
			}
			ctx = obj
		}
		inner.fr = &frame{ctx: ctx, parent: e.fr}
	}
	s.partialDepth++
	defer func() { s.partialDepth-- }()
	if s.partialDepth > s.lim.depth {
		return s.fail("partials nested more than "+strconv.Itoa(s.lim.depth)+" deep", ErrTooDeep)
	}
	start := len(s.buf)
	if err := s.execProgram(prog, inner); err != nil {
		return err
	}
	if indent != "" {
		return s.indentFrom(start, indent)
	}
	return nil
}

// indentFrom prefixes every line written since start with indent, as
// Handlebars does for a partial tag that stands alone on an indented line.
func (s *state) indentFrom(start int, indent string) error {
	// Re-indenting is proportional to the output of the partial, which
	// nested partials re-indent again; charge for it.
	s.steps += (len(s.buf) - start) / 32
	if err := s.step(); err != nil {
		return err
	}
	lines := strings.Split(string(s.buf[start:]), "\n")
	for i := range lines {
		if lines[i] == "" && i == len(lines)-1 {
			break
		}
		lines[i] = indent + lines[i]
	}
	out := strings.Join(lines, "\n")
	s.buf = s.buf[:start]
	return s.write(out)
}

func (s *state) eval(p param, e env) (any, error) {
	switch p := p.(type) {
	case *literal:
		return p.v, nil
	case *pathExpr:
		v, _ := s.resolve(p, e)
		return v, nil
	case *sexpr:
		return s.evalSexpr(p, e)
	}
	return undefined{}, nil
}

func (s *state) evalSexpr(call *sexpr, e env) (any, error) {
	switch call.helper {
	case helperLookup:
		obj, err := s.eval(call.params[0], e)
		if err != nil {
			return nil, err
		}
		key, err := s.eval(call.params[1], e)
		if err != nil {
			return nil, err
		}
		if isNullish(obj) {
			return obj, nil
		}
		return lookupProperty(obj, toString(key)), nil
	case helperLog:
		return undefined{}, nil
	}
	if err := s.unknownHelper(call, e); err != nil {
		return nil, err
	}
	return undefined{}, nil
}

// resolve looks up a path. strict reports a reference that SES would fail
// on: the lookup started from the root data object (plain names outside
// {{#each}}/{{#with}}, ../ reaching the root, @root) and the path's first
// name is missing or null there.
func (s *state) resolve(p *pathExpr, e env) (v any, strict bool) {
	parts := p.parts
	if p.data {
		if len(parts) == 0 {
			return undefined{}, false
		}
		name := parts[0]
		parts = parts[1:]
		if name == "root" {
			return walkStrict(s.root, parts)
		}
		d := e.data
		for i := 0; i < p.depth && d != nil; i++ {
			d = d.parent
		}
		v = undefined{}
		if d != nil {
			switch name {
			case "index":
				v = d.index
			case "key":
				v = d.key
			case "first":
				v = d.first
			case "last":
				v = d.last
			}
		}
		return walk(v, parts), false
	}
	if !p.scoped && len(parts) > 0 {
		for bp := e.bp; bp != nil; bp = bp.parent {
			for i, n := range bp.names {
				if n == parts[0] {
					v = undefined{}
					if i < len(bp.vals) {
						v = bp.vals[i]
					}
					return walk(v, parts[1:]), false
				}
			}
		}
	}
	fr := e.fr
	for i := 0; i < p.depth; i++ {
		fr = fr.parent
		if fr == nil {
			return undefined{}, false
		}
	}
	if fr.root {
		return walkStrict(fr.ctx, parts)
	}
	return walk(fr.ctx, parts), false
}

// walkStrict is walk from the root data object; strict reports that the
// first name is missing or null.
func walkStrict(root any, parts []string) (any, bool) {
	if len(parts) == 0 {
		return root, false
	}
	first := walk(root, parts[:1])
	if isNullish(first) {
		return first, true
	}
	return walk(first, parts[1:]), false
}

func walk(v any, parts []string) any {
	for _, part := range parts {
		if isNullish(v) {
			return undefined{}
		}
		v = lookupProperty(v, part)
	}
	return v
}
