// Package sestemplate renders Amazon SES email templates: the Handlebars
// subset SES documents for personalized mail. Supported: {{var}},
// {{a.b.c}}, {{{raw}}}, {{! comment}} and {{!-- comment --}},
// {{#if x}}…{{else}}…{{/if}}, {{#unless x}}, {{#each list}} with {{this}},
// {{this.x}}, {{.}}, {{@index}}, {{@key}}, {{@first}}, {{@last}},
// {{#with obj}}, ../ to reach the enclosing context, and ~ whitespace
// control.
//
// As in SES (AWS knowledge center, "SES SendTemplatedEmail delivery
// failure"): variables are case-sensitive; a variable used by the template
// but missing from TemplateData is a rendering failure that names it;
// extra data is ignored. sesame applies the missing-variable rule to
// references in the top-level context; inside #if/#unless conditions a
// missing value is false, and inside #each/#with it renders empty
// (Handlebars' behaviour) — SES does not document those cases.
// Values are HTML-escaped in the HTML part as Handlebars escapes them
// (& < > " ' ` =), never in the subject and text parts.
package sestemplate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Limits that keep hostile templates and data bounded.
const (
	MaxDepth        = 64
	MaxOutput       = 10 << 20
	MaxTemplateData = 262144 // SES's TemplateData limit (reference §7)
)

// Mode says how values are escaped.
type Mode int

// Modes.
const (
	Plain Mode = iota // subject and text parts
	HTML              // the HTML part
)

// SyntaxError is a template that does not parse.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("template syntax error at %d:%d: %s", e.Line, e.Col, e.Msg)
}

// MissingAttributeError is a variable the data does not define.
type MissingAttributeError struct{ Name string }

func (e *MissingAttributeError) Error() string {
	return fmt.Sprintf("Attribute '%s' is not present in the rendering data.", e.Name)
}

type nodeKind int

const (
	nText nodeKind = iota
	nVar
	nIf
	nUnless
	nEach
	nWith
)

type node struct {
	kind     nodeKind
	text     string // nText
	path     string // the expression
	raw      bool   // {{{ }}}
	body     []node
	elseBody []node
}

// Template is a parsed template part.
type Template struct{ nodes []node }

type tag struct {
	open, close int // byte offsets of {{ and after }}
	inner       string
	raw         bool
	trimLeft    bool
	trimRight   bool
}

func position(src string, off int) (int, int) {
	line := 1 + strings.Count(src[:off], "\n")
	col := off - strings.LastIndexByte(src[:off], '\n')
	return line, col
}

// Parse parses src.
func Parse(src string) (*Template, error) {
	p := &parser{src: src}
	nodes, end, err := p.parseUntil(0, "")
	if err != nil {
		return nil, err
	}
	if end != "" {
		l, c := position(src, p.pos)
		return nil, &SyntaxError{l, c, "unexpected {{" + end + "}}"}
	}
	return &Template{nodes: nodes}, nil
}

type parser struct {
	src   string
	pos   int
	depth int
}

// next finds the next tag from p.pos; ok is false at the end.
func (p *parser) next() (tag, bool, error) {
	i := strings.Index(p.src[p.pos:], "{{")
	if i < 0 {
		return tag{}, false, nil
	}
	t := tag{open: p.pos + i}
	rest := p.src[t.open+2:]
	if strings.HasPrefix(rest, "!--") {
		j := strings.Index(rest, "--}}")
		if j < 0 {
			l, c := position(p.src, t.open)
			return tag{}, false, &SyntaxError{l, c, "unclosed comment"}
		}
		t.close, t.inner = t.open+2+j+4, "!"
		return t, true, nil
	}
	if strings.HasPrefix(rest, "{") {
		j := strings.Index(rest, "}}}")
		if j < 0 {
			l, c := position(p.src, t.open)
			return tag{}, false, &SyntaxError{l, c, "unclosed {{{"}
		}
		t.raw, t.inner, t.close = true, rest[1:j], t.open+2+j+3
	} else {
		j := strings.Index(rest, "}}")
		if j < 0 {
			l, c := position(p.src, t.open)
			return tag{}, false, &SyntaxError{l, c, "unclosed {{"}
		}
		t.inner, t.close = rest[:j], t.open+2+j+2
	}
	if strings.HasPrefix(t.inner, "~") {
		t.trimLeft, t.inner = true, t.inner[1:]
	}
	if strings.HasSuffix(t.inner, "~") {
		t.trimRight, t.inner = true, t.inner[:len(t.inner)-1]
	}
	t.inner = strings.TrimSpace(t.inner)
	return t, true, nil
}

