package sestemplate

import "strings"

// Whitespace control, after Handlebars 4's compiler pass of the same name:
// "~" in a tag strips all whitespace on that side, and block, else,
// comment and partial tags that stand alone on their line take the line
// with them ("standalone" lines, from the Mustache spec).

type wsControl struct{ rootSeen bool }

type wsStrip struct {
	open, close                     bool
	openStandalone, closeStandalone bool
	inlineStandalone                bool
}

func (w *wsControl) program(p *program) {
	if p == nil {
		return
	}
	isRoot := !w.rootSeen
	w.rootSeen = true
	body := p.body
	for i, cur := range body {
		st, ok := w.accept(cur)
		if !ok {
			continue
		}
		prevWS := isPrevWhitespace(body, i, isRoot)
		nextWS := isNextWhitespace(body, i, isRoot)
		openSA := st.openStandalone && prevWS
		closeSA := st.closeStandalone && nextWS
		inlineSA := st.inlineStandalone && prevWS && nextWS
		if st.close {
			omitRight(body, i, true)
		}
		if st.open {
			omitLeft(body, i, true)
		}
		if inlineSA {
			omitRight(body, i, false)
			if omitLeft(body, i, false) {
				if pn, ok := cur.(*partialNode); ok {
					pn.indent = trailingBlanks(body[i-1].(*contentNode).original)
				}
			}
		}
		if openSA {
			b := cur.(*blockNode)
			omitRightProgram(firstNonNil(b.program, b.inverse))
			omitLeft(body, i, false)
		}
		if closeSA {
			b := cur.(*blockNode)
			omitRight(body, i, false)
			omitLeftProgram(firstNonNil(b.inverse, b.program))
		}
		if b, ok := cur.(*blockNode); ok && b.kind == blockDecorator {
			omitNewlineAfterInline(body, i)
		}
	}
}

// omitNewlineAfterInline drops the line break that directly follows an
// inline partial definition's {{/inline}}. Handlebars keeps it unless the
// tags stand alone on their lines, but the SES developer guide ("Advanced
// email personalization") says the newline after {{/inline}} "isn't
// rendered in the final output".
func omitNewlineAfterInline(body []node, i int) {
	if i+1 >= len(body) {
		return
	}
	c, ok := body[i+1].(*contentNode)
	if !ok || c.rightStripped {
		return
	}
	v := strings.TrimPrefix(c.value, "\r")
	if strings.HasPrefix(v, "\n") {
		c.value = v[1:]
		c.rightStripped = true
	}
}

func firstNonNil(a, b *program) *program {
	if a != nil {
		return a
	}
	return b
}

func (w *wsControl) accept(n node) (wsStrip, bool) {
	switch n := n.(type) {
	case *mustacheNode:
		return wsStrip{open: n.strip.open, close: n.strip.close}, true
	case *commentNode:
		return wsStrip{open: n.strip.open, close: n.strip.close, inlineStandalone: true}, true
	case *partialNode:
		return wsStrip{open: n.strip.open, close: n.strip.close, inlineStandalone: true}, true
	case *blockNode:
		return w.block(n), true
	}
	return wsStrip{}, false
}

func (w *wsControl) block(b *blockNode) wsStrip {
	w.program(b.program)
	w.program(b.inverse)
	prog := firstNonNil(b.program, b.inverse)
	var inverse *program
	if b.program != nil {
		inverse = b.inverse
	}
	firstInverse, lastInverse := inverse, inverse
	if inverse != nil && inverse.chained {
		firstInverse = inverse.body[0].(*blockNode).program
		for lastInverse.chained {
			lastInverse = lastInverse.body[len(lastInverse.body)-1].(*blockNode).program
		}
	}
	st := wsStrip{
		open:            b.openStrip.open,
		close:           b.closeStrip.close,
		openStandalone:  isNextWhitespace(prog.body, -1, false),
		closeStandalone: isPrevWhitespace(firstNonNil(firstInverse, prog).body, -1, false),
	}
	if b.openStrip.close {
		omitRight(prog.body, -1, true)
	}
	if inverse != nil {
		if b.invStrip.open {
			omitLeft(prog.body, -1, true)
		}
		if b.invStrip.close {
			omitRight(firstInverse.body, -1, true)
		}
		if b.closeStrip.open {
			omitLeft(lastInverse.body, -1, true)
		}
		// A standalone {{else}} line.
		if isPrevWhitespace(prog.body, -1, false) && isNextWhitespace(firstInverse.body, -1, false) {
			omitLeft(prog.body, -1, false)
			omitRight(firstInverse.body, -1, false)
		}
	} else if b.closeStrip.open {
		omitLeft(prog.body, -1, true)
	}
	return st
}

