package sestemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// Object is a JSON object that keeps its members in document order, so
// that {{#each}} over an object visits them in the order the sender wrote
// them (Go maps are visited in sorted key order instead).
type Object struct {
	// Keys lists the member names in order, each once.
	Keys []string
	// Values maps each name in Keys to its value.
	Values map[string]any
}

// Get returns the value of member key.
func (o *Object) Get(key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	v, ok := o.Values[key]
	return v, ok
}

// set adds or replaces a member; a replaced member keeps its position.
func (o *Object) set(key string, v any) {
	if _, ok := o.Values[key]; !ok {
		o.Keys = append(o.Keys, key)
	}
	o.Values[key] = v
}

// MarshalJSON encodes o with its members in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	if o == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.Keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.Values[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// DecodeData decodes SES TemplateData: a JSON object of at most
// MaxDataSize bytes. Objects become *Object (members in document order; a
// repeated name keeps its first position and its last value), arrays
// []any, numbers json.Number (so they print exactly as written), strings
// string, booleans bool and null nil. Data that is too large, not JSON or
// not an object is a *DataError.
func DecodeData(templateData string) (*Object, error) {
	if len(templateData) > MaxDataSize {
		return nil, &DataError{Msg: ErrDataTooLarge.Error(), Err: ErrDataTooLarge}
	}
	dec := json.NewDecoder(strings.NewReader(templateData))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, &DataError{Msg: "not valid JSON: " + err.Error(), Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &DataError{Msg: "not valid JSON: data after the top-level value"}
	}
	obj, ok := v.(*Object)
	if !ok {
		return nil, &DataError{Msg: "not a JSON object"}
	}
	return obj, nil
}

// maxDataDepth bounds the nesting of arrays and objects in template data.
const maxDataDepth = 1000

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > maxDataDepth {
		return nil, errors.New("arrays and objects nested more than 1000 deep")
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := &Object{Values: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("object member name is not a string")
				}
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				obj.set(k, v)
			}
			if _, err := dec.Token(); err != nil { // '}'
				return nil, err
			}
			return obj, nil
		case '[':
			list := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return nil, err
			}
			return list, nil
		}
		return nil, errors.New("unexpected " + t.String())
	default:
		return t, nil // string, json.Number, bool or nil
	}
}

// MergeData returns the template data for one SendBulkEmail destination:
// replacement merged over defaults, member by member. Objects present in
// both are merged recursively; any other replacement value (arrays
// included) replaces the default. Neither argument is modified; either
// may be nil.
//
// This follows behaviour observed against SES v2 and reported in
// github.com/domdomegg/aws-ses-v2-local issue #102 and pull request #103;
// the SES developer guide instead describes DefaultTemplateData as a
// whole-object fallback used only when the replacement data is "{}",
// which the per-member merge also satisfies.
func MergeData(defaults, replacement *Object) *Object {
	out := &Object{Values: map[string]any{}}
	if defaults != nil {
		for _, k := range defaults.Keys {
			out.set(k, defaults.Values[k])
		}
	}
	if replacement != nil {
		for _, k := range replacement.Keys {
			rv := replacement.Values[k]
			if dv, ok := out.Values[k].(*Object); ok {
				if ro, ok := rv.(*Object); ok {
					out.set(k, MergeData(dv, ro))
					continue
				}
			}
			out.set(k, rv)
		}
	}
	return out
}

// Rendered holds the three rendered parts of an SES template.
type Rendered struct {
	Subject, Text, HTML string
}

// RenderParts renders SES's three template parts with TemplateData JSON
// text (at most MaxDataSize bytes, else a *DataError). Empty parts render
// as "". All three are parsed before any is rendered, so a syntax error in
// any part (a *SyntaxError whose Part says which) comes before a rendering
// failure; parts render in the order subject, text, html.
//
// All three parts render in Plain mode, including the HTML part: the SES
// developer guide ("Advanced email personalization") states that SES does
// not escape HTML content when rendering the HTML part. Use RenderPartsData
// to choose HTML escaping instead.
func RenderParts(subject, text, html, templateData string) (Rendered, error) {
	data, err := DecodeData(templateData)
	if err != nil {
		return Rendered{}, err
	}
	return RenderPartsData(subject, text, html, data, Plain)
}

// RenderPartsData is RenderParts with already decoded data (for example
// from DecodeData or MergeData) and a choice of mode for the HTML part; the
// subject and text parts always render Plain.
func RenderPartsData(subject, text, html string, data any, htmlMode Mode) (Rendered, error) {
	parts := [3]struct {
		name, src string
		mode      Mode
		t         *Template
	}{{"subject", subject, Plain, nil}, {"text", text, Plain, nil}, {"html", html, htmlMode, nil}}
	for i := range parts {
		t, err := Parse(parts[i].src)
		if err != nil {
			var se *SyntaxError
			if errors.As(err, &se) {
				se.Part = parts[i].name
			}
			return Rendered{}, err
		}
		parts[i].t = t
	}
	var out [3]string
	for i, p := range parts {
		s, err := p.t.Execute(data, p.mode)
		if err != nil {
			return Rendered{}, err
		}
		out[i] = s
	}
	return Rendered{Subject: out[0], Text: out[1], HTML: out[2]}, nil
}
