package sestemplate_test

import (
	"errors"
	"fmt"

	"github.com/sesame-email/sesame/internal/sestemplate"
)

func ExampleRenderParts() {
	r, err := sestemplate.RenderParts(
		"Subscription preferences for {{contact.firstName}}",
		"{{#each subscription}}- {{interest}}\n{{/each}}",
		"<ul>{{#each subscription}}<li>{{interest}}</li>{{/each}}</ul>",
		`{"contact":{"firstName":"Anaya"},"subscription":[{"interest":"Sports"},{"interest":"R&D"}]}`)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Subject)
	fmt.Print(r.Text)
	fmt.Println(r.HTML)
	// Output:
	// Subscription preferences for Anaya
	// - Sports
	// - R&D
	// <ul><li>Sports</li><li>R&D</li></ul>
}

func ExampleRenderParts_missingAttribute() {
	_, err := sestemplate.RenderParts("Hello {{name}}", "", "", `{"nmae":"typo"}`)
	var me *sestemplate.MissingAttributeError
	fmt.Println(errors.As(err, &me), me.Name)
	fmt.Println(err)
	// Output:
	// true name
	// Attribute 'name' is not present in the rendering data.
}

func ExampleTemplate_Execute() {
	t, err := sestemplate.Parse(`{{#* inline "fullName"}}{{firstName}}{{#if lastName}} {{lastName}}{{/if}}{{/inline}}
Hello {{> fullName}}! {{#if friends}}Friends: {{#each friends}}{{> fullName}}{{#unless @last}}, {{/unless}}{{/each}}{{/if}}`)
	if err != nil {
		panic(err)
	}
	data, _ := sestemplate.DecodeData(`{"firstName":"Ann","lastName":"Lee","friends":[{"firstName":"Bo"},{"firstName":"<Cy>","lastName":"Li"}]}`)
	out, err := t.Execute(data, sestemplate.HTML)
	fmt.Println(out, err)
	// Output:
	// Hello Ann Lee! Friends: Bo, &lt;Cy&gt; Li <nil>
}
