package sestemplate

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// undefined is the value of a name that the data does not hold. It is
// distinct from nil, which is JSON null.
type undefined struct{}

func isNullish(v any) bool {
	switch v.(type) {
	case nil, undefined:
		return true
	}
	return false
}

// lookupProperty returns v[key] the way Handlebars resolves one path
// segment: object members, array elements by canonical decimal index, and
// the length of arrays and strings. Anything else is undefined.
func lookupProperty(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		if val, ok := x[key]; ok {
			return val
		}
	case *Object:
		if x != nil {
			if val, ok := x.Values[key]; ok {
				return val
			}
		}
	case map[string]string:
		if val, ok := x[key]; ok {
			return val
		}
	case []any:
		if key == "length" {
			return len(x)
		}
		if i, ok := arrayIndex(key, len(x)); ok {
			return x[i]
		}
	case []string:
		if key == "length" {
			return len(x)
		}
		if i, ok := arrayIndex(key, len(x)); ok {
			return x[i]
		}
	case []map[string]any:
		if key == "length" {
			return len(x)
		}
		if i, ok := arrayIndex(key, len(x)); ok {
			return x[i]
		}
	case string:
		if key == "length" {
			return utf16Len(x)
		}
	}
	return undefined{}
}

// arrayIndex parses key as a canonical array index ("0", "17", not "01"
// or "-1") below n.
func arrayIndex(key string, n int) (int, bool) {
	if key == "" || len(key) > 10 || (len(key) > 1 && key[0] == '0') {
		return 0, false
	}
	i := 0
	for _, c := range []byte(key) {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	return i, i < n
}

// utf16Len is JavaScript's String.prototype.length.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// asList returns v's elements if v is an array.
func asList(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, true
	case []map[string]any:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

// objectKeys returns the member names of an object in iteration order:
// document order for *Object, sorted for Go maps. ok is false when v is
// not an object.
func objectKeys(v any) (keys []string, ok bool) {
	switch x := v.(type) {
	case *Object:
		if x == nil {
			return nil, false
		}
		return x.Keys, true
	case map[string]any:
		keys = make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys, true
	case map[string]string:
		keys = make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys, true
	}
	return nil, false
}

func isObject(v any) bool {
	_, ok := objectKeys(v)
	return ok
}

// numberValue returns v as a float64 if v is a number.
func numberValue(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !isRangeErr(err) {
			return math.NaN(), true
		}
		return f, true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// truthy is the test of {{#if}}: false, null, missing, "", 0, NaN and
// empty arrays are false (0 is true with includeZero=true); everything
// else, empty objects included, is true.
func truthy(v any, includeZero bool) bool {
	switch x := v.(type) {
	case nil, undefined:
		return false
	case bool:
		return x
	case string:
		return x != ""
	}
	if f, ok := numberValue(v); ok {
		if math.IsNaN(f) {
			return false
		}
		return includeZero || f != 0
	}
	if l, ok := asList(v); ok {
		return len(l) > 0
	}
	return true
}

// isEmpty is Handlebars's Utils.isEmpty, used by {{#with}}: like !truthy,
// except that 0 is not empty.
func isEmpty(v any) bool {
	return !truthy(v, true)
}

// toString converts a value for output the way JavaScript's String()
// would in Handlebars: null and missing become "", arrays join their
// elements with commas, objects print as [object Object]. JSON numbers
// keep the exact text they had in the template data.
func toString(v any) string {
	return toStringDepth(v, 0)
}

func toStringDepth(v any, depth int) string {
	switch x := v.(type) {
	case string:
		return x
	case nil, undefined:
		return ""
	case bool:
		if x {
			return "true"
		}
		return "false"
	case json.Number:
		return string(x)
	case float64:
		return jsNumber(x)
	case float32:
		return jsNumber(float64(x))
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int16:
		return strconv.FormatInt(int64(x), 10)
	case int8:
		return strconv.FormatInt(int64(x), 10)
	case uint:
		return strconv.FormatUint(uint64(x), 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case uint32:
		return strconv.FormatUint(uint64(x), 10)
	case uint16:
		return strconv.FormatUint(uint64(x), 10)
	case uint8:
		return strconv.FormatUint(uint64(x), 10)
	}
	if l, ok := asList(v); ok {
		if depth >= MaxDepth {
			return ""
		}
		parts := make([]string, len(l))
		for i, e := range l {
			parts[i] = toStringDepth(e, depth+1)
		}
		return strings.Join(parts, ",")
	}
	if isObject(v) {
		return "[object Object]"
	}
	return fmt.Sprint(v)
}

// jsNumber formats f like JavaScript's Number.prototype.toString.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	if a := math.Abs(f); a >= 1e21 || a < 1e-6 {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		return mant + "e" + exp[:1] + strings.TrimLeft(exp[1:], "0")
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// appendEscaped appends s with Handlebars's HTML escaping:
// & < > " ' ` = become entities.
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '"':
			rep = "&quot;"
		case '\'':
			rep = "&#x27;"
		case '`':
			rep = "&#x60;"
		case '=':
			rep = "&#x3D;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, rep...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// escapedLen returns the length of s after HTML escaping.
func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '&':
			n += 4
		case '<', '>':
			n += 3
		case '"', '\'', '`', '=':
			n += 5
		}
	}
	return n
}