// isPrevWhitespace reports whether the content before body[i] (i < 0:
// the end of body) ends a line with only whitespace after its last
// newline; at the very start of the root, whitespace alone will do.
func isPrevWhitespace(body []node, i int, isRoot bool) bool {
	if i < 0 {
		i = len(body)
	}
	if i-1 < 0 {
		return isRoot
	}
	c, ok := body[i-1].(*contentNode)
	if !ok {
		return false
	}
	hasSibling := i-2 >= 0
	s := c.original
	t := strings.TrimRightFunc(s, isJSSpace)
	trail := s[len(t):]
	if !hasSibling && isRoot && t == "" {
		return true
	}
	return strings.Contains(trail, "\n")
}

// isNextWhitespace reports whether the content after body[i] (i < 0:
// before the start of body) starts with only whitespace up to a newline;
// at the very end of the root, whitespace alone will do.
func isNextWhitespace(body []node, i int, isRoot bool) bool {
	if i+1 >= len(body) {
		return isRoot
	}
	c, ok := body[i+1].(*contentNode)
	if !ok {
		return false
	}
	hasSibling := i+2 < len(body)
	s := c.original
	t := strings.TrimLeftFunc(s, isJSSpace)
	lead := s[:len(s)-len(t)]
	if !hasSibling && isRoot && t == "" {
		return true
	}
	return strings.Contains(lead, "\n")
}

// omitRight strips the start of the content after body[i] (i < 0: the
// first node of body): all whitespace if multiple, else blanks and one
// line break.
func omitRight(body []node, i int, multiple bool) {
	j := i + 1
	if i < 0 {
		j = 0
	}
	if j >= len(body) {
		return
	}
	c, ok := body[j].(*contentNode)
	if !ok || (!multiple && c.rightStripped) {
		return
	}
	orig := c.value
	if multiple {
		c.value = strings.TrimLeftFunc(c.value, isJSSpace)
	} else {
		v := strings.TrimLeft(c.value, " \t")
		v = strings.TrimPrefix(v, "\r")
		v = strings.TrimPrefix(v, "\n")
		c.value = v
	}
	c.rightStripped = c.value != orig
}

// omitLeft strips the end of the content before body[i] (i < 0: the last
// node of body): all whitespace if multiple, else trailing blanks. It
// reports whether anything was stripped.
func omitLeft(body []node, i int, multiple bool) bool {
	j := i - 1
	if i < 0 {
		j = len(body) - 1
	}
	if j < 0 || j >= len(body) {
		return false
	}
	c, ok := body[j].(*contentNode)
	if !ok || (!multiple && c.leftStripped) {
		return false
	}
	orig := c.value
	if multiple {
		c.value = strings.TrimRightFunc(c.value, isJSSpace)
	} else {
		c.value = strings.TrimRight(c.value, " \t")
	}
	c.leftStripped = c.value != orig
	return c.leftStripped
}

func omitRightProgram(p *program) {
	if p != nil {
		omitRight(p.body, -1, false)
	}
}

func omitLeftProgram(p *program) {
	if p != nil {
		omitLeft(p.body, -1, false)
	}
}

// trailingBlanks returns the run of spaces and tabs that ends s.
func trailingBlanks(s string) string {
	return s[len(strings.TrimRight(s, " \t")):]
}

// isJSSpace reports whether r is whitespace for JavaScript's \s.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	if r >= 0x2000 && r <= 0x200a {
		return true
	}
	return false
}
