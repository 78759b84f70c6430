package sigv4

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// FuzzVerify: Verify never panics, and accepts or refuses, on any target, headers and body.
func FuzzVerify(f *testing.F) {
	v := testVerifier(f)
	for _, rq := range []request{
		{target: "/2013-04-01/hostedzone/Z123/rrset?name=%2A.example.net.&maxitems=1"},
		{method: http.MethodPost, target: "/2013-04-01/hostedzone/Z123/rrset", body: changeXML, payload: "header"},
		{target: "/2013-04-01/hostedzone?marker=Z1", presign: 5 * time.Minute},
	} {
		r, body := sign(f, rq)
		f.Add(r.Method, r.RequestURI, r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date"), r.Header.Get("X-Amz-Content-Sha256"), body)
	}
	f.Add("GET", "/", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261201/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=00", "20261201T100000Z", "", []byte{})
	f.Add("GET", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%2F%2F%2F%2F&X-Amz-Date=x&X-Amz-SignedHeaders=;&X-Amz-Signature=&X-Amz-Expires=-1", "", "", "", []byte(nil))
	f.Add("PUT", "*", "AWS4-HMAC-SHA256 ,,,=,Credential=////", "20261201T10000Z", "UNSIGNED-PAYLOAD", []byte("x"))

	f.Fuzz(func(t *testing.T, method, target, authorization, amzDate, contentSHA string, body []byte) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		r := &http.Request{Method: method, URL: u, RequestURI: target, Host: "appliance.example.net:8053", Header: http.Header{}}
		for name, value := range map[string]string{"Authorization": authorization, "X-Amz-Date": amzDate, "X-Amz-Content-Sha256": contentSHA} {
			if value != "" {
				r.Header.Set(name, value)
			}
		}
		key, e := v.Verify(r, body)
		switch {
		case key == nil && e == nil:
			t.Fatal("neither a key nor an error")
		case key != nil && e != nil:
			t.Fatalf("a key and an error: %v", e)
		case e != nil && (e.Status < 400 || e.Status > 499 || e.Code == "" || e.Message == ""):
			t.Fatalf("bad error %+v", e)
		}
	})
}
