package sestemplate

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
)

const testData = `{"name":"Jane","n":10,"price":1.50,"zero":0,"empty":"","yes":true,"no":false,"none":null,
"user":{"first":"Ann","address":{"city":"Kyoto"}},
"items":[{"sku":"a","qty":1},{"sku":"b","qty":2}],"tags":["x","y","z"],"nolist":[],
"prefs":{"b":"2","a":"1"},"html":"<b>\"Tom\" & 'Jerry'</b>","eq":"a=` + "`b`" + `","emptyobj":{},
"matrix":[[1,2],[3,4]],"first name":"F","elsewhere":"E","display-name":"DN",
"firstName":"Ann","lastName":"Lee","friends":[{"firstName":"Bo","lastName":"Li"},{"firstName":"Cy"}],
"subscription":[{"interest":"Sports"},{"interest":"Travel"}],"meta":{"userId":"518"},
"contact":{"firstName":"Anaya","lastName":"Iyengar"}}`

func mustData(t testing.TB, js string) *Object {
	t.Helper()
	d, err := DecodeData(js)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func render(t *testing.T, tpl string, data any, mode Mode) (string, error) {
	t.Helper()
	tm, err := Parse(tpl)
	if err != nil {
		return "", err
	}
	return tm.Execute(data, mode)
}

func TestExecute(t *testing.T) {
	d := mustData(t, testData)
	tests := []struct {
		name, tpl string
		mode      Mode
		want      string
	}{
		// Variables and paths.
		{"text", "Hello world", Plain, "Hello world"},
		{"empty", "", Plain, ""},
		{"var", "Hello {{name}}!", Plain, "Hello Jane!"},
		{"spaces in tag", "{{ name }}", Plain, "Jane"},
		{"numbers as written", "{{n}} {{price}} {{zero}}", Plain, "10 1.50 0"},
		{"booleans", "{{yes}}/{{no}}", Plain, "true/false"},
		{"nested", "{{user.first}} in {{user.address.city}}", Plain, "Ann in Kyoto"},
		{"slash separator", "{{user/address/city}}", Plain, "Kyoto"},
		{"missing member of present attribute", "[{{user.middle}}]", Plain, "[]"},
		{"null member", "[{{user.first.x}}]", Plain, "[]"},
		{"array index", "{{tags.1}} {{tags.[2]}} {{items.0.sku}} {{matrix.1.0}}", Plain, "y z a 3"},
		{"array index out of range", "[{{tags.9}}]", Plain, "[]"},
		{"length", "{{tags.length}} {{name.length}} {{nolist.length}}", Plain, "3 4 0"},
		{"array prints joined", "{{tags}}|{{matrix}}|{{nolist}}", Plain, "x,y,z|1,2,3,4|"},
		{"object prints like JavaScript", "{{user}}", Plain, "[object Object]"},
		{"this and dot", "{{this.name}} {{./name}}", Plain, "Jane Jane"},
		{"literal segment", "{{[first name]}}", Plain, "F"},
		{"string literal name", `{{"first name"}}`, Plain, "F"},
		{"root", "{{@root.name}} {{@root.user.first}}", Plain, "Jane Ann"},
		{"hyphenated name", "{{display-name}}", Plain, "DN"},
		{"else prefix is a name", "{{elsewhere}}", Plain, "E"},
		{"unicode", "こんにちは {{name}} さん", Plain, "こんにちは Jane さん"},
		{"data variable outside each", "[{{@index}}{{@key}}{{@first}}]", Plain, "[]"},
		{"stray braces", "a } b }} c {", Plain, "a } b }} c {"},

		// Escaping.
		{"html escaped", "{{html}}", HTML, "&lt;b&gt;&quot;Tom&quot; &amp; &#x27;Jerry&#x27;&lt;/b&gt;"},
		{"html escapes = and backquote", "{{eq}}", HTML, "a&#x3D;&#x60;b&#x60;"},
		{"triple stash raw", "{{{html}}}", HTML, `<b>"Tom" & 'Jerry'</b>`},
		{"ampersand raw", "{{& html}}", HTML, `<b>"Tom" & 'Jerry'</b>`},
		{"plain not escaped", "{{html}}", Plain, `<b>"Tom" & 'Jerry'</b>`},
		{"template text never escaped", "<a href=\"x?a=1&b=2\">{{name}}</a>", HTML, "<a href=\"x?a=1&b=2\">Jane</a>"},
		{"escaped in each", "{{#each tags}}<{{this}}>{{/each}}", HTML, "<x><y><z>"},

		// Backslash-escaped mustaches.
		{"escaped mustache", `\{{name}}`, Plain, "{{name}}"},
		{"escaped mustache then tag", `a\{{b}} c {{name}}`, Plain, "a{{b}} c Jane"},
		{"escaped backslash", `\\{{name}}`, Plain, `\Jane`},

		// Comments.
		{"comments", "a{{! note }}b{{!-- {{name}} --}}c", Plain, "abc"},
		{"long comment holds }}", "a{{!-- }} --}}b", Plain, "ab"},

		// if / unless / else.
		{"if true", "{{#if yes}}Y{{else}}N{{/if}}", Plain, "Y"},
		{"if false", "{{#if no}}Y{{else}}N{{/if}}", Plain, "N"},
		{"if missing is false", "{{#if ghost}}Y{{else}}N{{/if}}", Plain, "N"},
		{"if falsy values", "{{#if zero}}1{{/if}}{{#if empty}}2{{/if}}{{#if nolist}}3{{/if}}{{#if none}}4{{/if}}{{#if no}}5{{/if}}", Plain, ""},
		{"if truthy values", "{{#if user}}o{{/if}}{{#if emptyobj}}e{{/if}}{{#if tags}}t{{/if}}{{#if n}}n{{/if}}{{#if name}}s{{/if}}", Plain, "oetns"},
		{"if includeZero", "{{#if zero includeZero=true}}Z{{/if}}", Plain, "Z"},
		{"if nested path", "{{#if user.address.city}}C{{/if}}{{#if user.ghost.city}}G{{/if}}", Plain, "C"},
		{"else caret", "{{#if no}}Y{{^}}N{{/if}}", Plain, "N"},
		{"else chain", "{{#if no}}A{{else if yes}}B{{else}}C{{/if}}", Plain, "B"},
		{"else chain last", "{{#if no}}A{{else if none}}B{{else if ghost}}C{{else}}D{{/if}}", Plain, "D"},
		{"else chain each", "{{#if no}}A{{else each tags}}{{this}}{{/if}}", Plain, "xyz"},
		{"unless", "{{#unless no}}shown{{/unless}}{{#unless yes}}hidden{{else}}else{{/unless}}", Plain, "shownelse"},
		{"inverted if", "{{^if no}}inv{{/if}}", Plain, "inv"},
		{"if keeps context", "{{#if user}}{{name}}{{/if}}", Plain, "Jane"},

		// each.
		{"each list", "{{#each items}}{{sku}}x{{qty}}{{#unless @last}}, {{/unless}}{{/each}}", Plain, "ax1, bx2"},
		{"each this and index", "{{#each tags}}{{@index}}={{this}};{{/each}}", Plain, "0=x;1=y;2=z;"},
		{"each key of list is index", "{{#each tags}}{{@key}}{{/each}}", Plain, "012"},
		{"each dot and first", "{{#each tags}}{{#if @first}}[{{/if}}{{.}}{{/each}}]", Plain, "[xyz]"},
		{"each first last", "{{#each items}}{{#if @first}}F{{/if}}{{#if @last}}L{{/if}}{{/each}}", Plain, "FL"},
		{"each object in document order", "{{#each prefs}}{{@key}}:{{this}}@{{@index}} {{/each}}", Plain, "b:2@0 a:1@1 "},
		{"each empty list else", "{{#each nolist}}x{{else}}none{{/each}}", Plain, "none"},
		{"each missing else", "{{#each ghost}}x{{else}}none{{/each}}", Plain, "none"},
		{"each empty object", "{{#each emptyobj}}x{{else}}none{{/each}}", Plain, "none"},
		{"each string is not a list", "{{#each name}}x{{else}}no{{/each}}", Plain, "no"},
		{"each parent context", "{{#each tags}}{{../name}}{{this}} {{/each}}", Plain, "Janex Janey Janez "},
		{"each nested with parent index", "{{#each matrix}}{{#each this}}{{@../index}}.{{@index}}={{this}} {{/each}}{{/each}}", Plain, "0.0=1 0.1=2 1.0=3 1.1=4 "},
		{"each block params", "{{#each tags as |t i|}}{{i}}:{{t}} {{/each}}", Plain, "0:x 1:y 2:z "},
		{"each object block params", "{{#each prefs as |v k|}}{{k}}={{v}};{{/each}}", Plain, "b=2;a=1;"},
		{"each block params nested", "{{#each items as |it|}}{{#each ../tags as |t|}}{{it.sku}}{{t}}{{/each}} {{/each}}", Plain, "axayaz bxbybz "},
		{"each missing member is empty", "{{#each friends}}[{{lastName}}]{{/each}}", Plain, "[Li][]"},
		{"each over object members", "{{#each user}}{{@key}};{{/each}}", Plain, "first;address;"},
		{"each this.member", "{{#each items}}{{this.sku}}{{/each}}", Plain, "ab"},

		// with.
		{"with", "{{#with user.address}}{{city}}{{/with}}", Plain, "Kyoto"},
		{"with parent", "{{#with user}}{{first}} {{../name}}{{/with}}", Plain, "Ann Jane"},
		{"with missing else", "{{#with ghost}}x{{else}}none{{/with}}", Plain, "none"},
		{"with block param", "{{#with user as |u|}}{{u.first}}{{/with}}", Plain, "Ann"},
		{"with zero is not empty", "{{#with zero}}[{{this}}]{{else}}E{{/with}}", Plain, "[0]"},
		{"with member missing is empty", "{{#with user}}[{{ghost}}]{{/with}}", Plain, "[]"},

		// Mustache sections.
		{"section object", "{{#user}}{{first}}{{/user}}", Plain, "Ann"},
		{"section list", "{{#tags}}{{.}}{{/tags}}", Plain, "xyz"},
		{"section true", "{{#yes}}T{{/yes}}", Plain, "T"},
		{"section false else", "{{#no}}T{{else}}F{{/no}}", Plain, "F"},
		{"inverted section", "{{^no}}N{{/no}}{{^nolist}}E{{/nolist}}{{^yes}}Y{{/yes}}", Plain, "NE"},
		{"section missing", "[{{#ghost}}x{{/ghost}}]", Plain, "[]"},

		// lookup and log.
		{"lookup index", "{{lookup tags 1}}", Plain, "y"},
		{"lookup member", `{{lookup user "first"}}`, Plain, "Ann"},
		{"lookup by variable", "{{#each tags}}{{lookup ../tags @index}}{{/each}}", Plain, "xyz"},
		{"lookup subexpression", `{{#with (lookup user "address")}}{{city}}{{/with}}`, Plain, "Kyoto"},
		{"lookup missing", `[{{lookup ghost "x"}}{{lookup user "ghost"}}]`, Plain, "[]"},
		{"log prints nothing", "[{{log name}}]", Plain, "[]"},

		// Whitespace control.
		{"tilde", "a  {{~name~}}  b", Plain, "aJaneb"},
		{"tilde in blocks", "{{#each tags~}}  {{.}}  {{~/each}}", Plain, "xyz"},
		{"tilde around block", "x {{~#if yes~}} y {{~/if~}} z", Plain, "xyz"},
		{"tilde triple", " {{~{name}~}} ", Plain, "Jane"},
		{"tilde else", "{{#if no}} a {{~else~}} b {{/if}}", Plain, "b "},
		{"tilde comment", "a {{~! c ~}} b", Plain, "ab"},
		{"tilde newlines", "a\n\n  {{~name}}", Plain, "aJane"},

		// Standalone lines.
		{"standalone each", "{{#each tags}}\n- {{this}}\n{{/each}}\n", Plain, "- x\n- y\n- z\n"},
		{"standalone indented", "<ul>\n  {{#each tags}}\n  <li>{{.}}</li>\n  {{/each}}\n</ul>", Plain, "<ul>\n  <li>x</li>\n  <li>y</li>\n  <li>z</li>\n</ul>"},
		{"standalone else", "{{#if yes}}\nA\n{{else}}\nB\n{{/if}}\n", Plain, "A\n"},
		{"standalone else taken", "{{#if no}}\nA\n{{else}}\nB\n{{/if}}\n", Plain, "B\n"},
		{"standalone else chain", "{{#if no}}\nA\n{{else if yes}}\nB\n{{/if}}\n", Plain, "B\n"},
		{"standalone comment", "a\n{{! comment }}\nb", Plain, "a\nb"},
		{"standalone crlf", "a\r\n{{#if yes}}\r\nb\r\n{{/if}}\r\nc", Plain, "a\r\nb\r\nc"},
		{"not standalone with text", "a {{#if yes}}\nb{{/if}} c", Plain, "a \nb c"},
		{"standalone at start and end", "  {{#if yes}}\nin\n  {{/if}}  ", Plain, "in\n"},

		// Inline partials (SES's "Creating inline partials").
		{"inline partial", `{{#* inline "fullName"}}{{firstName}}{{#if lastName}} {{lastName}}{{/if}}{{/inline}}` + "\n<h1>Hello {{> fullName}}!</h1>", Plain, "<h1>Hello Ann Lee!</h1>"},
		{"inline partial in each", `{{#* inline "fullName"}}{{firstName}}{{#if lastName}} {{lastName}}{{/if}}{{/inline~}}` + "\n<ul>{{#each friends}}<li>{{> fullName}}</li>{{/each}}</ul>", Plain, "<ul><li>Bo Li</li><li>Cy</li></ul>"},
		{"inline partial used before definition", `{{> p}}{{#* inline "p"}}P{{/inline}}`, Plain, "P"},
		{"inline partial redefined", `{{#* inline "p"}}1{{/inline}}{{#* inline "p"}}2{{/inline}}{{> p}}`, Plain, "2"},
		{"inline partial scoped to block", `{{#if yes}}{{#* inline "p"}}in{{/inline}}{{> p}}{{/if}}{{#* inline "p"}}out{{/inline}}{{> p}}`, Plain, "inout"},
		{"partial context and hash", `{{#* inline "p"}}{{first}}-{{x}}{{/inline}}{{> p user x=name}}`, Plain, "Ann-Jane"},
		{"partial hash only", `{{#* inline "p"}}{{name}}/{{x}}{{/inline}}{{> p x=1}}`, Plain, "Jane/1"},
		{"partial quoted name", `{{#* inline "my partial"}}M{{/inline}}{{> "my partial"}}`, Plain, "M"},
		{"standalone partial indents", "{{#* inline \"item\"}}\n<li>{{this}}</li>\n{{/inline}}\n<ul>\n  {{#each tags}}\n    {{> item}}\n  {{/each}}\n</ul>\n", Plain, "<ul>\n    <li>x</li>\n    <li>y</li>\n    <li>z</li>\n</ul>\n"},
		{"partial block fallback", "{{#> nope}}fallback {{name}}{{/nope}}", Plain, "fallback Jane"},
		{"partial block", `{{#* inline "layout"}}<b>{{> @partial-block}}</b>{{/inline}}{{#> layout}}{{name}}{{/layout}}`, Plain, "<b>Jane</b>"},
		{"partial escapes in html", `{{#* inline "p"}}{{html}}{{/inline}}{{> p}}`, HTML, "&lt;b&gt;&quot;Tom&quot; &amp; &#x27;Jerry&#x27;&lt;/b&gt;"},

		// The SES developer guide's examples.
		{"ses nested", "Hello {{contact.firstName}}!", Plain, "Hello Anaya!"},
		{"ses each", "<ul>{{#each subscription}}<li>{{interest}}</li>{{/each}}</ul><a href=https://www.example.com/i.aspx?id={{meta.userId}}>", HTML, "<ul><li>Sports</li><li>Travel</li></ul><a href=https://www.example.com/i.aspx?id=518>"},
		{"ses conditional", "{{#if subscription}}yes{{else}}no{{/if}} {{#if nolist}}yes{{else}}no{{/if}}", Plain, "yes no"},
	}
	for _, tc := range tests {
		got, err := render(t, tc.tpl, d, tc.mode)
		if err != nil || got != tc.want {
			t.Errorf("%s: %q\n got %q, %v\nwant %q", tc.name, tc.tpl, got, err, tc.want)
		}
	}
}

func TestGoValues(t *testing.T) {
	data := map[string]any{
		"m":     map[string]any{"b": 1, "a": 2, "c": 3},
		"f":     1.5,
		"whole": 100.0,
		"big":   1e21,
		"small": 1e-7,
		"neg":   -0.25,
		"i":     42,
		"strs":  []string{"p", "q"},
		"ms":    map[string]string{"y": "1", "x": "2"},
		"nan":   json.Number("1.0"),
	}
	tests := []struct{ tpl, want string }{
		{"{{#each m}}{{@key}}{{this}} {{/each}}", "a2 b1 c3 "},
		{"{{f}} {{whole}} {{big}} {{small}} {{neg}} {{i}} {{nan}}", "1.5 100 1e+21 1e-7 -0.25 42 1.0"},
		{"{{#each strs}}{{this}}{{/each}} {{strs.length}} {{strs}}", "pq 2 p,q"},
		{"{{#each ms}}{{@key}}={{this}};{{/each}}", "x=2;y=1;"},
		{"{{#if nan}}t{{/if}}", "t"},
	}
	for _, tc := range tests {
		got, err := render(t, tc.tpl, data, Plain)
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.tpl, got, err, tc.want)
		}
	}
}

