package sigv4

import (
	"net/http"
	"testing"
)

func BenchmarkVerify(b *testing.B) {
	for _, bc := range []struct {
		name string
		rq   request
	}{
		{"GET", request{target: "/2013-04-01/hostedzone/Z123/rrset?name=%2A.example.net.&maxitems=1"}},
		{"POST", request{method: http.MethodPost, target: "/2013-04-01/hostedzone/Z123/rrset", body: changeXML,
			header: http.Header{"Content-Type": {"application/xml"}}, payload: "header"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			v := testVerifier(b)
			r, body := sign(b, bc.rq)
			b.ReportAllocs()
			for b.Loop() {
				if _, e := v.Verify(r, body); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}
