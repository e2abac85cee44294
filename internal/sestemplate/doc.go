// Package sestemplate renders Amazon SES email templates: the subject, text
// and HTML parts of a template with a recipient's TemplateData, the way SES
// renders them with Handlebars.
//
// It is a hand-written lexer, parser (to an AST, then Handlebars's
// whitespace-control pass) and evaluator, using only the standard library.
// Parsing and rendering are deterministic and bounded: blocks and
// subexpressions nest at most MaxDepth deep, partial calls too, one
// rendered part is at most MaxOutputSize bytes and one Execute call at most
// MaxSteps evaluation steps.
//
// # Supported Handlebars
//
// The language is Handlebars 4 with its built-in helpers, which is what SES
// documents and links to:
//
//   - {{name}}, paths {{a.b.c}} and {{a/b}}, {{this}}, {{.}}, {{this.a}},
//     {{./a}}, {{../a}}, {{[odd name]}}, array elements {{list.[0]}} or
//     {{list.0}}, {{list.length}}, {{@root.a}}
//   - {{{raw}}} and {{&raw}} (never escaped) against {{escaped}}
//   - {{! comment }} and {{!-- comment with }} --}}
//   - {{#if x}}…{{else}}…{{/if}} (with includeZero=true), {{#unless}},
//     {{else if y}} chains, {{^}} for {{else}}, {{^if x}} inverted blocks
//   - {{#each list}} and {{#each object}} with {{@index}}, {{@key}},
//     {{@first}}, {{@last}}, {{@../index}}, {{else}} for an empty list, and
//     block parameters {{#each list as |item i|}}
//   - {{#with obj}} (with {{else}} and as |o|)
//   - {{lookup obj key}}, also as a subexpression (lookup obj key), and
//     {{log …}}, which prints nothing
//   - Mustache sections {{#name}}…{{/name}} and {{^name}}…{{/name}}
//   - inline partials {{#* inline "name"}}…{{/inline}} called with
//     {{> name}}, {{> name context}}, {{> name key=value}}, partial blocks
//     {{#> name}}fallback{{/name}} and {{> @partial-block}}
//   - whitespace control {{~x~}}, standalone block/comment/partial lines
//     removed, standalone partials indented
//   - \{{literal}} escapes a tag
//
// Not supported, and reported as a *SyntaxError: raw blocks {{{{raw}}}},
// decorators other than inline, dynamic partials {{> (name)}}, block
// parameters outside blocks. SES has no custom helpers; a name called with
// arguments that is not a built-in helper fails when rendered.
//
// In HTML mode {{x}} escapes & < > " ' ` = as Handlebars does; Plain mode
// escapes nothing. Values print as JavaScript would: null and missing as
// "", true/false, arrays joined with commas, objects as [object Object];
// JSON numbers print exactly as written in the template data ("1.50" stays
// 1.50), Go floats as JavaScript numbers. {{#if}} is false for false,
// null, missing, "", 0, NaN and empty arrays; an empty object is true.
// {{#each}} visits *Object members in document order and Go maps in sorted
// key order.
//
// # SES behaviour: verified
//
//   - SES templates are Handlebars with nested attributes, {{#each}},
//     {{#if}}/{{else}} and inline partials; inline partials are not shared
//     between parts; Handlebars's built-in helpers apply. (SES Developer
//     Guide, "Advanced email personalization".)
//   - "SES doesn't escape HTML content when rendering the HTML template for
//     a message": RenderParts therefore renders the HTML part in Plain mode.
//     (Same page.)
//   - The newline after an inline partial's {{/inline}} "isn't rendered in
//     the final output"; Handlebars itself keeps it unless the tags stand
//     alone on their lines, so this package drops it. (Same page.)
//   - A variable the template uses but the data lacks is a rendering
//     failure; extra data is ignored; names are case-sensitive. (AWS
//     Knowledge Center, "Why are emails failing to deliver when I send
//     Amazon SES emails using the SendTemplatedEmail operation?")
//   - The failure message is "Attribute 'attributeName' is not present in
//     the rendering data." (SES Developer Guide, "Examples of event data
//     that Amazon SES publishes to Amazon SNS", Rendering Failure record);
//     MissingAttributeError.Error returns exactly that.
//   - TemplateData is at most 262,144 bytes (SES quotas; MaxDataSize).
//
// Reported by third parties, not by AWS documentation:
//
//   - Inside {{#each}}, names resolve against the item: a template like
//     {{#each items}}{{name}} is {{#if best}}the best{{else}}a
//     {{type}}{{/if}}{{/each}} renders per item (moto's test
//     test_render_template__advanced, marked as verified against AWS).
//   - {{#IF firstName}} (an upper-cased helper) failed with "Attribute 'IF'
//     is not present in the rendering data." (a public react-email
//     pipeline's regression test), so an unknown helper is a missing
//     attribute.
//   - A variable whose value is null fails like a missing one
//     (aws/aws-sdk-js issue #2239).
//   - SendBulkEmail merges each destination's replacement data over the
//     default data member by member, objects recursively, arrays replaced
//     (domdomegg/aws-ses-v2-local issue #102, pull request #103); see
//     MergeData.
//
// # Assumptions (not verified against SES)
//
//   - Which references fail: only a name printed with {{x}}, {{{x}}} or
//     {{&x}} from the root data object (outside {{#each}}/{{#with}}/partial
//     contexts, or via ../ or @root) whose first name is missing or null.
//     A missing deeper member ({{user.middle}} when user exists), anything
//     printed inside an {{#each}} item, {{#with}} or partial context, and
//     every helper argument ({{#if x}}, {{#each x}}, {{#with x}},
//     {{lookup x y}}) are lenient: false, empty or "". The error names the
//     path as written, e.g. "contact.firstName".
//   - The rest follows Handlebars.js 4: truthiness, sections, standalone
//     lines, ~ stripping, escaping, partial scoping. SES may run another
//     Handlebars implementation; these details could differ.
//   - Numbers print as written in the JSON, not re-formatted.
//   - {{#each}} over an object keeps document order (Handlebars.js would
//     put integer-like keys first).
//   - Lenient where Handlebars.js would reject: {{elsewhere}} is a name,
//     not {{else where}}; {{items.0}} and {{matrix.1.0}} index arrays;
//     "}}}" after {{x}} closes the tag and leaves "}".
//   - RenderParts parses all parts first, then renders subject, text and
//     html in that order, reporting the first failure.
package sestemplate