func TestMissingAttribute(t *testing.T) {
	d := mustData(t, testData)
	tests := []struct{ tpl, missing string }{
		{"Hello {{ghost}}", "ghost"},
		{"{{none}}", "none"},                     // null counts as missing
		{"{{ghost.x}}", "ghost.x"},               // named as written
		{"{{none.x}}", "none.x"},                 // null parent
		{"{{Name}}", "Name"},                     // case-sensitive
		{"{{{ghost}}}", "ghost"},                 // raw too
		{"{{#if yes}}{{ghost}}{{/if}}", "ghost"}, // #if keeps the top-level context
		{"{{#each tags}}{{../ghost}}{{/each}}", "../ghost"},
		{"{{#each tags}}{{@root.ghost}}{{/each}}", "@root.ghost"},
		{"{{this.ghost}}", "this.ghost"},
		{"{{#IF name}}x{{/IF}}", "IF"}, // seen from SES for an upper-cased helper
		{"{{foo name}}", "foo"},
		{`{{#* inline "p"}}{{ghost}}{{/inline}}{{> p}}`, "ghost"},
		{`{{#with (foo)}}{{/with}}`, "foo"},
	}
	for _, tc := range tests {
		_, err := render(t, tc.tpl, d, Plain)
		var me *MissingAttributeError
		if !errors.As(err, &me) || me.Name != tc.missing {
			t.Errorf("%q: err = %v; want missing %q", tc.tpl, err, tc.missing)
		}
	}
	// Contexts where a missing name is not a failure.
	for _, tpl := range []string{
		"{{#if ghost}}x{{/if}}", "{{#unless ghost}}x{{/unless}}", "{{#each ghost}}x{{/each}}",
		"{{#with ghost}}x{{/with}}", "{{#ghost}}x{{/ghost}}", "{{#each items}}{{ghost}}{{/each}}",
		"{{#with user}}{{ghost}}{{/with}}", "{{user.ghost}}", "{{lookup ghost 1}}", "{{@index}}",
		`{{#* inline "p"}}{{ghost}}{{/inline}}{{> p user}}`, "{{#each tags as |t|}}{{t.ghost}}{{/each}}",
	} {
		if _, err := render(t, tpl, d, Plain); err != nil {
			t.Errorf("%q: unexpected %v", tpl, err)
		}
	}
	// SES's exact message, from RenderParts, in part order.
	_, err := RenderParts("Hello, {{name}}!", "Dear {{name}}, your favorite color is {{favoritecolor}}.", "{{other}}", `{"name":"Jane","favoritenumber":"10"}`)
	if err == nil || err.Error() != "Attribute 'favoritecolor' is not present in the rendering data." {
		t.Errorf("RenderParts: %v", err)
	}
	// A name used with arguments that exists but is not a helper.
	_, err = render(t, "{{name name}}", d, Plain)
	var re *RenderError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "not a helper") {
		t.Errorf("non-helper call: %v", err)
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		tpl       string
		line, col int
		want      string
	}{
		{"{{name", 1, 1, "unclosed tag"},
		{"ok\n  {{#if a}}x", 2, 3, "unclosed block {{#if}}"},
		{"{{#each a}}x{{/if}}", 1, 13, "{{/if}} does not match {{#each}}"},
		{"{{/if}}", 1, 1, "never opened"},
		{"a {{else}}", 1, 3, "outside a block"},
		{"{{#if a}}1{{else}}2{{else}}3{{/if}}", 1, 20, "a second {{else}}"},
		{"{{{raw}}", 1, 7, "expected }}}"},
		{"{{!-- open", 1, 1, "unclosed comment"},
		{"{{! open", 1, 1, "unclosed comment"},
		{"{{#if}}x{{/if}}", 1, 1, "exactly one argument"},
		{"{{#if a b}}x{{/if}}", 1, 1, "exactly one argument"},
		{"{{#each}}x{{/each}}", 1, 1, "requires an argument"},
		{"{{if a}}", 1, 1, "must be used as a block"},
		{"{{#lookup a b}}{{/lookup}}", 1, 1, "cannot be used as a block"},
		{"{{lookup a}}", 1, 1, "exactly two arguments"},
		{"{{foo/../bar}}", 1, 3, "invalid path"},
		{"{{a b=}}", 1, 5, "missing value"},
		{"{{foo (bar}}", 1, 7, "unclosed subexpression"},
		{`{{"open}}`, 1, 3, "unterminated string"},
		{"{{a}b}}", 1, 4, "unexpected character '}'"},
		{"{{a\"b}}", 1, 4, "after identifier"},
		{"{{}}", 1, 1, "empty tag"},
		{"{{#* foo}}x{{/foo}}", 1, 1, "only {{#* inline"},
		{"{{*foo}}", 1, 1, "not supported"},
		{"{{{{raw}}}}x{{{{/raw}}}}", 1, 1, "raw blocks"},
		{"{{> (dyn)}}", 1, 5, "dynamic partial"},
		{"{{#> p}}a{{else}}b{{/p}}", 1, 10, "not allowed"},
		{"{{#if a}}x{{else if b}}y", 1, 1, "unclosed block {{#if}}"},
		{"{{#if a}}x{{else if b}}y{{/each}}", 1, 25, "{{/each}} does not match {{#if}}"},
		{"{{^x}}a{{else if y}}b{{/x}}", 1, 8, "not allowed in an inverted section"},
		{"{{#each a as |x}}{{/each}}", 1, 1, "malformed block parameters"},
		{"{{a as |x|}}", 1, 5, "only allowed on blocks"},
		{"é{{#if a}}", 1, 2, "unclosed block"},
		{"{{#* inline p}}x{{/inline}}", 1, 1, "quoted partial name"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.tpl)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(se.Msg, tc.want) || se.Line != tc.line || se.Col != tc.col {
			t.Errorf("Parse(%q) = %v; want %d:%d %q", tc.tpl, err, tc.line, tc.col, tc.want)
		}
	}
	deep := strings.Repeat("{{#if a}}", MaxDepth) + strings.Repeat("{{/if}}", MaxDepth)
	if _, err := Parse(deep); err != nil {
		t.Errorf("%d nested blocks: %v", MaxDepth, err)
	}
	_, err := Parse("{{#if a}}" + deep + "{{/if}}")
	var se *SyntaxError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "nested more than") {
		t.Errorf("deep nesting: %v", err)
	}
	if _, err := Parse("{{a " + strings.Repeat("(lookup ", 70) + strings.Repeat(")", 70) + "}}"); err == nil {
		t.Error("deep subexpressions accepted")
	}
	// RenderParts says which part.
	_, err = RenderParts("ok", "{{#if}}", "", "{}")
	if !errors.As(err, &se) || se.Part != "text" || !strings.Contains(err.Error(), "text part") {
		t.Errorf("RenderParts part: %v", err)
	}
}

