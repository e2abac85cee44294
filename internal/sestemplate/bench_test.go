package sestemplate

import (
	"fmt"
	"strings"
	"testing"
)

// benchTemplate is a typical transactional HTML mail: about 2 KB, ten
// variables and one {{#each}} over 20 order lines.
func benchTemplate() (string, *Object) {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Order {{order.id}}</title></head>
<body style="font-family:Arial,sans-serif;color:#333">
<table width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">
<h1>Thanks for your order, {{customer.firstName}} {{customer.lastName}}!</h1>
<p>Your order <b>#{{order.id}}</b> placed on {{order.date}} is being prepared.</p>
`)
	b.WriteString(strings.Repeat("<p>We will let you know as soon as it ships. Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n", 6))
	b.WriteString(`<table class="items">
{{#each order.items}}
  <tr><td>{{@index}}</td><td>{{name}}</td><td>{{qty}}</td><td>{{price}}</td></tr>
{{/each}}
</table>
<p>Total: {{order.total}} {{order.currency}}</p>
<p>Ship to: {{shipping.street}}, {{shipping.city}}</p>
{{#if customer.vip}}<p>As a VIP you get free shipping.</p>{{/if}}
<p><a href="https://example.com/orders/{{order.id}}?u={{customer.id}}">View your order</a></p>
</td></tr></table></body></html>`)
	var items []string
	for i := range 20 {
		items = append(items, fmt.Sprintf(`{"name":"Item <%d> & co","qty":%d,"price":"%d.99"}`, i, i%3+1, i+5))
	}
	data := `{"customer":{"id":"c-81","firstName":"Anaya","lastName":"Iyengar","vip":true},
"order":{"id":"A-1001","date":"2026-11-24","total":"199.80","currency":"EUR","items":[` + strings.Join(items, ",") + `]},
"shipping":{"street":"1 Main St","city":"Bengaluru"}}`
	d, err := DecodeData(data)
	if err != nil {
		panic(err)
	}
	return b.String(), d
}

func BenchmarkExecute(b *testing.B) {
	src, d := benchTemplate()
	tm, err := Parse(src)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tm.Execute(d, HTML); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	src, _ := benchTemplate()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}
