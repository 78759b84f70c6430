package georoute

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/miekg/dns"
)

const (
	awsKeyID     = "AKIAGEOROUTETEST0001"
	awsSecret    = "test/secret/0123456789abcdefghijABCDEFGH"
	awsOrgKeyID  = "AKIAGEOROUTETEST0002" // may change example.org only
	awsOrgSecret = "test/secret/org/0123456789abcdefghijABCD"
)

// r53 is the appliance with its Route 53 API, and an SDK client for it.
type r53 struct {
	t    *testing.T
	c    *route53.Client
	base string // http://127.0.0.1:PORT
	dns  string
}

func startRoute53(t *testing.T, dir string) *r53 {
	t.Helper()
	return startRoute53With(t, dir, "", "")
}

// startRoute53With is startRoute53 with more lines in the server block (plugins) and in
// georoute's block.
func startRoute53With(t *testing.T, dir, server, block string) *r53 {
	t.Helper()
	t.Setenv("GEOROUTE_TEST_AWS_KEY", awsKeyID)
	t.Setenv("GEOROUTE_TEST_AWS_SECRET", awsSecret)
	keys := filepath.Join(dir, "aws-keys")
	os.WriteFile(keys, []byte(fmt.Sprintf("# limited\n%s %s example.org\n", awsOrgKeyID, awsOrgSecret)), 0o600)
	cfg := filepath.Join(dir, "georoute.yaml")
	os.WriteFile(cfg, []byte(testConfig(t)), 0o644)
	addr := freePort(t)
	udp, _ := startServer(t, fmt.Sprintf(`.:0 {
		bind 127.0.0.1
		%s
		georoute {
			zones testdata/zones
			config %s
			geoip testdata/geoip2-city.mmdb
			store %s
			route53 %s
			route53_key env:GEOROUTE_TEST_AWS_KEY env:GEOROUTE_TEST_AWS_SECRET
			route53_keys %s
			%s
			reload 0
		}
	}`, server, cfg, filepath.Join(dir, "georoute.db"), addr, keys, block))
	s := &r53{t: t, base: "http://" + addr, dns: udp}
	s.c = s.client(awsKeyID, awsSecret)
	return s
}

// client is an SDK client of the server, signing with the key given.
func (s *r53) client(id, secret string) *route53.Client {
	return route53.New(route53.Options{
		Region:           "eu-central-1", // a client signs with its own region when the endpoint is custom
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		BaseEndpoint:     aws.String(s.base),
		RetryMaxAttempts: 1,
	})
}

var ctx = context.Background()

// apiError returns err's Route 53 error code and message, failing when it is not one.
func apiError(t *testing.T, err error) (code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want a Route 53 error, got %v", err)
	}
	var icb *types.InvalidChangeBatch
	if errors.As(err, &icb) && len(icb.Messages) > 0 {
		return ae.ErrorCode(), strings.Join(icb.Messages, "\n")
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

func wantCode(t *testing.T, err error, code, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got no error", code)
	}
	got, msg := apiError(t, err)
	if got != code || !strings.Contains(msg, contains) {
		t.Fatalf("want %s %q, got %s %q", code, contains, got, msg)
	}
}

// answer asks the server for name and returns the answer's rdata (sorted) and the rcode.
func (s *r53) answer(name string, qtype uint16) ([]string, int) {
	s.t.Helper()
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(new(dns.Msg).SetQuestion(name, qtype), s.dns)
	if err != nil {
		s.t.Fatalf("dns %s: %v", name, err)
	}
	var out []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
	}
	slices.Sort(out)
	return out, r.Rcode
}

func (s *r53) wantAnswer(name string, qtype uint16, want ...string) {
	s.t.Helper()
	got, rcode := s.answer(name, qtype)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		s.t.Errorf("%s %s: answer %q (%s), want %q", name, dns.TypeToString[qtype], got, dns.RcodeToString[rcode], want)
	}
}

func rrset(name string, t types.RRType, ttl int64, values ...string) *types.ResourceRecordSet {
	rs := &types.ResourceRecordSet{Name: aws.String(name), Type: t, TTL: aws.Int64(ttl)}
	for _, v := range values {
		rs.ResourceRecords = append(rs.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return rs
}

func change(a types.ChangeAction, rs *types.ResourceRecordSet) types.Change {
	return types.Change{Action: a, ResourceRecordSet: rs}
}

func (s *r53) change(zoneID string, changes ...types.Change) (*types.ChangeInfo, error) {
	out, err := s.c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID), ChangeBatch: &types.ChangeBatch{Changes: changes, Comment: aws.String("test")}})
	if err != nil {
		return nil, err
	}
	return out.ChangeInfo, nil
}

func (s *r53) mustChange(zoneID string, changes ...types.Change) *types.ChangeInfo {
	s.t.Helper()
	info, err := s.change(zoneID, changes...)
	if err != nil {
		s.t.Fatalf("ChangeResourceRecordSets: %v", err)
	}
	if info.Status != types.ChangeStatusInsync || !strings.HasPrefix(*info.Id, "/change/C") || info.SubmittedAt == nil {
		s.t.Errorf("change info %+v", info)
	}
	return info
}