func TestRenderErrors(t *testing.T) {
	d := mustData(t, testData)
	_, err := render(t, "\n {{> nope}}", d, Plain)
	var re *RenderError
	if !errors.As(err, &re) || re.Line != 2 || re.Col != 2 || !strings.Contains(re.Msg, "nope could not be found") {
		t.Errorf("missing partial: %v", err)
	}
	_, err = render(t, `{{#* inline "r"}}x{{> r}}{{/inline}}{{> r}}`, d, Plain)
	if !errors.Is(err, ErrTooDeep) {
		t.Errorf("recursive partial: %v", err)
	}
	// Nested loops that multiply out stop at the step limit.
	tm, err := Parse(strings.Repeat("{{#each @root.tags}}", 20) + "x" + strings.Repeat("{{/each}}", 20))
	if err != nil {
		t.Fatal(err)
	}
	lists := map[string]any{"tags": []any{1, 2, 3}}
	_, err = tm.execute(lists, Plain, limits{steps: 100000, output: MaxOutputSize, depth: MaxDepth})
	if !errors.Is(err, ErrTooComplex) {
		t.Errorf("step limit: %v", err)
	}
	tm, _ = Parse("{{#each tags}}{{#each ../tags}}{{../../big}}{{/each}}{{/each}}")
	big := map[string]any{"tags": []any{1, 2, 3, 4}, "big": strings.Repeat("a", 100)}
	_, err = tm.execute(big, HTML, limits{steps: MaxSteps, output: 1000, depth: MaxDepth})
	if !errors.Is(err, ErrOutputTooLarge) {
		t.Errorf("output limit: %v", err)
	}
	if got, err := tm.execute(big, HTML, limits{steps: MaxSteps, output: 1600, depth: MaxDepth}); err != nil || len(got) != 1600 {
		t.Errorf("output at the limit: %d, %v", len(got), err)
	}
}

