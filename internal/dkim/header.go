package dkim

import (
	"bytes"
	"fmt"
)

// headerStats measures a message header for the work go-msgauth will do
// on it, which grows faster than the header does:
//   - it joins the lines of a folded field by repeated string
//     concatenation, so a field costs about lines × length bytes copied;
//   - for each name in h= it walks every field, reading each up to its
//     colon, so a signature costs about len(h=) × (fields + name bytes).
//
// A hostile message of a few hundred kilobytes can make either take
// minutes, so Sign and Verify refuse headers over these budgets.
type headerStats struct {
	fields    int // header fields
	nameBytes int // bytes up to the colon (or the whole field without one), summed
	foldCost  int // lines × length, summed over the fields
}

// Work budgets; a normal header is several orders of magnitude below them.
const (
	maxFoldCost      = 1 << 28 // bytes copied joining folded lines, ~0.1 s
	maxPickFields    = 1 << 20 // h= entries × header fields
	maxPickNameBytes = 1 << 24 // h= entries × name bytes
)

// errHeaderTooComplex is a header over the work budgets.
func errHeaderTooComplex(what string) error {
	return fmt.Errorf("dkim: message header too complex to process: %s", what)
}

// check returns an error if processing the header for signatures listing
// hEntries names in all (h= tags) would go over the budgets.
func (st headerStats) check(hEntries int) error {
	if st.foldCost > maxFoldCost {
		return errHeaderTooComplex("header fields folded over too many lines")
	}
	if hEntries*st.fields > maxPickFields || hEntries*st.nameBytes > maxPickNameBytes {
		return errHeaderTooComplex(fmt.Sprintf("%d header fields and %d signed names", st.fields, hEntries))
	}
	return nil
}

// scanHeader walks the header fields of msg, splitting lines the way
// go-msgauth (and net/textproto) does: a line ends at LF, with a CR before
// it dropped; a line that starts with SP or HTAB continues the field above
// (RFC 5322 §2.2.3). For each field it calls each with the field name
// (trimmed of whitespace) and the raw field, from its name to the end of
// its last line, line breaks inside kept. It reports whether the header
// ends with an empty line (false when msg ends first), and its stats.
func scanHeader(msg []byte, each func(name, field []byte)) (complete bool, st headerStats) {
	start, end, lines := -1, -1, 0 // the field being gathered
	flush := func() {
		if start < 0 {
			return
		}
		f := msg[start:end]
		name := f
		if i := bytes.IndexByte(f, ':'); i >= 0 {
			name = f[:i]
		}
		st.fields++
		st.nameBytes += len(name)
		if lines > 1 {
			st.foldCost += lines * len(f)
		}
		each(bytes.TrimSpace(name), f)
	}
	for pos := 0; pos < len(msg); {
		next := len(msg)
		lineEnd := len(msg)
		if i := bytes.IndexByte(msg[pos:], '\n'); i >= 0 {
			lineEnd = pos + i
			next = lineEnd + 1
			if lineEnd > pos && msg[lineEnd-1] == '\r' {
				lineEnd--
			}
		}
		switch {
		case lineEnd == pos && next > lineEnd: // an empty line ends the header
			flush()
			return true, st
		case start >= 0 && (msg[pos] == ' ' || msg[pos] == '\t'):
			end = lineEnd
			lines++
		default:
			flush()
			start, end, lines = pos, lineEnd, 1
		}
		pos = next
	}
	flush()
	return false, st
}

// withEmptyBody returns a copy of msg, a header with no body, ended by the
// empty line that go-msgauth needs to find the end of the header. An absent
// body and an empty one canonicalize alike (RFC 6376 §3.4.3, §3.4.4).
func withEmptyBody(msg []byte) []byte {
	out := make([]byte, 0, len(msg)+4)
	out = append(out, msg...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\r', '\n')
	}
	return append(out, '\r', '\n')
}
