package sesapi

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"time"
)

// xmlw builds XML responses in a fixed member order, which is what the
// Query protocols' parsers expect (reference §1, §10: lists as <member>,
// maps as <entry>, ISO 8601 times).
type xmlw struct {
	b bytes.Buffer
}

func (w *xmlw) open(name string) { w.b.WriteString("<" + name + ">") }

func (w *xmlw) openNS(name, ns string) {
	w.b.WriteString("<" + name + ` xmlns="` + ns + `">`)
}

func (w *xmlw) close(name string) { w.b.WriteString("</" + name + ">") }

// elem writes <name>text</name> with text escaped.
func (w *xmlw) elem(name, text string) {
	w.open(name)
	xml.EscapeText(&w.b, []byte(text))
	w.close(name)
}

func (w *xmlw) bool(name string, v bool) { w.elem(name, strconv.FormatBool(v)) }

// float writes a double the way AWS does (200.0, not 200).
func (w *xmlw) float(name string, v float64) {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !bytes.ContainsAny([]byte(s), ".eE") {
		s += ".0"
	}
	w.elem(name, s)
}

func (w *xmlw) time(name string, t time.Time) {
	w.elem(name, t.UTC().Format("2006-01-02T15:04:05.000Z"))
}

// members writes <name><member>v</member>…</name>.
func (w *xmlw) members(name string, vs []string) {
	w.open(name)
	for _, v := range vs {
		w.elem("member", v)
	}
	w.close(name)
}