func (s *r53) createZone(name, ref string) *route53.CreateHostedZoneOutput {
	s.t.Helper()
	out, err := s.c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String(name), CallerReference: aws.String(ref),
		HostedZoneConfig: &types.HostedZoneConfig{Comment: aws.String("made by " + ref)}})
	if err != nil {
		s.t.Fatalf("CreateHostedZone %s: %v", name, err)
	}
	return out
}

// allSets lists a zone's record sets, MaxItems at a time.
func (s *r53) allSets(zoneID string, maxItems int32) []string {
	s.t.Helper()
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID), MaxItems: aws.Int32(maxItems)}
	var out []string
	for range 1000 {
		page, err := s.c.ListResourceRecordSets(ctx, in)
		if err != nil {
			s.t.Fatalf("ListResourceRecordSets: %v", err)
		}
		if len(page.ResourceRecordSets) > int(maxItems) {
			s.t.Fatalf("page of %d, MaxItems %d", len(page.ResourceRecordSets), maxItems)
		}
		for _, rs := range page.ResourceRecordSets {
			var vals []string
			for _, rr := range rs.ResourceRecords {
				vals = append(vals, *rr.Value)
			}
			out = append(out, fmt.Sprintf("%s %s %d %s", *rs.Name, rs.Type, *rs.TTL, strings.Join(vals, " | ")))
		}
		if !page.IsTruncated {
			return out
		}
		in.StartRecordName, in.StartRecordType = page.NextRecordName, page.NextRecordType
	}
	s.t.Fatal("ListResourceRecordSets does not end")
	return nil
}

