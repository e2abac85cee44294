package sestemplate

import (
	"errors"
	"testing"
	"time"
)

func fuzzSeeds() []string {
	return []string{
		"{{name}}", "Hello {{user.first}}!", "{{#each items}}{{sku}}{{@index}}{{/each}}",
		"{{#if a}}x{{else if b}}y{{else}}z{{/if}}", "{{{raw}}}", "{{!-- c --}}", "{{~a~}}",
		"{{#with user as |u|}}{{u.first}}{{/with}}", `{{#* inline "p"}}{{> p}}{{/inline}}{{> p}}`,
		"{{#> layout}}x{{/layout}}", "{{lookup tags 1}}", `\{{x}} \\{{name}}`, "{{^no}}n{{/no}}",
		"{{#each @root.tags}}{{#each @root.tags}}{{#each @root.tags}}{{.}}{{/each}}{{/each}}{{/each}}",
		"  {{#if yes}}\n  {{> x}}\n{{/if}}\n", "{{a (lookup b (lookup c d)) k=v}}",
	}
}

// fuzzLimits keep a single fuzz execution fast.
func fuzzLimits() limits { return limits{steps: 200_000, output: 1 << 20, depth: MaxDepth} }

func checkErr(t *testing.T, err error) {
	t.Helper()
	var me *MissingAttributeError
	var re *RenderError
	if err != nil && !errors.As(err, &me) && !errors.As(err, &re) {
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tm, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 || se.Col < 1 {
				t.Fatalf("Parse error %v is not a positioned *SyntaxError", err)
			}
			return
		}
		// Parsing is deterministic.
		if _, err := Parse(src); err != nil {
			t.Fatalf("second parse failed: %v", err)
		}
		_ = tm
	})
}

func FuzzExecute(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	data := mustData(f, testData)
	f.Fuzz(func(t *testing.T, src string) {
		tm, err := Parse(src)
		if err != nil {
			return
		}
		start := time.Now()
		for _, mode := range []Mode{Plain, HTML} {
			out, err := tm.execute(data, mode, fuzzLimits())
			checkErr(t, err)
			if len(out) > fuzzLimits().output {
				t.Fatalf("output %d bytes over the limit", len(out))
			}
			again, err2 := tm.execute(data, mode, fuzzLimits())
			if again != out || (err == nil) != (err2 == nil) {
				t.Fatalf("not deterministic")
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v", d)
		}
	})
}

func FuzzData(f *testing.F) {
	f.Add(testData)
	f.Add(`{"items":[[[[]]]],"name":{"a":null},"tags":"x"}`)
	tm, err := Parse("{{name}}{{#each items}}{{this}}{{#each this}}{{.}}{{@key}}{{/each}}{{/each}}{{#with user}}{{first}}{{/with}}{{#if tags}}{{tags.length}}{{/if}}")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, js string) {
		d, err := DecodeData(js)
		if err != nil {
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("DecodeData error %T", err)
			}
			return
		}
		_, err = tm.execute(d, HTML, fuzzLimits())
		checkErr(t, err)
		_ = MergeData(d, d)
	})
}
