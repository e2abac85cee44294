package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/sesame-email/sesame/internal/store"
)

func testTemplates(t *testing.T, s store.Store) {
	ctx := context.Background()
	tpl := store.Template{AccountID: "000000000001", Region: "us-east-1", Name: "welcome", Subject: "Hi {{name}}", Text: "t", HTML: "<p>h</p>", CreatedAt: t0}
	if err := s.CreateTemplate(ctx, tpl); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateTemplate(ctx, tpl); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate: %v", err)
	}
	for _, other := range []store.Template{
		{AccountID: "000000000001", Region: "us-east-1", Name: "alpha", CreatedAt: t0},
		{AccountID: "000000000001", Region: "eu-west-1", Name: "welcome", CreatedAt: t0},
		{AccountID: "000000000002", Region: "us-east-1", Name: "welcome", CreatedAt: t0},
	} {
		if err := s.CreateTemplate(ctx, other); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetTemplate(ctx, "000000000001", "us-east-1", "welcome")
	if err != nil || got != tpl {
		t.Errorf("GetTemplate = %+v, %v", got, err)
	}
	tpl.Subject = "Hello {{name}}"
	if err := s.UpdateTemplate(ctx, tpl); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetTemplate(ctx, "000000000001", "us-east-1", "welcome"); got.Subject != "Hello {{name}}" {
		t.Errorf("update lost: %+v", got)
	}
	list, err := s.ListTemplates(ctx, "000000000001", "us-east-1", "", 10)
	if err != nil || len(list) != 2 || list[0].Name != "alpha" {
		t.Errorf("list = %+v, %v", list, err)
	}
	if list, _ := s.ListTemplates(ctx, "000000000001", "us-east-1", "alpha", 10); len(list) != 1 || list[0].Name != "welcome" {
		t.Errorf("page 2 = %+v", list)
	}
	if n, err := s.CountTemplates(ctx, "000000000001", "us-east-1"); err != nil || n != 2 {
		t.Errorf("count = %d, %v", n, err)
	}
	if err := s.DeleteTemplate(ctx, "000000000001", "us-east-1", "welcome"); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		s.DeleteTemplate(ctx, "000000000001", "us-east-1", "welcome"),
		s.UpdateTemplate(ctx, tpl),
		func() error { _, err := s.GetTemplate(ctx, "000000000001", "us-east-1", "welcome"); return err }(),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
	}
	if _, err := s.GetTemplate(ctx, "000000000002", "us-east-1", "welcome"); err != nil {
		t.Errorf("other account's template gone: %v", err)
	}
}