// TestRoute53Zones: hosted zones through the SDK, the zone files' among them.
func TestRoute53Zones(t *testing.T) {
	s := startRoute53(t, t.TempDir())
	created := s.createZone("Example.COM", "ref-1")
	id := *created.HostedZone.Id
	if !strings.HasPrefix(id, "/hostedzone/Z") || len(id) != len("/hostedzone/")+21 || *created.HostedZone.Name != "example.com." ||
		*created.HostedZone.CallerReference != "ref-1" || *created.HostedZone.Config.Comment != "made by ref-1" ||
		*created.HostedZone.ResourceRecordSetCount != 2 || created.ChangeInfo.Status != types.ChangeStatusInsync ||
		!strings.HasSuffix(*created.Location, "/2013-04-01"+id) {
		t.Errorf("CreateHostedZone: %+v %+v %v", created.HostedZone, created.ChangeInfo, *created.Location)
	}
	if ns := created.DelegationSet.NameServers; !slices.Equal(ns, []string{"ns1.example.net", "ns2.example.net"}) {
		t.Errorf("delegation set %v", ns)
	}
	s.wantAnswer("example.com.", dns.TypeNS, "ns1.example.net.", "ns2.example.net.")

	// The same caller reference again, or the same zone: HostedZoneAlreadyExists.
	_, err := s.c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("example.info"), CallerReference: aws.String("ref-1")})
	wantCode(t, err, "HostedZoneAlreadyExists", "caller reference")
	_, err = s.c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("example.com."), CallerReference: aws.String("ref-2")})
	wantCode(t, err, "HostedZoneAlreadyExists", "example.com.")
	_, err = s.c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("example.net"), CallerReference: aws.String("ref-3")})
	wantCode(t, err, "HostedZoneAlreadyExists", "example.net.")
	_, err = s.c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("bad..name"), CallerReference: aws.String("ref-4")})
	wantCode(t, err, "InvalidDomainName", "bad..name")

	// Ids with and without their prefix; the zone's own, stable across calls.
	for _, q := range []string{id, strings.TrimPrefix(id, "/hostedzone/")} {
		got, err := s.c.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(q)})
		if err != nil || *got.HostedZone.Id != id || len(got.DelegationSet.NameServers) != 2 {
			t.Fatalf("GetHostedZone %s: %v %+v", q, err, got)
		}
	}
	_, err = s.c.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String("Z0000000000000000000X")})
	wantCode(t, err, "NoSuchHostedZone", "Z0000000000000000000X")

	s.createZone("example.info", "ref-5")
	s.createZone("b.example.info", "ref-6")
	count, err := s.c.GetHostedZoneCount(ctx, &route53.GetHostedZoneCountInput{})
	if err != nil || *count.HostedZoneCount != 5 {
		t.Fatalf("GetHostedZoneCount: %v %v", err, count)
	}

	// ListHostedZones, two at a time: every zone once, the zone files' too.
	var listed []string
	in := &route53.ListHostedZonesInput{MaxItems: aws.Int32(2)}
	for pages := 0; ; pages++ {
		out, err := s.c.ListHostedZones(ctx, in)
		if err != nil || len(out.HostedZones) > 2 || pages > 5 {
			t.Fatalf("ListHostedZones: %v %+v", err, out)
		}
		for _, z := range out.HostedZones {
			listed = append(listed, *z.Name)
		}
		if !out.IsTruncated {
			break
		}
		in.Marker = out.NextMarker
	}
	slices.Sort(listed)
	if want := []string{"b.example.info.", "example.com.", "example.info.", "example.net.", "example.org."}; !slices.Equal(listed, want) {
		t.Errorf("ListHostedZones: %v, want %v", listed, want)
	}

	// By name: labels reversed (com < info < net < org; example.info before b.example.info).
	var byName []string
	bn := &route53.ListHostedZonesByNameInput{MaxItems: aws.Int32(2)}
	for pages := 0; ; pages++ {
		out, err := s.c.ListHostedZonesByName(ctx, bn)
		if err != nil || pages > 5 {
			t.Fatalf("ListHostedZonesByName: %v", err)
		}
		for _, z := range out.HostedZones {
			byName = append(byName, *z.Name)
		}
		if !out.IsTruncated {
			break
		}
		bn.DNSName, bn.HostedZoneId = out.NextDNSName, out.NextHostedZoneId
	}
	if want := []string{"example.com.", "example.info.", "b.example.info.", "example.net.", "example.org."}; !slices.Equal(byName, want) {
		t.Errorf("ListHostedZonesByName: %v, want %v", byName, want)
	}
	out, err := s.c.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String("example.net"), MaxItems: aws.Int32(1)})
	if err != nil || len(out.HostedZones) != 1 || *out.HostedZones[0].Name != "example.net." || !out.IsTruncated || *out.NextDNSName != "example.org." {
		t.Fatalf("ListHostedZonesByName example.net: %v %+v", err, out)
	}
	netID := *out.HostedZones[0].Id

	// Comments and tags.
	upd, err := s.c.UpdateHostedZoneComment(ctx, &route53.UpdateHostedZoneCommentInput{Id: aws.String(id), Comment: aws.String("new comment")})
	if err != nil || *upd.HostedZone.Config.Comment != "new comment" || *upd.HostedZone.CallerReference != "ref-1" {
		t.Fatalf("UpdateHostedZoneComment: %v %+v", err, upd)
	}
	_, err = s.c.UpdateHostedZoneComment(ctx, &route53.UpdateHostedZoneCommentInput{Id: aws.String(netID), Comment: aws.String("x")})
	wantCode(t, err, "InvalidInput", "zone file")
	bare := strings.TrimPrefix(id, "/hostedzone/")
	_, err = s.c.ChangeTagsForResource(ctx, &route53.ChangeTagsForResourceInput{ResourceType: types.TagResourceTypeHostedzone, ResourceId: aws.String(bare),
		AddTags: []types.Tag{{Key: aws.String("owner"), Value: aws.String("team-a")}, {Key: aws.String("env"), Value: aws.String("test")}}})
	if err != nil {
		t.Fatalf("ChangeTagsForResource: %v", err)
	}
	_, err = s.c.ChangeTagsForResource(ctx, &route53.ChangeTagsForResourceInput{ResourceType: types.TagResourceTypeHostedzone, ResourceId: aws.String(bare), RemoveTagKeys: []string{"env"}})
	if err != nil {
		t.Fatalf("ChangeTagsForResource remove: %v", err)
	}
	tags, err := s.c.ListTagsForResource(ctx, &route53.ListTagsForResourceInput{ResourceType: types.TagResourceTypeHostedzone, ResourceId: aws.String(bare)})
	if err != nil || len(tags.ResourceTagSet.Tags) != 1 || *tags.ResourceTagSet.Tags[0].Key != "owner" || *tags.ResourceTagSet.ResourceId != bare {
		t.Fatalf("ListTagsForResource: %v %+v", err, tags)
	}
	get, _ := s.c.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(id)})
	if *get.HostedZone.Config.Comment != "new comment" {
		t.Errorf("the tags took the comment: %+v", get.HostedZone.Config)
	}

	// Delete: a zone file's is refused, a zone with records is not empty, an empty one goes.
	_, err = s.c.DeleteHostedZone(ctx, &route53.DeleteHostedZoneInput{Id: aws.String(netID)})
	wantCode(t, err, "InvalidInput", "zone file")
	s.mustChange(id, change(types.ChangeActionCreate, rrset("www.example.com", types.RRTypeA, 60, "192.0.2.1")))
	_, err = s.c.DeleteHostedZone(ctx, &route53.DeleteHostedZoneInput{Id: aws.String(id)})
	wantCode(t, err, "HostedZoneNotEmpty", "")
	s.mustChange(id, change(types.ChangeActionDelete, rrset("www.example.com", types.RRTypeA, 60, "192.0.2.1")))
	del, err := s.c.DeleteHostedZone(ctx, &route53.DeleteHostedZoneInput{Id: aws.String(id)})
	if err != nil || del.ChangeInfo.Status != types.ChangeStatusInsync {
		t.Fatalf("DeleteHostedZone: %v", err)
	}
	if _, rcode := s.answer("example.com.", dns.TypeSOA); rcode != dns.RcodeRefused {
		t.Errorf("example.com after its delete: %s", dns.RcodeToString[rcode])
	}
	_, err = s.c.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(id)})
	wantCode(t, err, "NoSuchHostedZone", "")
	// The id is the origin's: the zone made again has it again.
	if again := s.createZone("example.com", "ref-7"); *again.HostedZone.Id != id {
		t.Errorf("id %s, then %s", id, *again.HostedZone.Id)
	}
}