func TestRenderParts(t *testing.T) {
	deep := `{"a":` + strings.Repeat("[", 1001) + strings.Repeat("]", 1001) + "}"
	for _, bad := range []string{"", "[1]", "{", `"s"`, "null", "{} {}", `{"a":}`, `{"a" 1}`, "[1,]", deep, "{" + strings.Repeat(" ", MaxDataSize) + "}"} {
		_, err := RenderParts("x", "", "", bad)
		var de *DataError
		if !errors.As(err, &de) {
			t.Errorf("TemplateData %.20q: %v", bad, err)
		}
	}
	if _, err := RenderParts("x", "", "", "{"+strings.Repeat(" ", MaxDataSize)+"}"); !errors.Is(err, ErrDataTooLarge) {
		t.Errorf("large data: %v", err)
	}
	if _, err := RenderParts("x", "", "", "{"+strings.Repeat(" ", MaxDataSize-2)+"}"); err != nil {
		t.Errorf("data at the limit: %v", err)
	}
	// SES does not escape the HTML part.
	r, err := RenderParts("Hi {{name}}", "T {{name}}", "<p>{{name}}</p>", `{"name":"<A & B>"}`)
	if err != nil || r != (Rendered{Subject: "Hi <A & B>", Text: "T <A & B>", HTML: "<p><A & B></p>"}) {
		t.Errorf("RenderParts = %+v, %v", r, err)
	}
	d := mustData(t, `{"name":"<A & B>"}`)
	r, err = RenderPartsData("{{name}}", "{{name}}", "<p>{{name}}</p>", d, HTML)
	if err != nil || r != (Rendered{Subject: "<A & B>", Text: "<A & B>", HTML: "<p>&lt;A &amp; B&gt;</p>"}) {
		t.Errorf("RenderPartsData = %+v, %v", r, err)
	}
	r, err = RenderParts("", "", "", `{}`)
	if err != nil || r != (Rendered{}) {
		t.Errorf("empty parts = %+v, %v", r, err)
	}
	// Repeated keys: the last value, at the first position.
	r, err = RenderParts("{{#each this}}{{@key}}{{this}}{{/each}}", "", "", `{"a":1,"b":2,"a":3}`)
	if err != nil || r.Subject != "a3b2" {
		t.Errorf("repeated keys = %q, %v", r.Subject, err)
	}
}

