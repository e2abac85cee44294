package sigv4

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"
)

// BenchmarkVerify verifies an SDK-shaped SES v2 request with a 4 KB body,
// as Go's server would hand it over.
func BenchmarkVerify(b *testing.B) {
	now := time.Date(2024, 1, 15, 10, 15, 0, 0, time.UTC)
	body := bytes.Repeat([]byte("a"), 4096)
	r, _ := http.NewRequest("POST", "http://127.0.0.1:8080/v2/email/outbound-emails?x=1&a=2", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Amz-Sdk-Invocation-Id", "3f5b1c2e-8a47-4e0b-9d6c-2a1b0c9d8e7f")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	sdkSign(b, r, body, testKey, testSecret, "ses", "us-east-1", now, "")
	r.RequestURI = r.URL.RequestURI() // as the server sets it
	r.Header.Set("Content-Length", "4096")
	v := &Verifier{Now: func() time.Time { return now }, Lookup: lookup(nil)}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := v.Verify(ctx, r, body); err != nil {
			b.Fatal(err)
		}
	}
}
