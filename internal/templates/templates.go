// Package templates manages SES email templates per (account, region):
// names, size and count limits, syntax checked at creation, and rendering
// with TemplateData through sestemplate.
package templates

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/sesame-email/sesame/internal/clock"
	"github.com/sesame-email/sesame/internal/sestemplate"
	"github.com/sesame-email/sesame/internal/store"
)

// Limits (reference §7).
const (
	MaxTemplates = 10000
	MaxSize      = 500 * 1024
)

// Errors the front ends map to SES codes.
var (
	ErrNotFound = errors.New("templates: not found")
	ErrExists   = errors.New("templates: already exists")
	ErrInvalid  = errors.New("templates: invalid template")
	ErrLimit    = errors.New("templates: limit exceeded")
	// ErrRendering wraps a rendering failure (missing attribute, bad data).
	ErrRendering = errors.New("templates: rendering failure")
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Service manages templates.
type Service struct {
	st    store.Templates
	clock clock.Clock
}

// New returns a Service.
func New(st store.Templates, clk clock.Clock) *Service { return &Service{st: st, clock: clk} }

// Content is a template's three parts.
type Content struct{ Subject, Text, HTML string }

// Check validates a template's name and parts: the name's syntax, the
// size limit, at least one part, and every part parses.
func Check(name string, c Content) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w: TemplateName %q: 1-64 of [A-Za-z0-9_-]", ErrInvalid, name)
	}
	if len(c.Subject)+len(c.Text)+len(c.HTML) > MaxSize {
		return fmt.Errorf("%w: template %s is larger than %d bytes", ErrInvalid, name, MaxSize)
	}
	if c.Subject == "" && c.Text == "" && c.HTML == "" {
		return fmt.Errorf("%w: template %s has no content", ErrInvalid, name)
	}
	for _, part := range []string{c.Subject, c.Text, c.HTML} {
		if _, err := sestemplate.Parse(part); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	return nil
}

func notFound(err error, name string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: Template %s does not exist.", ErrNotFound, name)
	}
	return err
}

// Create stores a new template.
func (s *Service) Create(ctx context.Context, accountID, region, name string, c Content) error {
	if err := Check(name, c); err != nil {
		return err
	}
	n, err := s.st.CountTemplates(ctx, accountID, region)
	if err != nil {
		return err
	}
	if n >= MaxTemplates {
		return fmt.Errorf("%w: at most %d templates per region", ErrLimit, MaxTemplates)
	}
	err = s.st.CreateTemplate(ctx, store.Template{AccountID: accountID, Region: region, Name: name, Subject: c.Subject, Text: c.Text, HTML: c.HTML, CreatedAt: s.clock.Now()})
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: Template %s already exists.", ErrExists, name)
	}
	return err
}

// Get returns a template.
func (s *Service) Get(ctx context.Context, accountID, region, name string) (store.Template, error) {
	t, err := s.st.GetTemplate(ctx, accountID, region, name)
	return t, notFound(err, name)
}

// Update replaces a template's parts.
func (s *Service) Update(ctx context.Context, accountID, region, name string, c Content) error {
	if err := Check(name, c); err != nil {
		return err
	}
	return notFound(s.st.UpdateTemplate(ctx, store.Template{AccountID: accountID, Region: region, Name: name, Subject: c.Subject, Text: c.Text, HTML: c.HTML}), name)
}

// Delete removes a template.
func (s *Service) Delete(ctx context.Context, accountID, region, name string) error {
	return notFound(s.st.DeleteTemplate(ctx, accountID, region, name), name)
}

// List returns up to limit templates after `after`.
func (s *Service) List(ctx context.Context, accountID, region, after string, limit int) ([]store.Template, error) {
	return s.st.ListTemplates(ctx, accountID, region, after, limit)
}

// Render renders content with TemplateData JSON.
func Render(c Content, data string) (sestemplate.Rendered, error) {
	r, err := sestemplate.RenderParts(c.Subject, c.Text, c.HTML, data)
	if err != nil {
		var se *sestemplate.SyntaxError
		if errors.As(err, &se) {
			return r, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		return r, fmt.Errorf("%w: %w", ErrRendering, err)
	}
	return r, nil
}

// RenderStored renders a stored template by name.
func (s *Service) RenderStored(ctx context.Context, accountID, region, name, data string) (sestemplate.Rendered, error) {
	t, err := s.Get(ctx, accountID, region, name)
	if err != nil {
		return sestemplate.Rendered{}, err
	}
	return Render(Content{Subject: t.Subject, Text: t.Text, HTML: t.HTML}, data)
}
