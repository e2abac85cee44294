package sestemplate

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

const data = `{"name":"Jane","n":10,"price":1.50,"zero":0,"empty":"","yes":true,"no":false,"none":null,
"user":{"first":"Ann","address":{"city":"Kyoto"}},
"items":[{"sku":"a","qty":1},{"sku":"b","qty":2}],"tags":["x","y","z"],"nolist":[],
"prefs":{"b":"2","a":"1"},"html":"<b>\"Tom\" & 'Jerry'</b>"}`

func TestExecute(t *testing.T) {
	tests := []struct {
		name, tpl string
		mode      Mode
		want      string
	}{
		{"text", "Hello world", Plain, "Hello world"},
		{"var", "Hello {{name}}!", Plain, "Hello Jane!"},
		{"spaces in tag", "{{ name }}", Plain, "Jane"},
		{"number as written", "{{n}} {{price}} {{zero}}", Plain, "10 1.50 0"},
		{"bool and null", "{{yes}}/{{no}}/{{none}}", Plain, "true/false/"},
		{"nested", "{{user.first}} in {{user.address.city}}", Plain, "Ann in Kyoto"},
		{"missing nested is empty", "[{{user.middle}}]", Plain, "[]"},
		{"array index", "{{tags.1}}", Plain, "y"},
		{"if true", "{{#if yes}}Y{{else}}N{{/if}}", Plain, "Y"},
		{"if false", "{{#if no}}Y{{else}}N{{/if}}", Plain, "N"},
		{"if missing is false", "{{#if ghost}}Y{{else}}N{{/if}}", Plain, "N"},
		{"if falsy values", "{{#if zero}}1{{/if}}{{#if empty}}2{{/if}}{{#if nolist}}3{{/if}}{{#if none}}4{{/if}}", Plain, ""},
		{"if truthy object", "{{#if user}}obj{{/if}}", Plain, "obj"},
		{"unless", "{{#unless no}}shown{{/unless}}", Plain, "shown"},
		{"each list", "{{#each items}}{{sku}}x{{qty}}{{#unless @last}}, {{/unless}}{{/each}}", Plain, "ax1, bx2"},
		{"each this and index", "{{#each tags}}{{@index}}={{this}};{{/each}}", Plain, "0=x;1=y;2=z;"},
		{"each dot and first", "{{#each tags}}{{#if @first}}[{{/if}}{{.}}{{/each}}]", Plain, "[xyz]"},
		{"each object sorted keys", "{{#each prefs}}{{@key}}:{{this}} {{/each}}", Plain, "a:1 b:2 "},
		{"each empty else", "{{#each nolist}}x{{else}}none{{/each}}", Plain, "none"},
		{"parent context", "{{#each tags}}{{../name}}{{this}} {{/each}}", Plain, "Janex Janey Janez "},
		{"with", "{{#with user.address}}{{city}}{{/with}}", Plain, "Kyoto"},
		{"comment", "a{{! note }}b{{!-- {{name}} --}}c", Plain, "abc"},
		{"whitespace control", "a  {{~name~}}  b", Plain, "aJaneb"},
		{"html escaped", "{{html}}", HTML, "&lt;b&gt;&quot;Tom&quot; &amp; &#x27;Jerry&#x27;&lt;/b&gt;"},
		{"html raw", "{{{html}}}", HTML, `<b>"Tom" & 'Jerry'</b>`},
		{"plain not escaped", "{{html}}", Plain, `<b>"Tom" & 'Jerry'</b>`},
		{"unicode", "こんにちは {{name}} さん", Plain, "こんにちは Jane さん"},
	}
	d, err := DecodeData(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		tpl, err := Parse(tc.tpl)
		if err != nil {
			t.Errorf("%s: parse: %v", tc.name, err)
			continue
		}
		got, err := tpl.Execute(d, tc.mode)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestMissingAttribute(t *testing.T) {
	_, err := RenderParts("Hello, {{name}}!", "Dear {{name}}, your favorite color is {{favoritecolor}}.", "", `{"name":"Jane","favoritenumber":"10"}`)
	var me *MissingAttributeError
	if !errors.As(err, &me) || me.Name != "favoritecolor" || err.Error() != "Attribute 'favoritecolor' is not present in the rendering data." {
		t.Fatalf("err = %v", err)
	}
	// Variables are case-sensitive.
	if _, err := RenderParts("{{Name}}", "", "", `{"name":"x"}`); !errors.As(err, &me) {
		t.Errorf("case-insensitive lookup: %v", err)
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct{ tpl, want string }{
		{"{{name", "1:1: unclosed {{"},
		{"ok\n  {{#if a}}x", "2:3: {{#if}} is never closed"},
		{"{{#each a}}x{{/if}}", "{{/if}} does not close {{#each}}"},
		{"{{/if}}", "does not close"},
		{"{{else}}", "outside a block"},
		{"{{#loop a}}{{/loop}}", "unsupported block"},
		{"{{> partial}}", "unsupported expression"},
		{"{{a b}}", "unsupported expression"},
		{"{{{raw}}", "unclosed {{{"},
		{"{{!-- open", "unclosed comment"},
		{"{{#if a}}1{{else}}2{{else}}3{{/if}}", "two {{else}}"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.tpl)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v; want %q", tc.tpl, err, tc.want)
		}
	}
	if _, err := Parse(strings.Repeat("{{#if a}}", MaxDepth+2)); err == nil || !strings.Contains(err.Error(), "deeply") {
		t.Errorf("deep nesting: %v", err)
	}
}

func TestRenderPartsData(t *testing.T) {
	for _, bad := range []string{"", "[1]", "{", `"s"`, "{" + strings.Repeat(" ", MaxTemplateData) + "}"} {
		if _, err := RenderParts("x", "", "", bad); err == nil {
			t.Errorf("TemplateData %.20q accepted", bad)
		}
	}
	r, err := RenderParts("Hi {{name}}", "T {{name}}", "<p>{{name}}</p>", `{"name":"<A>"}`)
	if err != nil || r.Subject != "Hi <A>" || r.Text != "T <A>" || r.HTML != "<p>&lt;A&gt;</p>" {
		t.Errorf("RenderParts = %+v, %v", r, err)
	}
}

func ExampleRenderParts() {
	r, _ := RenderParts("Hello, {{name}}!", "", "<h1>{{#each items}}{{this}} {{/each}}</h1>", `{"name":"Jane","items":["a","b"]}`)
	fmt.Println(r.Subject)
	fmt.Println(r.HTML)
	// Output:
	// Hello, Jane!
	// <h1>a b </h1>
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"{{name}}", "{{#each items}}{{sku}}{{/each}}", "{{#if a}}x{{else}}y{{/if}}", "{{{raw}}}", "{{!-- c --}}", "{{~a~}}"} {
		f.Add(s)
	}
	d, _ := DecodeData(data)
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := Parse(src)
		if err != nil {
			return
		}
		tpl.Execute(d, HTML)
		tpl.Execute(d, Plain)
	})
}

