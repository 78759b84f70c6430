package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testKeyID  = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	zoneKeyID  = "AKIAZONEEXAMPLE0001"
	endpoint   = "http://appliance.example.net:8053"
	changeXML  = `<?xml version="1.0" encoding="UTF-8"?>
<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>www.example.net.</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`
)

// signedAt is when the test requests are signed; the verifier's clock is a minute later.
var signedAt = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func testVerifier(t testing.TB) *Verifier {
	t.Helper()
	v, err := NewVerifier([]Key{
		{AccessKeyID: testKeyID, Secret: testSecret},
		{AccessKeyID: zoneKeyID, Secret: "zone secret", Zones: []string{"Example.NET"}},
	}, "route53", 15*time.Minute, func() time.Time { return signedAt.Add(time.Minute) })
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// request says how to make and sign one request with the SDK's signer.
type request struct {
	method  string
	target  string // path and query, as sent
	body    string
	region  string
	header  http.Header
	payload string // "header": X-Amz-Content-Sha256 of the body (as the Go SDK); "unsigned": UNSIGNED-PAYLOAD; "": no header (as the CLI)
	keyID   string
	secret  string
	service string
	at      time.Time
	presign time.Duration // presign with X-Amz-Expires of this, instead of the Authorization header
}

// sign signs rq with the SDK's signer and returns it as a server receives it, and its body.
func sign(t testing.TB, rq request) (*http.Request, []byte) {
	t.Helper()
	if rq.method == "" {
		rq.method = http.MethodGet
	}
	if rq.region == "" {
		rq.region = "us-east-1"
	}
	if rq.keyID == "" {
		rq.keyID, rq.secret = testKeyID, testSecret
	}
	if rq.service == "" {
		rq.service = "route53"
	}
	if rq.at.IsZero() {
		rq.at = signedAt
	}
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	r, err := http.NewRequest(rq.method, endpoint+rq.target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range rq.header {
		r.Header[k] = vs
	}
	sum := sha256.Sum256([]byte(rq.body))
	payloadHash := hex.EncodeToString(sum[:])
	switch rq.payload {
	case "header":
		r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	case "unsigned":
		payloadHash = unsignedPayload
		r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	}
	creds := aws.Credentials{AccessKeyID: rq.keyID, SecretAccessKey: rq.secret}
	if rq.presign > 0 {
		q := r.URL.Query()
		q.Set("X-Amz-Expires", strconv.Itoa(int(rq.presign.Seconds())))
		r.URL.RawQuery = q.Encode()
		signed, header, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, payloadHash, rq.service, rq.region, rq.at)
		if err != nil {
			t.Fatal(err)
		}
		if r, err = http.NewRequest(rq.method, signed, body); err != nil {
			t.Fatal(err)
		}
		for k, vs := range header {
			if k != "Host" {
				r.Header[k] = vs
			}
		}
	} else if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, payloadHash, rq.service, rq.region, rq.at); err != nil {
		t.Fatal(err)
	}
	return onServer(t, r)
}

// onServer sends r over a pipe and returns it as net/http's server reads it.
func onServer(t testing.TB, r *http.Request) (*http.Request, []byte) {
	t.Helper()
	var wire bytes.Buffer
	if err := r.Write(&wire); err != nil {
		t.Fatal(err)
	}
	s, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(s.Body)
	if err != nil {
		t.Fatal(err)
	}
	return s, body
}