func validPath(s string) bool {
	for strings.HasPrefix(s, "../") {
		s = s[3:]
	}
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || strings.ContainsRune("{}#/!\"'=()<>", r) {
			return false
		}
	}
	return true
}

// parseUntil parses nodes until a closing tag for block, returning that
// tag's kind ("else" or "/name"), or "" at the end of input.
func (p *parser) parseUntil(depth int, block string) ([]node, string, error) {
	if depth > MaxDepth {
		l, c := position(p.src, p.pos)
		return nil, "", &SyntaxError{l, c, "blocks nested too deeply"}
	}
	var out []node
	trimNext := false
	for {
		t, ok, err := p.next()
		if err != nil {
			return nil, "", err
		}
		end := len(p.src)
		if ok {
			end = t.open
		}
		text := p.src[p.pos:end]
		if trimNext {
			text = strings.TrimLeft(text, " \t\r\n")
		}
		if ok && t.trimLeft {
			text = strings.TrimRight(text, " \t\r\n")
		}
		if text != "" {
			out = append(out, node{kind: nText, text: text})
		}
		if !ok {
			p.pos = len(p.src)
			return out, "", nil
		}
		p.pos, trimNext = t.close, t.trimRight
		l, c := position(p.src, t.open)
		switch {
		case strings.HasPrefix(t.inner, "!"):
		case t.inner == "else":
			if block == "" {
				return nil, "", &SyntaxError{l, c, "{{else}} outside a block"}
			}
			return out, "else", nil
		case strings.HasPrefix(t.inner, "/"):
			name := strings.TrimSpace(t.inner[1:])
			if name != block {
				return nil, "", &SyntaxError{l, c, fmt.Sprintf("{{/%s}} does not close {{#%s}}", name, block)}
			}
			return out, "/" + name, nil
		case strings.HasPrefix(t.inner, "#"):
			f := strings.Fields(t.inner[1:])
			kinds := map[string]nodeKind{"if": nIf, "unless": nUnless, "each": nEach, "with": nWith}
			k, known := kinds[safeIndex(f, 0)]
			if !known || len(f) != 2 || !validPath(f[1]) {
				return nil, "", &SyntaxError{l, c, fmt.Sprintf("unsupported block {{%s}}", t.inner)}
			}
			n := node{kind: k, path: f[1]}
			body, end, err := p.parseUntil(depth+1, f[0])
			if err != nil {
				return nil, "", err
			}
			n.body = body
			if end == "else" {
				if n.elseBody, end, err = p.parseUntil(depth+1, f[0]); err != nil {
					return nil, "", err
				}
				if end == "else" {
					return nil, "", &SyntaxError{l, c, "two {{else}} in one block"}
				}
			}
			if end == "" {
				return nil, "", &SyntaxError{l, c, fmt.Sprintf("{{#%s}} is never closed", f[0])}
			}
			out = append(out, n)
		default:
			if !validPath(t.inner) || strings.Contains(t.inner, " ") {
				return nil, "", &SyntaxError{l, c, fmt.Sprintf("unsupported expression {{%s}}", t.inner)}
			}
			out = append(out, node{kind: nVar, path: t.inner, raw: t.raw})
		}
	}
}