func FuzzExecuteData(f *testing.F) {
	f.Add(data)
	f.Add(`{"items":[[[[]]]],"name":{"a":null}}`)
	tpl, _ := Parse("{{name}}{{#each items}}{{this}}{{#each this}}{{.}}{{/each}}{{/each}}{{#with user}}{{first}}{{/with}}")
	f.Fuzz(func(t *testing.T, js string) {
		d, err := DecodeData(js)
		if err != nil {
			return
		}
		tpl.Execute(d, HTML)
	})
}

func BenchmarkExecute(b *testing.B) {
	src := "<html><body><h1>Hello {{name}}</h1><p>" + strings.Repeat("Lorem ipsum dolor sit amet. ", 40) +
		"</p><ul>{{#each items}}<li>{{sku}}: {{qty}}</li>{{/each}}</ul><p>{{user.first}} {{user.address.city}}</p></body></html>"
	tpl, err := Parse(src)
	if err != nil {
		b.Fatal(err)
	}
	var items []string
	for i := range 20 {
		items = append(items, fmt.Sprintf(`{"sku":"s%d","qty":%d}`, i, i))
	}
	d, _ := DecodeData(`{"name":"Jane","user":{"first":"Ann","address":{"city":"Kyoto"}},"items":[` + strings.Join(items, ",") + `]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Execute(d, HTML); err != nil {
			b.Fatal(err)
		}
	}
}