// TestRoute53Records: record sets changed in batches, answered in DNS at once, listed in order.
func TestRoute53Records(t *testing.T) {
	s := startRoute53(t, t.TempDir())
	id := *s.createZone("example.com", "rec").HostedZone.Id

	info := s.mustChange(id,
		change(types.ChangeActionCreate, rrset("www.example.com", types.RRTypeA, 60, "192.0.2.1", "192.0.2.2")),
		change(types.ChangeActionCreate, rrset("www.example.com.", types.RRTypeTxt, 300, `"hello world"`)),
		change(types.ChangeActionCreate, rrset(`\052.dev.example.com`, types.RRTypeA, 60, "192.0.2.9")),
		change(types.ChangeActionCreate, rrset("mail.example.com", types.RRTypeMx, 300, "10 mx.example.com")))
	s.wantAnswer("www.example.com.", dns.TypeA, "192.0.2.1", "192.0.2.2")
	s.wantAnswer("www.example.com.", dns.TypeTXT, `"hello world"`)
	s.wantAnswer("x.dev.example.com.", dns.TypeA, "192.0.2.9")
	s.wantAnswer("mail.example.com.", dns.TypeMX, "10 mx.example.com.") // absolute, as Route 53 reads it
	ch, err := s.c.GetChange(ctx, &route53.GetChangeInput{Id: info.Id})
	if err != nil || ch.ChangeInfo.Status != types.ChangeStatusInsync || *ch.ChangeInfo.Id != *info.Id {
		t.Fatalf("GetChange: %v %+v", err, ch)
	}
	if _, err := s.c.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(strings.TrimPrefix(*info.Id, "/change/"))}); err != nil {
		t.Errorf("GetChange without the prefix: %v", err)
	}
	_, err = s.c.GetChange(ctx, &route53.GetChangeInput{Id: aws.String("C2682N5HXP0BZ4")})
	wantCode(t, err, "NoSuchChange", "")

	// UPSERT replaces, DELETE must match exactly.
	s.mustChange(id, change(types.ChangeActionUpsert, rrset("www.example.com", types.RRTypeA, 30, "192.0.2.3")))
	s.wantAnswer("www.example.com.", dns.TypeA, "192.0.2.3")
	s.wantAnswer("www.example.com.", dns.TypeTXT, `"hello world"`) // the name's other types stay

	_, err = s.change(id, change(types.ChangeActionCreate, rrset("www.example.com", types.RRTypeA, 30, "192.0.2.4")))
	wantCode(t, err, "InvalidChangeBatch", "Tried to create resource record set [name='www.example.com.', type='A'] but it already exists")
	_, err = s.change(id, change(types.ChangeActionDelete, rrset("nope.example.com", types.RRTypeA, 30, "192.0.2.4")))
	wantCode(t, err, "InvalidChangeBatch", "Tried to delete resource record set [name='nope.example.com.', type='A'] but it was not found")
	_, err = s.change(id, change(types.ChangeActionDelete, rrset("www.example.com", types.RRTypeAaaa, 30, "2001:db8::1")))
	wantCode(t, err, "InvalidChangeBatch", "Tried to delete resource record set [name='www.example.com.', type='AAAA'] but it was not found")
	_, err = s.change(id, change(types.ChangeActionDelete, rrset("www.example.com", types.RRTypeA, 60, "192.0.2.3")))
	wantCode(t, err, "InvalidChangeBatch", "Tried to delete resource record set [name='www.example.com.', type='A'] but the values provided do not match the current values")
	_, err = s.change(id, change(types.ChangeActionDelete, rrset("www.example.com", types.RRTypeA, 30, "192.0.2.99")))
	wantCode(t, err, "InvalidChangeBatch", "do not match the current values")
	_, err = s.change(id, change(types.ChangeActionCreate, rrset("www.example.org", types.RRTypeA, 30, "192.0.2.4")))
	wantCode(t, err, "InvalidChangeBatch", "RRSet with DNS name www.example.org. is not permitted in zone example.com.")
	_, err = s.change(id, change(types.ChangeActionUpsert, rrset("example.com", types.RRTypeNs, 30, "ns.example.org.")))
	wantCode(t, err, "InvalidChangeBatch", "the SOA and NS records at the apex")
	_, err = s.change(id, change(types.ChangeActionCreate, rrset("bad.example.com", types.RRTypeA, 30, "192.0.2.300")))
	wantCode(t, err, "InvalidChangeBatch", "Invalid Resource Record: [name='bad.example.com.', type='A']")

	// Atomic: one bad change and nothing applies.
	_, err = s.change(id,
		change(types.ChangeActionCreate, rrset("new.example.com", types.RRTypeA, 30, "192.0.2.5")),
		change(types.ChangeActionDelete, rrset("www.example.com", types.RRTypeA, 30, "192.0.2.1")))
	wantCode(t, err, "InvalidChangeBatch", "do not match")
	if got, rcode := s.answer("new.example.com.", dns.TypeA); len(got) != 0 || rcode != dns.RcodeNameError {
		t.Errorf("half a batch applied: new.example.com %v %s", got, dns.RcodeToString[rcode])
	}
	// Terraform's update: DELETE and CREATE of one record set in one batch.
	s.mustChange(id,
		change(types.ChangeActionDelete, rrset("www.example.com", types.RRTypeA, 30, "192.0.2.3")),
		change(types.ChangeActionCreate, rrset("www.example.com", types.RRTypeA, 120, "192.0.2.6")))
	s.wantAnswer("www.example.com.", dns.TypeA, "192.0.2.6")

	// Route 53's limits: 1,000 records and 32,000 characters a batch, an UPSERT's counting twice.
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	addr := func(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255) }
	_, err = s.change(id, change(types.ChangeActionCreate, rrset("big.example.com", types.RRTypeA, 30, many(1001, addr)...)))
	wantCode(t, err, "InvalidChangeBatch", "Number of records limit of 1000 exceeded")
	_, err = s.change(id, change(types.ChangeActionUpsert, rrset("big.example.com", types.RRTypeA, 30, many(501, addr)...)))
	wantCode(t, err, "InvalidChangeBatch", "Number of records limit of 1000 exceeded")
	long := func(int) string { return `"` + strings.Repeat("x", 253) + `"` }
	_, err = s.change(id, change(types.ChangeActionCreate, rrset("big.example.com", types.RRTypeTxt, 30, many(126, long)...)))
	wantCode(t, err, "InvalidChangeBatch", "Number of characters limit of 32000 exceeded")
	_, err = s.change(id, change(types.ChangeActionUpsert, rrset("big.example.com", types.RRTypeTxt, 30, many(63, long)...)))
	wantCode(t, err, "InvalidChangeBatch", "Number of characters limit of 32000 exceeded")
	if _, rcode := s.answer("big.example.com.", dns.TypeA); rcode != dns.RcodeNameError {
		t.Errorf("a batch over the limits applied")
	}

	// What this appliance cannot serve as written is refused whole: a routing alias.
	alias := &types.ResourceRecordSet{Name: aws.String("w.example.com"), Type: types.RRTypeA, SetIdentifier: aws.String("one"), Weight: aws.Int64(10),
		AliasTarget: &types.AliasTarget{HostedZoneId: aws.String(id), DNSName: aws.String("www.example.com"), EvaluateTargetHealth: true}}
	_, err = s.change(id, change(types.ChangeActionCreate, rrset("ok.example.com", types.RRTypeA, 30, "192.0.2.8")), change(types.ChangeActionCreate, alias))
	wantCode(t, err, "InvalidChangeBatch", "alias record sets with a routing policy are not supported by this appliance")
	s.wantAnswer("ok.example.com.", dns.TypeA)

	// Listed in Route 53's order, one at a time: the SOA and NS first, \052 for '*'.
	want := []string{
		"example.com. NS 3600 ns1.example.net. | ns2.example.net.",
		"example.com. SOA 3600",
		`\052.dev.example.com. A 60 192.0.2.9`,
		"mail.example.com. MX 300 10 mx.example.com.",
		"www.example.com. A 120 192.0.2.6",
		`www.example.com. TXT 300 "hello world"`,
	}
	full := s.allSets(id, 300)
	one := s.allSets(id, 1)
	if !slices.Equal(full, one) {
		t.Errorf("paged one at a time:\n%s\nat once:\n%s", strings.Join(one, "\n"), strings.Join(full, "\n"))
	}
	if len(full) != len(want) {
		t.Fatalf("record sets:\n%s\nwant:\n%s", strings.Join(full, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(full[i], want[i]) {
			t.Errorf("record set %d: %s, want %s", i, full[i], want[i])
		}
	}
	zone, _ := s.c.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(id)})
	if n := *zone.HostedZone.ResourceRecordSetCount; n != int64(len(want)) {
		t.Errorf("ResourceRecordSetCount %d, want %d", n, len(want))
	}

	// Terraform's read-back of one record set.
	rb, err := s.c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id),
		StartRecordName: aws.String("www.example.com"), StartRecordType: types.RRTypeTxt, MaxItems: aws.Int32(1)})
	if err != nil || len(rb.ResourceRecordSets) != 1 || *rb.ResourceRecordSets[0].Name != "www.example.com." || rb.ResourceRecordSets[0].Type != types.RRTypeTxt || rb.IsTruncated {
		t.Fatalf("read-back: %v %+v", err, rb)
	}
	rb, err = s.c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id),
		StartRecordName: aws.String("mail.example.com"), StartRecordType: types.RRTypeMx, MaxItems: aws.Int32(1)})
	if err != nil || *rb.ResourceRecordSets[0].Name != "mail.example.com." || !rb.IsTruncated || *rb.NextRecordName != "www.example.com." || rb.NextRecordType != types.RRTypeA {
		t.Fatalf("read-back of mail: %v %+v", err, rb)
	}
}