func TestVerify(t *testing.T) {
	xml := http.Header{"Content-Type": {"application/xml"}}
	tests := []struct {
		name string
		rq   request
		want string // access key id
	}{
		{"GET hosted zone count", request{target: "/2013-04-01/hostedzonecount"}, testKeyID},
		{"GET rrsets, * percent-encoded", request{target: "/2013-04-01/hostedzone/Z123/rrset?name=%2A.example.net.&maxitems=1", region: "eu-west-1"}, testKeyID},
		{"GET rrsets, \\052 form", request{target: "/2013-04-01/hostedzone/Z123/rrset?name=%5C052.example.net.&type=A", region: "aws-global"}, testKeyID},
		{"GET rrsets, raw * and backslash", request{target: `/2013-04-01/hostedzone/Z123/rrset?name=*.example.net.&identifier=a\b`}, testKeyID},
		{"query sorted by name and value, spaces, plus, unicode, empty", request{target: "/2013-04-01/hostedzone?z=1&b=2&a=2&a=10&a=1&c=x+y%20z&d=%2B&e=%C3%A9~&f"}, testKeyID},
		{"path needing encoding", request{target: "/2013-04-01/tags/hostedzone/Z%2A1%20x"}, testKeyID},
		{"POST XML, content hash header", request{method: http.MethodPost, target: "/2013-04-01/hostedzone/Z123/rrset", body: changeXML, header: xml, payload: "header"}, testKeyID},
		{"POST XML, no content hash header", request{method: http.MethodPost, target: "/2013-04-01/hostedzone/Z123/rrset/", body: changeXML, header: xml, region: "eu-west-1"}, testKeyID},
		{"POST XML, unsigned payload", request{method: http.MethodPost, target: "/2013-04-01/hostedzone/Z123/rrset", body: changeXML, header: xml, payload: "unsigned"}, testKeyID},
		{"header values trimmed and folded, repeated header joined", request{target: "/2013-04-01/hostedzone", header: http.Header{"X-Amz-Meta": {"  a   b  c ", "d"}, "X-Custom": {"\tx  y\t"}}}, testKeyID},
		{"zone key", request{target: "/2013-04-01/hostedzone", keyID: zoneKeyID, secret: "zone secret"}, zoneKeyID},
		{"signed 14 minutes in the future", request{target: "/2013-04-01/hostedzonecount", at: signedAt.Add(15 * time.Minute)}, testKeyID},
		{"signed 15 minutes ago", request{target: "/2013-04-01/hostedzonecount", at: signedAt.Add(-14 * time.Minute)}, testKeyID},
		{"presigned GET", request{target: "/2013-04-01/hostedzone/Z123/rrset?name=%2A.example.net.", presign: 5 * time.Minute}, testKeyID},
		{"presigned POST", request{method: http.MethodPost, target: "/2013-04-01/hostedzone/Z123/rrset", body: changeXML, header: xml, presign: time.Hour, region: "eu-west-1"}, testKeyID},
	}
	v := testVerifier(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, body := sign(t, tc.rq)
			key, e := v.Verify(r, body)
			if e != nil {
				t.Fatalf("Verify: %v\n%s %s\n%v", e, r.Method, r.RequestURI, r.Header)
			}
			if key.AccessKeyID != tc.want {
				t.Errorf("signed by %s, want %s", key.AccessKeyID, tc.want)
			}
		})
	}
}

func TestVerifyDefaultPort(t *testing.T) {
	// The signer drops a default port from Host, so the server sees none.
	r, err := http.NewRequest(http.MethodGet, "http://appliance.example.net:80/2013-04-01/hostedzonecount", nil)
	if err != nil {
		t.Fatal(err)
	}
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sha256.New().Sum(nil)), "route53", "us-east-1", signedAt); err != nil {
		t.Fatal(err)
	}
	s, body := onServer(t, r)
	if s.Host != "appliance.example.net" {
		t.Errorf("Host %q", s.Host)
	}
	if _, e := testVerifier(t).Verify(s, body); e != nil {
		t.Error(e)
	}
	// A client's request, never sent, verifies as well.
	if _, e := testVerifier(t).Verify(r, nil); e != nil {
		t.Error(e)
	}
}

