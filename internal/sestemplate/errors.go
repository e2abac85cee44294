package sestemplate

import (
	"errors"
	"fmt"
)

// SyntaxError reports a template that cannot be parsed: an unclosed tag or
// block, a mismatched closing tag such as {{/each}} for {{#if}}, a bad
// expression, or a Handlebars feature this package does not implement.
// SES reports such templates as invalid (InvalidTemplate in the v1 API).
type SyntaxError struct {
	// Part names the template part ("subject", "text" or "html") when the
	// error comes from RenderParts; it is empty from Parse.
	Part string
	// Line and Col locate the problem, both counted from 1; Col counts
	// characters (Unicode code points), not bytes.
	Line, Col int
	// Msg describes the problem.
	Msg string
}

// Error returns the position and the problem, with the part if known.
func (e *SyntaxError) Error() string {
	if e.Part != "" {
		return fmt.Sprintf("template %s part: syntax error at line %d, column %d: %s", e.Part, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("template syntax error at line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// MissingAttributeError is SES's rendering failure for a variable that the
// template prints but the template data does not hold (or holds as null).
// Its Error text is exactly the message SES puts in MissingRenderingAttribute
// errors and in the errorMessage of Rendering Failure events.
type MissingAttributeError struct {
	// Name is the variable as written in the template, e.g. "name" or
	// "contact.firstName" (brackets of [literal] segments removed).
	Name string
}

// Error returns SES's message: Attribute 'Name' is not present in the
// rendering data.
func (e *MissingAttributeError) Error() string {
	return "Attribute '" + e.Name + "' is not present in the rendering data."
}

// RenderError is any other failure while executing a template: an inline
// partial that is not defined, a helper that does not exist, or one of the
// resource limits (ErrOutputTooLarge, ErrTooComplex, ErrTooDeep), which it
// wraps so that errors.Is finds them.
type RenderError struct {
	// Line and Col locate the tag being executed (counted from 1).
	Line, Col int
	// Msg describes the failure.
	Msg string
	// Err is the underlying sentinel error, if any.
	Err error
}

// Error returns the position and the failure.
func (e *RenderError) Error() string {
	return fmt.Sprintf("template rendering failed at line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// Unwrap returns the sentinel error behind e, if any.
func (e *RenderError) Unwrap() error { return e.Err }

// DataError reports TemplateData that RenderParts or DecodeData cannot
// use: more than MaxDataSize bytes (wrapping ErrDataTooLarge), text
// that is not JSON, or JSON that is not an object. SES reports bad template
// data as InvalidRenderingParameter.
type DataError struct {
	// Msg describes the problem.
	Msg string
	// Err is the underlying error, if any.
	Err error
}

// Error describes the problem with the data.
func (e *DataError) Error() string { return "invalid template data: " + e.Msg }

// Unwrap returns the error behind e, if any.
func (e *DataError) Unwrap() error { return e.Err }

var (
	// ErrOutputTooLarge is wrapped by the RenderError returned when one
	// rendered part would exceed MaxOutputSize bytes.
	ErrOutputTooLarge = errors.New("rendered output exceeds the size limit")
	// ErrTooComplex is wrapped by the RenderError returned when rendering
	// would take more than MaxSteps evaluation steps (for example nested
	// {{#each}} blocks over long lists that multiply out).
	ErrTooComplex = errors.New("template evaluation exceeds the step limit")
	// ErrTooDeep is wrapped by the RenderError returned when partials nest
	// more than MaxDepth deep (for example a partial that includes itself).
	ErrTooDeep = errors.New("template nesting exceeds the depth limit")
	// ErrDataTooLarge is wrapped by the DataError returned for template data
	// longer than MaxDataSize bytes.
	ErrDataTooLarge = errors.New("template data exceeds 262144 bytes")
)

// lineCol converts a byte offset in src into a 1-based line and a 1-based
// column counted in code points.
func lineCol(src string, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	line, col = 1, 1
	for _, r := range src[:off] {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