// TestRoute53ZoneFile: a zone file's records are listed with the names' and cannot be changed
// here; names beside them can.
func TestRoute53ZoneFile(t *testing.T) {
	s := startRoute53(t, t.TempDir())
	out, err := s.c.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String("example.net"), MaxItems: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	id := *out.HostedZones[0].Id
	full := s.allSets(id, 300)
	if one := s.allSets(id, 1); !slices.Equal(full, one) {
		t.Errorf("paged one at a time:\n%s\nat once:\n%s", strings.Join(one, "\n"), strings.Join(full, "\n"))
	}
	for _, want := range []string{
		"example.net. MX 3600 10 mail.example.net.",
		"example.net. NS 3600 ns1.example.net. | ns2.example.net.",
		"example.net. SOA 3600 ns1.example.net. hostmaster.example.net. 2026112201 7200 3600 1209600 300",
		`\052.dev.example.net. A 3600 192.0.2.81`,
		"k3x9.t.example.net. A 10 203.0.113.20", // pinned to an edge: its addresses
		`txt.example.net. TXT 60 "hello"`,       // the config file's static records
		`www.example.net. TXT 3600 "static beside routed"`,
	} {
		if !slices.Contains(full, want) {
			t.Errorf("no %q in\n%s", want, strings.Join(full, "\n"))
		}
	}
	if full[0] != "example.net. MX 3600 10 mail.example.net." {
		t.Errorf("first record set %q", full[0])
	}

	_, err = s.change(id, change(types.ChangeActionUpsert, rrset("static.example.net", types.RRTypeA, 60, "192.0.2.1")))
	wantCode(t, err, "InvalidChangeBatch", "Tried to upsert resource record set [name='static.example.net.', type='A'] but it is defined by the zone file of example.net.")
	_, err = s.change(id, change(types.ChangeActionCreate, rrset("alias.example.net", types.RRTypeTxt, 60, `"x"`)))
	wantCode(t, err, "InvalidChangeBatch", "holds a CNAME at the name")
	_, err = s.change(id, change(types.ChangeActionCreate, rrset("x.lab.example.net", types.RRTypeA, 60, "192.0.2.1")))
	wantCode(t, err, "InvalidChangeBatch", "delegates")
	_, err = s.change(id, change(types.ChangeActionUpsert, rrset("www.example.net", types.RRTypeA, 60, "192.0.2.1")))
	wantCode(t, err, "InvalidChangeBatch", "is defined in the config file") // a routed name of the config file
	_, err = s.change(id, change(types.ChangeActionDelete, rrset("txt.example.net", types.RRTypeTxt, 60, `"hello"`)))
	wantCode(t, err, "InvalidChangeBatch", "config file")

	// A name beside the zone file's: served at once, the file's records of other types kept.
	s.mustChange(id, change(types.ChangeActionCreate, rrset("static.example.net", types.RRTypeTxt, 60, `"beside"`)))
	s.wantAnswer("static.example.net.", dns.TypeTXT, `"beside"`)
	s.wantAnswer("static.example.net.", dns.TypeA, "192.0.2.80")
}