func TestVerifyRefused(t *testing.T) {
	get := request{target: "/2013-04-01/hostedzone/Z123/rrset?name=%2A.example.net.&maxitems=1"}
	post := request{method: http.MethodPost, target: "/2013-04-01/hostedzone/Z123/rrset", body: changeXML, header: http.Header{"Content-Type": {"application/xml"}}}
	postHashed := post
	postHashed.payload = "header"
	setAuth := func(f func(string) string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", f(r.Header.Get("Authorization"))) }
	}
	replaceAuth := func(old, new string) func(*http.Request) {
		return setAuth(func(a string) string { return strings.Replace(a, old, new, 1) })
	}
	setQuery := func(name, value string) func(*http.Request) {
		return func(r *http.Request) {
			q := r.URL.Query()
			q.Set(name, value)
			r.URL.RawQuery = q.Encode()
			r.RequestURI = r.URL.RequestURI()
		}
	}
	with := func(rq request, f func(*request)) request { f(&rq); return rq }

	tests := []struct {
		name   string
		rq     request
		change func(*http.Request)
		body   string // replaces the body when not empty
		status int
		code   string
		msg    string // in the message
	}{
		{"no Authorization", get, func(r *http.Request) { r.Header.Del("Authorization") }, "", 403, "MissingAuthenticationToken", "Missing Authentication Token"},
		{"empty Authorization", get, func(r *http.Request) { r.Header.Set("Authorization", "") }, "", 403, "MissingAuthenticationToken", "Missing Authentication Token"},
		{"tampered body", post, nil, strings.Replace(changeXML, "192.0.2.1", "192.0.2.66", 1), 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"tampered body, content hash header", postHashed, nil, strings.Replace(changeXML, "192.0.2.1", "192.0.2.66", 1), 403, "SignatureDoesNotMatch", "'x-amz-content-sha256' header does not match"},
		{"tampered content hash header", postHashed, func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", unsignedPayload) }, "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"tampered signed header", post, func(r *http.Request) { r.Header.Set("Content-Type", "text/xml") }, "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"tampered host", get, func(r *http.Request) { r.Host = "other.example.net:8053" }, "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"tampered path", get, func(r *http.Request) { r.RequestURI = strings.Replace(r.RequestURI, "Z123", "Z124", 1) }, "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"tampered query", get, setQuery("maxitems", "2"), "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"added query parameter", get, setQuery("type", "A"), "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"tampered method", get, func(r *http.Request) { r.Method = http.MethodDelete }, "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"tampered signature", get, setAuth(func(a string) string { return a[:len(a)-1] + "0" }), "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"upper-case signature", get, setAuth(func(a string) string {
			i := strings.Index(a, "Signature=") + len("Signature=")
			return a[:i] + strings.ToUpper(a[i:])
		}), "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"unsigned host", get, replaceAuth("SignedHeaders=host;", "SignedHeaders="), "", 400, "IncompleteSignature", "'Host' or ':authority' must be a 'SignedHeader'"},
		{"empty signed header name", get, replaceAuth("SignedHeaders=host;", "SignedHeaders=host;;"), "", 400, "IncompleteSignature", "SignedHeaders must be header names"},
		{"wrong secret", with(get, func(rq *request) { rq.keyID, rq.secret = testKeyID, "not the secret" }), nil, "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"other key's secret", with(get, func(rq *request) { rq.keyID, rq.secret = zoneKeyID, testSecret }), nil, "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"unknown key", with(get, func(rq *request) { rq.keyID, rq.secret = "AKIAUNKNOWNEXAMPLE1", testSecret }), nil, "", 403, "InvalidClientTokenId", "The security token included in the request is invalid."},
		{"other service", with(get, func(rq *request) { rq.service = "s3" }), nil, "", 403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'route53'."},
		{"bad terminator", get, replaceAuth("/aws4_request", "/aws5_request"), "", 403, "SignatureDoesNotMatch", "valid terminator: 'aws4_request', not 'aws5_request'"},
		{"stale date", with(get, func(rq *request) { rq.at = signedAt.Add(-15 * time.Minute) }), nil, "", 403, "RequestTimeTooSkewed",
			"Signature expired: 20261201T094500Z is now earlier than 20261201T094600Z (20261201T100100Z - 15 min.)"},
		{"future date", with(get, func(rq *request) { rq.at = signedAt.Add(17 * time.Minute) }), nil, "", 403, "RequestTimeTooSkewed",
			"Signature not yet current: 20261201T101700Z is still later than 20261201T101600Z (20261201T100100Z + 15 min.)"},
		{"X-Amz-Date not the scope's day", get, func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261202T100000Z") }, "", 403, "SignatureDoesNotMatch",
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261201' != '20261202', from '20261202T100000Z'."},
		{"X-Amz-Date tampered", get, func(r *http.Request) { r.Header.Set("X-Amz-Date", "20261201T100001Z") }, "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"X-Amz-Date missing", get, func(r *http.Request) { r.Header.Del("X-Amz-Date") }, "", 400, "IncompleteSignature", "requires existence of a 'X-Amz-Date' header"},
		{"X-Amz-Date extended format", get, func(r *http.Request) { r.Header.Set("X-Amz-Date", "2026-12-01T10:00:00Z") }, "", 400, "IncompleteSignature", "Date must be in ISO-8601 'basic format'"},
		{"X-Amz-Date garbage", get, func(r *http.Request) { r.Header.Set("X-Amz-Date", "yesterday") }, "", 400, "IncompleteSignature", "Got 'yesterday'"},
		{"bearer token", get, func(r *http.Request) { r.Header.Set("Authorization", "Bearer 0123456789abcdef") }, "", 400, "IncompleteSignature", "must start with 'AWS4-HMAC-SHA256 '"},
		{"signature version 2", get, func(r *http.Request) { r.Header.Set("Authorization", "AWS "+testKeyID+":frJIUN8DYpKDtOLCwo//yllqDzg=") }, "", 400, "IncompleteSignature", "must start with"},
		{"algorithm only", get, func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256") }, "", 400, "IncompleteSignature", "must start with"},
		{"no key=value", get, func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 garbage") }, "", 400, "IncompleteSignature", "missing equal-sign"},
		{"no parameters", get, func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Foo=bar") }, "", 400, "IncompleteSignature",
			"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."},
		{"no Signature", get, setAuth(func(a string) string { return a[:strings.Index(a, ", Signature=")] }), "", 400, "IncompleteSignature", "Authorization header requires 'Signature' parameter."},
		{"empty Signature", get, setAuth(func(a string) string { return a[:strings.Index(a, "Signature=")+len("Signature=")] }), "", 400, "IncompleteSignature", "requires 'Signature' parameter."},
		{"short credential", get, replaceAuth("/us-east-1/route53/aws4_request", "/us-east-1"), "", 400, "IncompleteSignature", "Credential must have exactly 5 non-empty slash-delimited elements"},
		{"empty region", get, replaceAuth("/us-east-1/", "//"), "", 400, "IncompleteSignature", "Credential must have exactly 5"},
		{"two Authorization headers", get, func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }, "", 400, "IncompleteSignature", "Only one Authorization header"},
		{"header and presigned", get, setQuery("X-Amz-Algorithm", algorithm), "", 400, "IncompleteSignature", "Only one auth mechanism allowed"},
		{"query not encoded", get, func(r *http.Request) { r.URL.RawQuery += "&bad=%zz" }, "", 400, "InvalidInput", "query string"},

		{"presigned, expired", with(get, func(rq *request) { rq.presign, rq.at = 30*time.Second, signedAt.Add(-31*time.Second) }), nil, "", 403, "RequestExpired",
			"Request has expired: 20261201T095929Z + 30 s is earlier than 20261201T100100Z."},
		{"presigned, future", with(get, func(rq *request) { rq.presign, rq.at = time.Hour, signedAt.Add(time.Hour) }), nil, "", 403, "RequestTimeTooSkewed", "Signature not yet current"},
		{"presigned, tampered query", with(get, func(rq *request) { rq.presign = time.Hour }), setQuery("maxitems", "100"), "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"presigned, tampered expiry", with(get, func(rq *request) { rq.presign = time.Minute }), setQuery("X-Amz-Expires", "604800"), "", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"presigned, tampered body", with(post, func(rq *request) { rq.presign = time.Hour }), nil, "<x/>", 403, "SignatureDoesNotMatch", "does not match the signature you provided"},
		{"presigned, expiry too long", with(get, func(rq *request) { rq.presign = time.Hour }), setQuery("X-Amz-Expires", "604801"), "", 400, "IncompleteSignature", "X-Amz-Expires must be a number of seconds from 1 to 604800"},
		{"presigned, other algorithm", with(get, func(rq *request) { rq.presign = time.Hour }), setQuery("X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256"), "", 400, "IncompleteSignature", "X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'"},
		{"presigned, no signature", with(get, func(rq *request) { rq.presign = time.Hour }), setQuery("X-Amz-Signature", ""), "", 400, "IncompleteSignature", "requires the 'X-Amz-Signature' parameter"},
		{"presigned, unknown key", with(get, func(rq *request) { rq.presign, rq.keyID, rq.secret = time.Hour, "AKIAUNKNOWNEXAMPLE1", testSecret }), nil, "", 403, "InvalidClientTokenId", "invalid"},
	}
	v := testVerifier(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, body := sign(t, tc.rq)
			if tc.change != nil {
				tc.change(r)
			}
			if tc.body != "" {
				body = []byte(tc.body)
			}
			key, e := v.Verify(r, body)
			if e == nil {
				t.Fatalf("Verify accepted the request of %s", key.AccessKeyID)
			}
			if key != nil {
				t.Errorf("Verify returned key %s with error %v", key.AccessKeyID, e)
			}
			if e.Status != tc.status || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("got %d %s %q,\nwant %d %s %q", e.Status, e.Code, e.Message, tc.status, tc.code, tc.msg)
			}
		})
	}
}

func TestNewVerifier(t *testing.T) {
	long := strings.Repeat("A", 128)
	tests := []struct {
		name    string
		keys    []Key
		service string
		maxSkew time.Duration
		err     string
	}{
		{"good", []Key{{AccessKeyID: testKeyID, Secret: "s"}, {AccessKeyID: long, Secret: "s"}, {AccessKeyID: "0123456789ABCDEF", Secret: "s"}}, "route53", time.Minute, ""},
		{"no keys", nil, "route53", time.Minute, ""},
		{"duplicate", []Key{{AccessKeyID: testKeyID, Secret: "s"}, {AccessKeyID: testKeyID, Secret: "t"}}, "route53", time.Minute, "is given twice"},
		{"empty secret", []Key{{AccessKeyID: testKeyID}}, "route53", time.Minute, "empty secret"},
		{"short id", []Key{{AccessKeyID: "AKIA0123456789A", Secret: "s"}}, "route53", time.Minute, "not 16 to 128 characters of A-Z and 0-9"},
		{"long id", []Key{{AccessKeyID: long + "A", Secret: "s"}}, "route53", time.Minute, "not 16 to 128 characters"},
		{"lower case id", []Key{{AccessKeyID: "akiaiosfodnn7example", Secret: "s"}}, "route53", time.Minute, "not 16 to 128 characters"},
		{"slash in id", []Key{{AccessKeyID: "AKIAIOSFODNN7/EXAMPLE", Secret: "s"}}, "route53", time.Minute, "not 16 to 128 characters"},
		{"empty id", []Key{{Secret: "s"}}, "route53", time.Minute, "not 16 to 128 characters"},
		{"empty zone", []Key{{AccessKeyID: testKeyID, Secret: "s", Zones: []string{"example.net.", ""}}}, "route53", time.Minute, "empty zone name"},
		{"root zone", []Key{{AccessKeyID: testKeyID, Secret: "s", Zones: []string{"."}}}, "route53", time.Minute, "empty zone name"},
		{"no service", nil, "", time.Minute, "no service"},
		{"no skew", nil, "route53", 0, "must be positive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewVerifier(tc.keys, tc.service, tc.maxSkew, nil)
			if tc.err == "" && err != nil {
				t.Fatal(err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
		})
	}
}

func TestVerifyKey(t *testing.T) {
	keys := []Key{{AccessKeyID: zoneKeyID, Secret: "zone secret", Zones: []string{"Example.NET", "example.org."}}}
	v, err := NewVerifier(keys, "route53", time.Minute, func() time.Time { return signedAt })
	if err != nil {
		t.Fatal(err)
	}
	keys[0].Zones[0] = "changed.example."
	key, e := v.Verify(sign(t, request{target: "/2013-04-01/hostedzone", keyID: zoneKeyID, secret: "zone secret"}))
	if e != nil {
		t.Fatal(e)
	}
	if got := strings.Join(key.Zones, " "); got != "example.net. example.org." {
		t.Errorf("zones %q", got)
	}
}

func TestSigningKeyCache(t *testing.T) {
	v := testVerifier(t)
	for _, region := range []string{"us-east-1", "eu-west-1", "us-east-1"} {
		if _, e := v.Verify(sign(t, request{target: "/2013-04-01/hostedzone", region: region})); e != nil {
			t.Fatal(e)
		}
	}
	// Refused requests leave nothing behind, whatever region they name.
	for _, region := range []string{"ap-south-1", "made-up-1"} {
		if _, e := v.Verify(sign(t, request{target: "/2013-04-01/hostedzone", region: region, keyID: testKeyID, secret: "wrong"})); e == nil {
			t.Fatal("wrong secret accepted")
		}
	}
	if len(v.signingKeys) != 2 {
		t.Errorf("%d signing keys cached, want 2: %v", len(v.signingKeys), v.signingKeys)
	}
	// A cached key is the one the signer derives: a second request in a region verifies.
	if _, e := v.Verify(sign(t, request{target: "/2013-04-01/hostedzone?marker=Z1", region: "eu-west-1"})); e != nil {
		t.Fatal(e)
	}
}

func TestVerifyConcurrent(t *testing.T) {
	v := testVerifier(t)
	regions := []string{"us-east-1", "eu-west-1", "aws-global"}
	type signed struct {
		r    *http.Request
		body []byte
	}
	var requests []signed
	for i := range 12 {
		r, body := sign(t, request{method: http.MethodPost, target: "/2013-04-01/hostedzone/Z123/rrset", body: changeXML, region: regions[i%3], payload: "header"})
		requests = append(requests, signed{r, body})
	}
	var wg sync.WaitGroup
	for _, s := range requests {
		wg.Go(func() {
			for range 50 {
				if _, e := v.Verify(s.r, s.body); e != nil {
					t.Error(e)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestAppendEscaped(t *testing.T) {
	tests := []struct {
		in, path, query string
	}{
		{"abcXYZ019-._~", "abcXYZ019-._~", "abcXYZ019-._~"},
		{"/a b/*+%2A", "/a%20b/%2A%2B%252A", "%2Fa%20b%2F%2A%2B%252A"},
		{"é\x00\xff", "%C3%A9%00%FF", "%C3%A9%00%FF"},
		{`\052.example.net.`, "%5C052.example.net.", "%5C052.example.net."},
	}
	for _, tc := range tests {
		if got := string(appendEscaped(nil, tc.in, false)); got != tc.path {
			t.Errorf("path %q: got %q, want %q", tc.in, got, tc.path)
		}
		if got := string(appendEscaped(nil, tc.in, true)); got != tc.query {
			t.Errorf("query %q: got %q, want %q", tc.in, got, tc.query)
		}
	}
}

// The canonical request of AWS's own example (the IAM ListUsers request of the Signature
// Version 4 documentation), signed here with the SDK's signer.
func TestCanonicalRequest(t *testing.T) {
	r, err := http.NewRequest(http.MethodGet, "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE0000000", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	emptyHash := hex.EncodeToString(sha256.New().Sum(nil))
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, emptyHash, "iam", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	query, _ := url.ParseQuery(r.URL.RawQuery)
	a, e := parseAuth(r, query)
	if e != nil {
		t.Fatal(e)
	}
	want := "GET\n/\nAction=ListUsers&Version=2010-05-08\n" +
		"content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n" +
		"content-type;host;x-amz-date\n" + emptyHash
	if got := string(canonicalRequest(r, query, a, emptyHash)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// The documentation's signature for this request.
	if a.signature != "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7" {
		t.Errorf("signature %s", a.signature)
	}
	v, err := NewVerifier([]Key{{AccessKeyID: creds.AccessKeyID, Secret: creds.SecretAccessKey}}, "iam", 15*time.Minute, func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	if _, e := v.Verify(r, nil); e != nil {
		t.Error(e)
	}
}
