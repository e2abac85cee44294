package store

import (
	"context"
	"time"
)

// Template is an email template in one (account, region).
type Template struct {
	AccountID string
	Region    string
	Name      string
	Subject   string
	Text      string
	HTML      string
	CreatedAt time.Time
}

// Templates stores email templates.
type Templates interface {
	// CreateTemplate inserts t; ErrConflict if the name is taken.
	CreateTemplate(ctx context.Context, t Template) error
	// GetTemplate returns a template.
	GetTemplate(ctx context.Context, accountID, region, name string) (Template, error)
	// UpdateTemplate replaces an existing template's parts.
	UpdateTemplate(ctx context.Context, t Template) error
	// DeleteTemplate removes a template.
	DeleteTemplate(ctx context.Context, accountID, region, name string) error
	// ListTemplates returns up to limit templates named after `after`, by name.
	ListTemplates(ctx context.Context, accountID, region, after string, limit int) ([]Template, error)
	// CountTemplates counts a region's templates.
	CountTemplates(ctx context.Context, accountID, region string) (int, error)
}
