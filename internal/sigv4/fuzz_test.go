package sigv4

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20240115/us-east-1/ses/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
	f.Add("AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=")
	f.Add("AWS4-HMAC-SHA256 ,,,==")
	f.Fuzz(func(t *testing.T, v string) {
		cred, sh, sig, err := ParseAuthorization(v)
		if err != nil {
			return
		}
		// What parsed must parse again the same from its canonical form.
		again := Algorithm + " Credential=" + cred + ", SignedHeaders=" + strings.Join(sh, ";") + ", Signature=" + sig
		c2, sh2, sig2, err := ParseAuthorization(again)
		if err != nil || c2 != cred || strings.Join(sh2, ";") != strings.Join(sh, ";") || sig2 != sig {
			t.Fatalf("re-parse of %q: %q %v %q %v", again, c2, sh2, sig2, err)
		}
	})
}

func FuzzVerify(f *testing.F) {
	f.Add("POST", "/", "a=b&c", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/us-east-1/ses/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "20240115T101500Z", []byte("body"))
	f.Add("GET", "/v2/%zz/%2F", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a", "", "", []byte{})
	now := time.Date(2024, 1, 15, 10, 15, 0, 0, time.UTC)
	v := &Verifier{Now: func() time.Time { return now }, Lookup: func(_ context.Context, id string) (string, error) {
		if id == "AKIDEXAMPLE" {
			return testSecret, nil
		}
		return "", ErrUnknownKey
	}}
	f.Fuzz(func(t *testing.T, method, path, query, auth, date string, body []byte) {
		r, err := http.NewRequest("POST", "http://127.0.0.1/", bytes.NewReader(body))
		if err != nil {
			return
		}
		r.Method = method
		r.RequestURI = path + "?" + query
		r.URL.RawQuery = query
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		v.Verify(context.Background(), r, body)
	})
}
