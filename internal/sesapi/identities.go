package sesapi

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/sesame-email/sesame/internal/identity"
	"github.com/sesame-email/sesame/internal/store"
)

// identityErr maps identity service errors to API errors, in both
// protocols' vocabularies.
func identityErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, identity.ErrNotFound):
		return errNotFound("%s", strings.TrimPrefix(err.Error(), "identity: not found: ")+" does not exist.")
	case errors.Is(err, identity.ErrExists):
		return errAlreadyExists("%s", strings.TrimPrefix(err.Error(), "identity: already exists: "))
	case errors.Is(err, identity.ErrLimit):
		e := apiErr(http.StatusBadRequest, "LimitExceeded", "%s", strings.TrimPrefix(err.Error(), "identity: limit exceeded: "))
		e.V2Code = "LimitExceededException"
		return e
	case errors.Is(err, identity.ErrInvalid), errors.Is(err, identity.ErrInvalidName):
		msg := err.Error()
		for _, p := range []string{"identity: invalid parameter: ", "identity: invalid name: "} {
			msg = strings.TrimPrefix(msg, p)
		}
		return errBadRequest("%s", msg)
	}
	return err
}

// pageToken encodes the last name of a page as an opaque NextToken.
func pageToken(last string) string { return base64.RawURLEncoding.EncodeToString([]byte(last)) }

// cutPage trims items fetched with limit+1 to one page and returns the
// NextToken for the next ("" on the last page, which must leave NextToken
// out, reference §10).
func cutPage[T any](items []T, limit int, key func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, pageToken(key(items[len(items)-1]))
}

// listParams reads a v2 listing's PageSize, NextToken and Filter: from the
// query of a GET, or from the JSON body of the POST form that newer SDKs
// send (ListEmailIdentities, ListConfigurationSets).
func listParams(c *call) (pageSize, token string, filter map[string]string, err error) {
	q := c.r.URL.Query()
	pageSize, token = q.Get("PageSize"), q.Get("NextToken")
	if c.r.Method != "POST" {
		return pageSize, token, nil, nil
	}
	var in struct {
		PageSize  *int
		NextToken string
		Filter    map[string]string
	}
	if err := decodeJSON(c, &in); err != nil {
		return "", "", nil, err
	}
	if in.PageSize != nil {
		pageSize = strconv.Itoa(*in.PageSize)
	}
	return pageSize, in.NextToken, in.Filter, nil
}

func fromPageToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		e := apiErr(http.StatusBadRequest, "InvalidNextToken", "The NextToken is not valid.")
		e.V2Code = "InvalidNextTokenException"
		return "", e
	}
	return string(b), nil
}

// listPage fetches a page of limit identities and the NextToken for the
// next one ("" on the last page, which must leave NextToken out, §10).
func (s *Server) listPage(c *call, typ store.IdentityType, token string, limit int) ([]store.Identity, string, error) {
	after, err := fromPageToken(token)
	if err != nil {
		return nil, "", err
	}
	ids, err := s.cfg.Identities.List(c.ctx, c.p.AccountID, c.region, store.IdentityPage{Type: typ, After: after, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	ids, next := cutPage(ids, limit, func(id store.Identity) string { return id.Name })
	return ids, next, nil
}

// v1Status spells a status the v1 way (reference §3: PascalCase).
func v1Status(st store.Status) string {
	switch st {
	case store.StatusPending:
		return "Pending"
	case store.StatusSuccess:
		return "Success"
	case store.StatusFailed:
		return "Failed"
	case store.StatusTemporaryFailure:
		return "TemporaryFailure"
	}
	return "NotStarted"
}

func v1Behavior(b string) string {
	if b == "REJECT_MESSAGE" {
		return "RejectMessage"
	}
	return "UseDefaultValue"
}

func v2Behavior(v1 string) (string, error) {
	switch v1 {
	case "", "UseDefaultValue":
		return "USE_DEFAULT_VALUE", nil
	case "RejectMessage":
		return "REJECT_MESSAGE", nil
	}
	return "", errBadRequest("Invalid BehaviorOnMXFailure %q: want UseDefaultValue or RejectMessage.", v1)
}

// v1Members returns Name.member.1, Name.member.2, … (reference §1).
func v1Members(c *call, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := c.form[name+".member."+strconv.Itoa(i)]
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}