// TestRoute53Tools replays the calls external-dns and cert-manager make.
func TestRoute53Tools(t *testing.T) {
	s := startRoute53(t, t.TempDir())
	id := *s.createZone("example.com", "tools").HostedZone.Id
	s.mustChange(id,
		change(types.ChangeActionCreate, rrset("old.example.com", types.RRTypeA, 300, "192.0.2.10")),
		change(types.ChangeActionCreate, rrset("old.example.com", types.RRTypeTxt, 300, `"heritage=external-dns,external-dns/owner=default"`)))

	t.Run("external-dns", func(t *testing.T) {
		// Zones, paged; their tags; every record set of the zone, 300 at a time.
		var zones []types.HostedZone
		p := route53.NewListHostedZonesPaginator(s.c, &route53.ListHostedZonesInput{MaxItems: aws.Int32(1)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			zones = append(zones, page.HostedZones...)
		}
		if len(zones) != 3 {
			t.Fatalf("%d zones", len(zones))
		}
		var ids []string
		for _, z := range zones {
			ids = append(ids, strings.TrimPrefix(*z.Id, "/hostedzone/"))
		}
		tags, err := s.c.ListTagsForResources(ctx, &route53.ListTagsForResourcesInput{ResourceType: types.TagResourceTypeHostedzone, ResourceIds: ids})
		if err != nil || len(tags.ResourceTagSets) != 3 {
			t.Fatalf("ListTagsForResources: %v %+v", err, tags)
		}
		rp := route53.NewListResourceRecordSetsPaginator(s.c, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id), MaxItems: aws.Int32(300)})
		n := 0
		for rp.HasMorePages() {
			page, err := rp.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.ResourceRecordSets)
		}
		if n != 4 {
			t.Errorf("%d record sets, want 4", n)
		}
		// Its plan in one batch, in its order: UPSERT, DELETE, CREATE, each A with its TXT.
		s.mustChange(id,
			change(types.ChangeActionUpsert, rrset("app.example.com", types.RRTypeA, 300, "192.0.2.20")),
			change(types.ChangeActionUpsert, rrset("app.example.com", types.RRTypeTxt, 300, `"heritage=external-dns,external-dns/owner=default"`)),
			change(types.ChangeActionDelete, rrset("old.example.com", types.RRTypeA, 300, "192.0.2.10")),
			change(types.ChangeActionDelete, rrset("old.example.com", types.RRTypeTxt, 300, `"heritage=external-dns,external-dns/owner=default"`)),
			change(types.ChangeActionCreate, rrset("new.example.com", types.RRTypeA, 300, "192.0.2.30")),
			change(types.ChangeActionCreate, rrset("new.example.com", types.RRTypeTxt, 300, `"heritage=external-dns,external-dns/owner=default"`)))
		s.wantAnswer("app.example.com.", dns.TypeA, "192.0.2.20")
		s.wantAnswer("new.example.com.", dns.TypeA, "192.0.2.30")
		s.wantAnswer("new.example.com.", dns.TypeTXT, `"heritage=external-dns,external-dns/owner=default"`)
		if _, rcode := s.answer("old.example.com.", dns.TypeA); rcode != dns.RcodeNameError {
			t.Errorf("old.example.com: %s", dns.RcodeToString[rcode])
		}
		// A weighted endpoint (--aws-... set-identifier annotations): its TXT registry records
		// carry the same SetIdentifier and Weight; the newer registry's "a-" prefixed TXT too.
		w := func(name string, typ types.RRType, id string, wt int64, v string) *types.ResourceRecordSet {
			rs := rrset(name, typ, 300, v)
			rs.SetIdentifier, rs.Weight = aws.String(id), aws.Int64(wt)
			return rs
		}
		owner := `"heritage=external-dns,external-dns/owner=default,external-dns/resource=service/default/app"`
		s.mustChange(id,
			change(types.ChangeActionCreate, w("canary.example.com", types.RRTypeA, "stable", 90, "192.0.2.40")),
			change(types.ChangeActionCreate, w("canary.example.com", types.RRTypeTxt, "stable", 90, owner)),
			change(types.ChangeActionCreate, w("a-canary.example.com", types.RRTypeTxt, "stable", 90, owner)),
			change(types.ChangeActionCreate, w("canary.example.com", types.RRTypeA, "next", 10, "192.0.2.41")),
			change(types.ChangeActionCreate, w("canary.example.com", types.RRTypeTxt, "next", 10, owner)),
			change(types.ChangeActionCreate, w("a-canary.example.com", types.RRTypeTxt, "next", 10, owner)))
		seen := map[string]int{}
		for range 200 {
			got, _ := s.answer("canary.example.com.", dns.TypeA)
			seen[strings.Join(got, " ")]++
		}
		if len(seen) != 2 || seen["192.0.2.40"] < seen["192.0.2.41"] {
			t.Errorf("weighted 90/10 answered %v", seen)
		}
		s.wantAnswer("a-canary.example.com.", dns.TypeTXT, owner)
		// It reads them back with their SetIdentifier, and deletes them as read.
		var del []types.Change
		for _, rs := range s.sets(id) {
			if strings.Contains(*rs.Name, "canary") {
				if rs.SetIdentifier == nil || rs.Weight == nil {
					t.Errorf("listed without its routing: %s", describe(rs))
				}
				del = append(del, change(types.ChangeActionDelete, &rs))
			}
		}
		if len(del) != 6 {
			t.Errorf("%d canary record sets listed, want 6", len(del))
		}
		s.mustChange(id, del...)
		if _, rcode := s.answer("canary.example.com.", dns.TypeA); rcode != dns.RcodeNameError {
			t.Errorf("canary.example.com after its DELETE: %s", dns.RcodeToString[rcode])
		}
	})

	t.Run("cert-manager", func(t *testing.T) {
		zs, err := s.c.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String("example.com.")})
		if err != nil || *zs.HostedZones[0].Name != "example.com." {
			t.Fatalf("ListHostedZonesByName: %v", err)
		}
		zid := *zs.HostedZones[0].Id
		txt := rrset("_acme-challenge.example.com.", types.RRTypeTxt, 10, `"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"`)
		info := s.mustChange(zid, change(types.ChangeActionUpsert, txt))
		w := route53.NewResourceRecordSetsChangedWaiter(s.c, func(o *route53.ResourceRecordSetsChangedWaiterOptions) { o.MinDelay = 10 * time.Millisecond })
		if err := w.Wait(ctx, &route53.GetChangeInput{Id: info.Id}, 5*time.Second); err != nil {
			t.Fatalf("waiting for INSYNC: %v", err)
		}
		s.wantAnswer("_acme-challenge.example.com.", dns.TypeTXT, `"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"`)
		s.mustChange(zid, change(types.ChangeActionDelete, txt))
		if _, rcode := s.answer("_acme-challenge.example.com.", dns.TypeTXT); rcode != dns.RcodeNameError {
			t.Errorf("the challenge after its DELETE: %s", dns.RcodeToString[rcode])
		}
		// cert-manager itself sends its TXT as a MultiValueAnswer record set whose SetIdentifier
		// is the token, and deletes it the same way.
		mv := *txt
		mv.MultiValueAnswer, mv.SetIdentifier = aws.Bool(true), aws.String(`"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"`)
		info = s.mustChange(zid, change(types.ChangeActionUpsert, &mv))
		if err := w.Wait(ctx, &route53.GetChangeInput{Id: info.Id}, 5*time.Second); err != nil {
			t.Fatalf("waiting for INSYNC: %v", err)
		}
		s.wantAnswer("_acme-challenge.example.com.", dns.TypeTXT, `"LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"`)
		s.mustChange(zid, change(types.ChangeActionDelete, &mv))
		if _, rcode := s.answer("_acme-challenge.example.com.", dns.TypeTXT); rcode != dns.RcodeNameError {
			t.Errorf("cert-manager's challenge after its DELETE: %s", dns.RcodeToString[rcode])
		}
	})
}