func TestMergeData(t *testing.T) {
	def := mustData(t, `{"name":"friend","color":"unknown","addr":{"city":"X","zip":"1"},"list":[1,2]}`)
	repl := mustData(t, `{"color":"red","addr":{"city":"Y"},"list":[3],"extra":true}`)
	m := MergeData(def, repl)
	b, err := json.Marshal(m)
	want := `{"name":"friend","color":"red","addr":{"city":"Y","zip":"1"},"list":[3],"extra":true}`
	if err != nil || string(b) != want {
		t.Errorf("MergeData = %s, %v; want %s", b, err, want)
	}
	if b, _ := json.Marshal(def); string(b) != `{"name":"friend","color":"unknown","addr":{"city":"X","zip":"1"},"list":[1,2]}` {
		t.Errorf("defaults modified: %s", b)
	}
	if b, _ := json.Marshal(MergeData(nil, repl)); string(b) != `{"color":"red","addr":{"city":"Y"},"list":[3],"extra":true}` {
		t.Errorf("nil defaults: %s", b)
	}
	if b, _ := json.Marshal(MergeData(def, mustData(t, "{}"))); string(b) != `{"name":"friend","color":"unknown","addr":{"city":"X","zip":"1"},"list":[1,2]}` {
		t.Errorf("empty replacement: %s", b)
	}
	if v, ok := m.Get("color"); !ok || v != "red" {
		t.Errorf("Get = %v, %v", v, ok)
	}
}

func TestConcurrentExecute(t *testing.T) {
	tm, err := Parse(`{{#* inline "p"}}{{first}}{{/inline}}{{#each items}}{{sku}}{{/each}}{{#with user}}{{> p}}{{/with}}`)
	if err != nil {
		t.Fatal(err)
	}
	d := mustData(t, testData)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if got, err := tm.Execute(d, HTML); err != nil || got != "abAnn" {
					t.Errorf("got %q, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
