package sesapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// jsonOp is one REST-JSON operation (SES v2 or the admin API). It returns
// the value to encode as the 200 response body.
type jsonOp func(c *call) (any, error)

type callKey struct{}

// opHandler adapts a jsonOp to the ServeMux that matches routes, so path
// wildcards ({EmailIdentity}) are decoded by the standard library.
type opHandler struct {
	s    *Server
	name string
	fn   jsonOp
}

type opResult struct {
	status int
	code   string
}

func (h opHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := r.Context().Value(callKey{}).(*call)
	c.r, c.op = r, h.name
	res, err := h.fn(c)
	out := r.Context().Value(resultKey{}).(*opResult)
	if err != nil {
		out.status, out.code = h.s.fail(w, c, err)
		return
	}
	if res == nil {
		res = struct{}{}
	}
	writeJSON(w, http.StatusOK, res)
	out.status, out.code = http.StatusOK, "OK"
}

type resultKey struct{}

// serveJSON routes c through mux; an unmatched route is an unknown operation.
func (s *Server) serveJSON(w http.ResponseWriter, c *call, mux *http.ServeMux) (int, string) {
	if _, pattern := mux.Handler(c.r); pattern == "" {
		c.op = "unknown"
		return s.fail(w, c, apiErr(http.StatusNotFound, "UnknownOperationException", "No operation matches %s %s.", c.r.Method, c.r.URL.Path))
	}
	out := &opResult{}
	ctx := context.WithValue(context.WithValue(c.ctx, callKey{}, c), resultKey{}, out)
	mux.ServeHTTP(w, c.r.WithContext(ctx))
	return out.status, out.code
}

// decodeJSON decodes c's body into v; an empty body is an empty object.
// Malformed JSON is SES's SerializationException.
func decodeJSON(c *call, v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(c.body))
	if err := dec.Decode(v); err != nil {
		e := apiErr(http.StatusBadRequest, "SerializationException", "Could not parse the request body: %v", err)
		return e
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// Epoch is a timestamp that marshals as epoch seconds, the only form
// aws-sdk-go-v2 accepts in REST-JSON bodies (reference §1).
type Epoch time.Time

// MarshalJSON writes seconds with millisecond precision.
func (t Epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)), nil
}

// UnmarshalJSON reads epoch seconds.
func (t *Epoch) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("sesapi: timestamp %s: %w", b, err)
	}
	*t = Epoch(time.UnixMilli(int64(math.Round(f * 1000))).UTC())
	return nil
}

// Time returns t as a time.Time.
func (t Epoch) Time() time.Time { return time.Time(t) }