func safeIndex(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

// frame is one context on the evaluation stack.
type frame struct {
	data  any
	index int
	key   string
	first bool
	last  bool
	loop  bool
}

type evaluator struct {
	out   bytes.Buffer
	mode  Mode
	stack []frame
}

// lookup resolves a path against the stack; found reports whether it exists.
func (e *evaluator) lookup(path string) (any, bool) {
	level := len(e.stack) - 1
	for strings.HasPrefix(path, "../") {
		path, level = path[3:], max(level-1, 0)
	}
	f := e.stack[level]
	switch path {
	case "this", ".":
		return f.data, true
	case "@index":
		return json.Number(strconv.Itoa(f.index)), f.loop
	case "@key":
		return f.key, f.loop && f.key != ""
	case "@first":
		return f.first, f.loop
	case "@last":
		return f.last, f.loop
	}
	path = strings.TrimPrefix(strings.TrimPrefix(path, "this."), "./")
	cur := f.data
	for _, seg := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			var ok bool
			if cur, ok = v[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := x.Float64()
		return err != nil || f != 0
	case float64:
		return x != 0
	case []any:
		return len(x) > 0
	}
	return true
}

func format(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = format(e)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		return "[object Object]"
	}
	return fmt.Sprint(v)
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;", "`", "&#x60;", "=", "&#x3D;")

func (e *evaluator) exec(nodes []node) error {
	for _, n := range nodes {
		if e.out.Len() > MaxOutput {
			return fmt.Errorf("sestemplate: output larger than %d bytes", MaxOutput)
		}
		switch n.kind {
		case nText:
			e.out.WriteString(n.text)
		case nVar:
			v, ok := e.lookup(n.path)
			if !ok && len(e.stack) == 1 && !strings.HasPrefix(n.path, "@") {
				// The attribute itself is missing; a missing field under a
				// present attribute renders empty.
				first, _, _ := strings.Cut(strings.TrimPrefix(n.path, "this."), ".")
				if _, found := e.lookup(first); !found {
					return &MissingAttributeError{Name: first}
				}
			}
			s := format(v)
			if e.mode == HTML && !n.raw {
				s = htmlEscaper.Replace(s)
			}
			e.out.WriteString(s)
		case nIf, nUnless:
			v, _ := e.lookup(n.path)
			body := n.body
			if truthy(v) == (n.kind == nUnless) {
				body = n.elseBody
			}
			if err := e.exec(body); err != nil {
				return err
			}
		case nWith:
			v, _ := e.lookup(n.path)
			if !truthy(v) {
				if err := e.exec(n.elseBody); err != nil {
					return err
				}
				continue
			}
			e.stack = append(e.stack, frame{data: v})
			err := e.exec(n.body)
			e.stack = e.stack[:len(e.stack)-1]
			if err != nil {
				return err
			}
		case nEach:
			v, _ := e.lookup(n.path)
			var frames []frame
			switch x := v.(type) {
			case []any:
				for i, item := range x {
					frames = append(frames, frame{data: item, index: i, first: i == 0, last: i == len(x)-1, loop: true})
				}
			case map[string]any:
				keys := make([]string, 0, len(x))
				for k := range x {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				for i, k := range keys {
					frames = append(frames, frame{data: x[k], index: i, key: k, first: i == 0, last: i == len(keys)-1, loop: true})
				}
			}
			if len(frames) == 0 {
				if err := e.exec(n.elseBody); err != nil {
					return err
				}
				continue
			}
			for _, f := range frames {
				e.stack = append(e.stack, f)
				err := e.exec(n.body)
				e.stack = e.stack[:len(e.stack)-1]
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Execute renders t with data (decoded TemplateData: map[string]any,
// []any, string, json.Number or float64, bool, nil).
func (t *Template) Execute(data any, mode Mode) (string, error) {
	e := &evaluator{mode: mode, stack: []frame{{data: data}}}
	if err := e.exec(t.nodes); err != nil {
		return "", err
	}
	return e.out.String(), nil
}

// Rendered is the three parts of a rendered SES template.
type Rendered struct{ Subject, Text, HTML string }

// DecodeData decodes TemplateData JSON text (numbers kept as written).
func DecodeData(templateData string) (any, error) {
	if len(templateData) > MaxTemplateData {
		return nil, fmt.Errorf("sestemplate: TemplateData is longer than %d characters", MaxTemplateData)
	}
	dec := json.NewDecoder(strings.NewReader(templateData))
	dec.UseNumber()
	var data any
	if err := dec.Decode(&data); err != nil {
		return nil, fmt.Errorf("sestemplate: TemplateData is not valid JSON: %w", err)
	}
	if _, ok := data.(map[string]any); !ok {
		return nil, fmt.Errorf("sestemplate: TemplateData must be a JSON object")
	}
	return data, nil
}

// RenderParts renders SES's three parts: subject and text as plain text,
// html with HTML escaping.
func RenderParts(subject, text, html, templateData string) (Rendered, error) {
	data, err := DecodeData(templateData)
	if err != nil {
		return Rendered{}, err
	}
	var r Rendered
	for _, part := range []struct {
		src  string
		mode Mode
		dst  *string
	}{{subject, Plain, &r.Subject}, {text, Plain, &r.Text}, {html, HTML, &r.HTML}} {
		if part.src == "" {
			continue
		}
		t, err := Parse(part.src)
		if err != nil {
			return Rendered{}, err
		}
		if *part.dst, err = t.Execute(data, part.mode); err != nil {
			return Rendered{}, err
		}
	}
	return r, nil
}
