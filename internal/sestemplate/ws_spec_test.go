package sestemplate

import "testing"

// Cases from the behaviour Handlebars's whitespace-control spec describes.
func TestWhitespaceControlSpec(t *testing.T) {
	foo := map[string]any{"foo": "bar<"}
	none := map[string]any{}
	tests := []struct {
		tpl  string
		data map[string]any
		want string
	}{
		{" {{~foo~}} ", foo, "bar&lt;"},
		{" {{~foo}} ", foo, "bar&lt; "},
		{" {{foo~}} ", foo, " bar&lt;"},
		{" {{~&foo~}} ", foo, "bar<"},
		{" {{~{foo}~}} ", foo, "bar<"},
		{" {{~#if foo~}} bar {{~/if~}} ", foo, "bar"},
		{" {{#if foo~}} bar {{/if~}} ", foo, " bar "},
		{" {{~#if foo}} bar {{~/if}} ", foo, " bar "},
		{" {{#if foo}} bar {{/if}} ", foo, "  bar  "},
		{" {{~^if foo~}} bar {{~/if~}} ", none, "bar"},
		{" {{^if foo~}} bar {{/if~}} ", none, " bar "},
		{" {{~^if foo}} bar {{~/if}} ", none, " bar "},
		{" {{^if foo}} bar {{/if}} ", none, "  bar  "},
		{"{{#if foo~}} bar {{~^~}} baz {{~/if}}", foo, "bar"},
		{"{{#if foo~}} bar {{^~}} baz {{/if}}", foo, "bar "},
		{"{{#if foo}} bar {{~^~}} baz {{~/if}}", foo, " bar"},
		{"{{#if foo}} bar {{^~}} baz {{/if}}", foo, " bar "},
		{"{{#if foo~}} bar {{~else~}} baz {{~/if}}", foo, "bar"},
		{"{{#if foo~}} bar {{~^~}} baz {{~/if}}", none, "baz"},
		{"{{#if foo}} bar {{~^~}} baz {{/if}}", none, "baz "},
		{"{{#if foo~}} bar {{~^}} baz {{~/if}}", none, " baz"},
		{"{{#if foo~}} bar {{~^}} baz {{/if}}", none, " baz "},
		{"{{#if foo~}} bar {{~else~}} baz {{~/if}}", none, "baz"},
		{`{{#* inline "dude"}}bar{{/inline}}foo {{~> dude~}} `, none, "foobar"},
		{`{{#* inline "dude"}}bar{{/inline}}foo {{> dude~}} `, none, "foo bar"},
		{`{{#* inline "dude"}}bar{{/inline}}foo {{> dude}} `, none, "foo bar "},
		{" {{~foo~}} {{foo}} {{foo}} ", foo, "bar&lt;bar&lt; bar&lt; "},
	}
	for _, tc := range tests {
		got, err := render(t, tc.tpl, tc.data, HTML)
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.tpl, got, err, tc.want)
		}
	}
}