// signed sends a request signed with the test key (body may be anything).
func (s *r53) signed(method, path string, body []byte, id, secret string) (*http.Response, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	if id != "" {
		sum := sha256.Sum256(body)
		err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, req, hex.EncodeToString(sum[:]), "route53", "us-east-1", time.Now())
		if err != nil {
			s.t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// wantError checks a raw response: its status, its error code and its request id.
func (s *r53) wantError(resp *http.Response, raw []byte, status int, code string) {
	s.t.Helper()
	var e struct {
		XMLName xml.Name
		Error   struct{ Type, Code, Message string }
		ID      string `xml:"RequestId"`
	}
	if err := xml.Unmarshal(raw, &e); err != nil || e.XMLName.Space != "https://route53.amazonaws.com/doc/2013-04-01/" {
		s.t.Fatalf("%d %q: not a Route 53 error document: %v", resp.StatusCode, raw, err)
	}
	if resp.StatusCode != status || e.Error.Code != code || e.Error.Type != "Sender" || e.Error.Message == "" ||
		e.ID == "" || resp.Header.Get("x-amzn-RequestId") != e.ID {
		s.t.Errorf("got %d %+v (header id %q), want %d %s", resp.StatusCode, e, resp.Header.Get("x-amzn-RequestId"), status, code)
	}
}

// TestRoute53BadInput: every refusal a Route 53 error, nothing applied.
func TestRoute53BadInput(t *testing.T) {
	s := startRoute53(t, t.TempDir())
	id := *s.createZone("example.com", "bad").HostedZone.Id
	orgZones, _ := s.c.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String("example.org")})
	orgID := *orgZones.HostedZones[0].Id

	resp, raw := s.signed("GET", "/2013-04-01/hostedzone", nil, "", "")
	s.wantError(resp, raw, 403, "MissingAuthenticationToken")
	_, err := s.client(awsKeyID, "not-the-secret-0123456789abcdefghijABCD").ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	wantCode(t, err, "SignatureDoesNotMatch", "")
	_, err = s.client("AKIAGEOROUTEUNKNOWN1", awsSecret).ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	wantCode(t, err, "InvalidClientTokenId", "")

	// A key limited to example.org reads everything and changes only example.org.
	org := s.client(awsOrgKeyID, awsOrgSecret)
	if _, err := org.ListHostedZones(ctx, &route53.ListHostedZonesInput{}); err != nil {
		t.Errorf("the limited key lists zones: %v", err)
	}
	_, err = org.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(id),
		ChangeBatch: &types.ChangeBatch{Changes: []types.Change{change(types.ChangeActionCreate, rrset("x.example.com", types.RRTypeA, 60, "192.0.2.1"))}}})
	wantCode(t, err, "AccessDenied", "route53:ChangeResourceRecordSets")
	_, err = org.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("example.biz"), CallerReference: aws.String("org")})
	wantCode(t, err, "AccessDenied", "route53:CreateHostedZone")
	_, err = org.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(orgID),
		ChangeBatch: &types.ChangeBatch{Changes: []types.Change{change(types.ChangeActionCreate, rrset("x.example.org", types.RRTypeA, 60, "192.0.2.1"))}}})
	if err != nil {
		t.Errorf("the limited key in its own zone: %v", err)
	}
	s.wantAnswer("x.example.org.", dns.TypeA, "192.0.2.1")

	path := "/2013-04-01" + id + "/rrset"
	resp, raw = s.signed("POST", path, []byte("<ChangeResourceRecordSetsRequest><ChangeBatch>"), awsKeyID, awsSecret)
	s.wantError(resp, raw, 400, "MalformedInput")
	resp, raw = s.signed("POST", path, []byte(`<Other xmlns="https://route53.amazonaws.com/doc/2013-04-01/"/>`), awsKeyID, awsSecret)
	s.wantError(resp, raw, 400, "MalformedInput")
	// A batch's errors as Route 53 sends them now: an ErrorResponse, the messages in brackets.
	resp, raw = s.signed("POST", path, []byte(`<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes>`+
		`<Change><Action>DELETE</Action><ResourceRecordSet><Name>a.example.com</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>`+
		`</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`), awsKeyID, awsSecret)
	s.wantError(resp, raw, 400, "InvalidChangeBatch")
	if !bytes.Contains(raw, []byte("<Message>[Tried to delete resource record set [name=&#39;a.example.com.&#39;, type=&#39;A&#39;] but it was not found]</Message>")) {
		t.Errorf("InvalidChangeBatch: %s", raw)
	}
	resp, raw = s.signed("POST", path, []byte(`<ChangeResourceRecordSetsRequest><ChangeBatch><Changes><Change><Action>MOVE</Action></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`), awsKeyID, awsSecret)
	s.wantError(resp, raw, 400, "InvalidInput")
	big := append([]byte("<ChangeResourceRecordSetsRequest><!--"), bytes.Repeat([]byte("x"), 1<<20)...)
	resp, raw = s.signed("POST", path, big, awsKeyID, awsSecret)
	s.wantError(resp, raw, 400, "InvalidInput")
	resp, raw = s.signed("GET", "/2013-04-01/nosuchthing", nil, awsKeyID, awsSecret)
	s.wantError(resp, raw, 400, "InvalidAction")
	resp, raw = s.signed("GET", "/", nil, awsKeyID, awsSecret)
	s.wantError(resp, raw, 400, "InvalidAction")
	_, err = s.c.GetCheckerIpRanges(ctx, &route53.GetCheckerIpRangesInput{})
	wantCode(t, err, "InvalidAction", "GetCheckerIpRanges is not supported")
	_, err = s.c.EnableHostedZoneDNSSEC(ctx, &route53.EnableHostedZoneDNSSECInput{HostedZoneId: aws.String(id)})
	wantCode(t, err, "InvalidAction", "EnableHostedZoneDNSSEC is not supported")

	if sets := s.allSets(id, 300); len(sets) != 2 {
		t.Errorf("bad input applied something: %v", sets)
	}
}
