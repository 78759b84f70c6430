package georoute

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const route53NS = "https://route53.amazonaws.com/doc/2013-04-01/"

// FuzzRoute53 posts arbitrary bodies, signed with a valid key so that they reach the XML parser,
// as ChangeResourceRecordSets and CreateHostedZone: no panic, and every answer a Route 53
// document: an ErrorResponse with a code and a request id for a 4xx or 5xx.
func FuzzRoute53(f *testing.F) {
	_, h := fuzzAPIs(f)
	// The hosted zone ids of the zone files' zones, as ListHostedZones gives them.
	_, list := route53Do(f, h, "GET", "/2013-04-01/hostedzone", nil, awsKeyID, awsSecret)
	ids := regexp.MustCompile(`<Id>(/hostedzone/[^<]+)</Id>`).FindAllStringSubmatch(string(list), -1)
	if len(ids) == 0 {
		f.Fatalf("no hosted zones: %s", list)
	}
	paths := []string{"/2013-04-01/hostedzone"}
	for _, id := range ids {
		paths = append(paths, "/2013-04-01"+id[1]+"/rrset")
	}
	keys := [][2]string{{awsKeyID, awsSecret}, {awsOrgKeyID, awsOrgSecret}}

	rrset := func(action, name, rtype, value string) []byte {
		return []byte(`<?xml version="1.0" encoding="UTF-8"?><ChangeResourceRecordSetsRequest xmlns="` + route53NS + `"><ChangeBatch><Changes><Change><Action>` + action +
			`</Action><ResourceRecordSet><Name>` + name + `</Name><Type>` + rtype + `</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>` + value +
			`</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`)
	}
	zone := func(name, ref string) []byte {
		return []byte(`<CreateHostedZoneRequest xmlns="` + route53NS + `"><Name>` + name + `</Name><CallerReference>` + ref +
			`</CallerReference><HostedZoneConfig><Comment>fuzz</Comment></HostedZoneConfig></CreateHostedZoneRequest>`)
	}
	for op := range paths {
		for _, b := range [][]byte{
			rrset("CREATE", "fuzz.example.org", "A", "192.0.2.1"),
			rrset("UPSERT", "fuzz.example.net.", "TXT", `"a" "b"`),
			rrset("DELETE", "nope.example.org", "A", "192.0.2.1"),
			rrset("MOVE", "x.example.org", "A", "192.0.2.1"),
			rrset("CREATE", `\052.example.org`, "CNAME", "www.example.org"),
			rrset("CREATE", "x.example.org", "MX", "10"),
			rrset("CREATE", "x.example.org", "SOA", "a b 1 2 3 4 5"),
			zone("example.com", "ref1"),
			zone("example.com.", "ref1"),
			zone("com", "ref2"),
			zone("a..b", "ref3"),
			[]byte(`<ChangeResourceRecordSetsRequest><ChangeBatch>`),
			[]byte(`<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><CreateHostedZoneRequest><Name>&b;</Name></CreateHostedZoneRequest>`),
			bytes.Repeat([]byte("<a>"), 10000),
			nil,
		} {
			f.Add(uint8(op), uint8(op%2), b)
		}
	}
	f.Fuzz(func(t *testing.T, op, key uint8, body []byte) {
		path := paths[int(op)%len(paths)]
		k := keys[int(key)%len(keys)]
		code, raw := route53Do(t, h, "POST", path, body, k[0], k[1])
		if code < 200 || code > 599 || http.StatusText(code) == "" {
			t.Fatalf("POST %s: status %d", path, code)
		}
		var doc struct {
			XMLName xml.Name
			Error   struct{ Type, Code, Message string }
			ID      string `xml:"RequestId"`
		}
		if err := xml.Unmarshal(raw, &doc); err != nil || doc.XMLName.Space != route53NS {
			t.Fatalf("POST %s: %d, not a Route 53 document (%v): %q", path, code, err, raw)
		}
		if code >= 400 && (doc.XMLName.Local != "ErrorResponse" || doc.Error.Code == "" || doc.Error.Message == "" || doc.ID == "") {
			t.Fatalf("POST %s: %d, not a Route 53 error: %q", path, code, raw)
		}
		if code < 400 && doc.XMLName.Local == "ErrorResponse" {
			t.Fatalf("POST %s: %d with an error document: %q", path, code, raw)
		}
	})
}

// route53Do sends a request signed with the key given straight to h.
func route53Do(t testing.TB, h http.Handler, method, path string, body []byte, id, secret string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://127.0.0.1"+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, req, hex.EncodeToString(sum[:]), "route53", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}
