package sestemplate

import (
	"strings"
	"testing"
)

// Cases after the behaviour Handlebars's partials spec describes, with
// inline partials standing in for registered ones.
func TestPartialsSpec(t *testing.T) {
	dudes := map[string]any{"foo": "bar", "root": "yes", "dudes": []any{
		map[string]any{"name": "Yehuda", "url": "http://yehuda"},
		map[string]any{"name": "Alan", "url": "http://alan"},
	}}
	ctx := map[string]any{"context": map[string]any{"value": "success"}, "value": "success"}
	const dude = `{{#* inline "dude"}}{{name}} ({{url}}) {{/inline}}`
	tests := []struct {
		tpl  string
		data any
		want string
	}{
		{dude + "Dudes: {{#dudes}}{{> dude}}{{/dudes}}", dudes, "Dudes: Yehuda (http://yehuda) Alan (http://alan) "},
		{`{{#* inline "dude"}}{{#this}}{{name}} ({{url}}) {{/this}}{{/inline}}Dudes: {{>dude dudes}}`, dudes, "Dudes: Yehuda (http://yehuda) Alan (http://alan) "},
		{`{{#* inline "dude"}}{{.}}{{/inline}}Dudes: {{>dude "dudes"}}`, dudes, "Dudes: dudes"},
		{`{{#* inline "dude"}}{{foo}} Empty{{/inline}}Dudes: {{>dude ghost}}`, dudes, "Dudes:  Empty"},
		{`{{#* inline "dude"}}{{others.foo}}{{name}} ({{url}}) {{/inline}}Dudes: {{#dudes}}{{> dude others=..}}{{/dudes}}`, dudes, "Dudes: barYehuda (http://yehuda) barAlan (http://alan) "},
		{dude + `{{#* inline "url"}}<a href="{{url}}">{{url}}</a>{{/inline}}Dudes: {{#dudes}}{{name}} {{> url}} {{/dudes}}`, dudes, `Dudes: Yehuda <a href="http://yehuda">http://yehuda</a> Alan <a href="http://alan">http://alan</a> `},
		{`{{#* inline "shared/dude.thing"}}{{foo}}{{/inline}}Dudes: {{> shared/dude.thing}}`, dudes, "Dudes: bar"},
		{`{{#* inline 404}}{{foo}}{{/inline}}Dudes: {{> 404}}`, dudes, "Dudes: bar"},
		{`{{#* inline "+404/asdf?.bar"}}{{foo}}{{/inline}}Dudes: {{> [+404/asdf?.bar]}} {{> '+404/asdf?.bar'}}`, dudes, "Dudes: bar bar"},
		{`{{#* inline "dude"}}{{/inline}}Dudes: {{#dudes}}{{> dude}}{{/dudes}}`, dudes, "Dudes: "},
		// Partial blocks.
		{"{{#> dude}}success{{/dude}}", ctx, "success"},
		{"{{#> dude context}}{{value}}{{/dude}}", ctx, "success"},
		{"{{#with context as |me|}}{{#> dude}}{{me.value}}{{/dude}}{{/with}}", ctx, "success"},
		{`{{#* inline "dude"}}success{{/inline}}{{#> dude}}fail{{/dude}}`, ctx, "success"},
		{`{{#* inline "dude"}}{{> @partial-block }} {{> @partial-block }}{{/inline}}{{#> dude}}success{{/dude}}`, ctx, "success success"},
		{`{{#* inline "dude"}}{{#with context}}{{> @partial-block }}{{/with}}{{/inline}}{{#> dude}}{{value}}{{/dude}}`, ctx, "success"},
		{`{{#* inline "dude"}}{{#with context}}{{> @partial-block }}{{/with}}{{/inline}}{{#> dude}}{{../context/value}}{{/dude}}`, ctx, "success"},
		{`{{#* inline "dude"}}{{> @partial-block }}{{/inline}}{{#with context as |me|}}{{#> dude}}{{me.value}}{{/dude}}{{/with}}`, ctx, "success"},
		{`{{#* inline "list"}}<list>{{#each .}}<item>{{> @partial-block}}</item>{{/each}}</list>{{/inline}}<template>{{#> list dudes}}value = {{name}}{{/list}}</template>`, dudes, "<template><list><item>value = Yehuda</item><item>value = Alan</item></list></template>"},
		{`{{#* inline "outer"}}<outer>{{#> nested}}<outer-block>{{> @partial-block}}</outer-block>{{/nested}}{{> @partial-block}}</outer>{{/inline}}{{#* inline "nested"}}<nested>{{> @partial-block}}</nested>{{/inline}}<template>{{#> outer}}{{value}}{{/outer}}</template>`, ctx, "<template><outer><nested><outer-block>success</outer-block></nested>success</outer></template>"},
		// Inline partials.
		{`{{#*inline "myPartial"}}success{{/inline}}{{> myPartial}}`, ctx, "success"},
		{`{{#with .}}{{#*inline "myPartial"}}success{{/inline}}{{> myPartial}}{{/with}}`, ctx, "success"},
		{`{{#*inline "myPartial"}}fail{{/inline}}{{#with .}}{{#*inline "myPartial"}}success{{/inline}}{{> myPartial}}{{/with}}`, ctx, "success"},
		{`{{#with .}}{{#*inline "myPartial"}}success{{/inline}}{{#with .}}{{#with .}}{{> myPartial}}{{/with}}{{/with}}{{/with}}`, ctx, "success"},
		{`{{#*inline "dude"}}{{> myPartial }}{{/inline}}{{#> dude}}{{#*inline "myPartial"}}success{{/inline}}{{/dude}}`, ctx, "success"},
		{`{{#*inline "outer"}}{{#>inner}}<outer-block>{{>@partial-block}}</outer-block>{{/inner}}{{/inline}}{{#*inline "inner"}}<inner>{{>@partial-block}}</inner>{{/inline}}{{#>outer}}{{value}}{{/outer}}`, ctx, "<inner><outer-block>success</outer-block></inner>"},
		// Standalone partials are indented.
		{"{{#*inline \"dude\"}}{{name}}\n{{/inline}}Dudes:\n{{#dudes}}\n  {{>dude}}\n{{/dudes}}", dudes, "Dudes:\n  Yehuda\n  Alan\n"},
		{"{{#*inline \"url\"}}{{url}}!\n{{/inline}}{{#*inline \"dude\"}}{{name}}\n {{> url}}\n{{/inline}}Dudes:\n{{#dudes}}\n  {{>dude}}\n{{/dudes}}", dudes, "Dudes:\n  Yehuda\n   http://yehuda!\n  Alan\n   http://alan!\n"},
	}
	for _, tc := range tests {
		got, err := render(t, tc.tpl, tc.data, HTML)
		if err != nil || got != tc.want {
			t.Errorf("%q:\n got %q, %v\nwant %q", tc.tpl, got, err, tc.want)
		}
	}
	_, err := render(t, `{{#with .}}{{#*inline "myPartial"}}success{{/inline}}{{/with}}{{> myPartial}}`, ctx, Plain)
	if err == nil || !strings.Contains(err.Error(), "myPartial could not be found") {
		t.Errorf("inline partial leaked out of its block: %v", err)
	}
}
