package georoute

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"
)

// answerFor asks for name as a resolver serving client would (ECS /24) and returns the
// answer's rdata of qtype, sorted.
func (s *r53) answerFor(client, name string, qtype uint16) []string {
	s.t.Helper()
	m := withECS(new(dns.Msg).SetQuestion(name, qtype), client, 24)
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, s.dns)
	if err != nil {
		s.t.Fatalf("dns %s: %v", name, err)
	}
	var out []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype == qtype && rr.Header().Name == name {
			out = append(out, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
	}
	slices.Sort(out)
	return out
}

func (s *r53) wantFor(client, name string, qtype uint16, want ...string) {
	s.t.Helper()
	slices.Sort(want)
	if got := s.answerFor(client, name, qtype); !slices.Equal(got, want) {
		s.t.Errorf("%s %s for %s: %q, want %q", name, dns.TypeToString[qtype], client, got, want)
	}
}

// routed is a routing record set: set changes the routing field.
func routed(name string, t types.RRType, id string, set func(*types.ResourceRecordSet), values ...string) *types.ResourceRecordSet {
	rs := rrset(name, t, 60, values...)
	rs.SetIdentifier = aws.String(id)
	set(rs)
	return rs
}

func region(r types.ResourceRecordSetRegion) func(*types.ResourceRecordSet) {
	return func(rs *types.ResourceRecordSet) { rs.Region = r }
}

func weight(w int64) func(*types.ResourceRecordSet) {
	return func(rs *types.ResourceRecordSet) { rs.Weight = aws.Int64(w) }
}

func geoloc(continent, country string) func(*types.ResourceRecordSet) {
	return func(rs *types.ResourceRecordSet) {
		rs.GeoLocation = &types.GeoLocation{}
		if continent != "" {
			rs.GeoLocation.ContinentCode = aws.String(continent)
		}
		if country != "" {
			rs.GeoLocation.CountryCode = aws.String(country)
		}
	}
}

func multivalue(rs *types.ResourceRecordSet) { rs.MultiValueAnswer = aws.Bool(true) }

// listed lists a zone's record sets one at a time (MaxItems 1, through every NextRecord*),
// each as "name type [set-identifier] routing ttl values".
func (s *r53) listed(zoneID string) []string {
	s.t.Helper()
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID), MaxItems: aws.Int32(1)}
	var out []string
	for range 1000 {
		page, err := s.c.ListResourceRecordSets(ctx, in)
		if err != nil {
			s.t.Fatalf("ListResourceRecordSets: %v", err)
		}
		for _, rs := range page.ResourceRecordSets {
			out = append(out, describe(rs))
		}
		if !page.IsTruncated {
			return out
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = page.NextRecordName, page.NextRecordType, page.NextRecordIdentifier
	}
	s.t.Fatal("ListResourceRecordSets does not end")
	return nil
}

func describe(rs types.ResourceRecordSet) string {
	f := []string{*rs.Name, string(rs.Type)}
	if rs.SetIdentifier != nil {
		f = append(f, "["+*rs.SetIdentifier+"]")
	}
	switch {
	case rs.Weight != nil:
		f = append(f, fmt.Sprintf("weight=%d", *rs.Weight))
	case rs.Region != "":
		f = append(f, "region="+string(rs.Region))
	case rs.GeoLocation != nil:
		g := rs.GeoLocation
		f = append(f, "geo="+aws.ToString(g.ContinentCode)+"/"+aws.ToString(g.CountryCode)+"/"+aws.ToString(g.SubdivisionCode))
	case rs.Failover != "":
		f = append(f, "failover="+string(rs.Failover))
	case rs.MultiValueAnswer != nil:
		f = append(f, fmt.Sprintf("multivalue=%v", *rs.MultiValueAnswer))
	}
	if rs.HealthCheckId != nil {
		f = append(f, "hc="+*rs.HealthCheckId)
	}
	if a := rs.AliasTarget; a != nil {
		return strings.Join(append(f, "alias="+*a.DNSName, fmt.Sprintf("evaluate=%v", a.EvaluateTargetHealth)), " ")
	}
	f = append(f, fmt.Sprint(aws.ToInt64(rs.TTL)))
	for _, rr := range rs.ResourceRecords {
		f = append(f, *rr.Value)
	}
	return strings.Join(f, " ")
}

// TestRoute53Routing: routing record sets through the SDK become the appliance's routing, answer
// each client by their policy at once, and list back as written.
func TestRoute53Routing(t *testing.T) {
	s := startRoute53(t, t.TempDir())
	zone := s.createZone("acme.test", "routing").HostedZone
	id := *zone.Id

	// Latency: each client gets the region nearest to it, for A and AAAA.
	s.mustChange(id,
		change(types.ChangeActionCreate, routed("www.acme.test", types.RRTypeA, "fra", region("eu-central-1"), "192.0.2.10")),
		change(types.ChangeActionCreate, routed("www.acme.test", types.RRTypeA, "sfo", region("us-west-1"), "198.51.100.10")),
		change(types.ChangeActionCreate, routed("www.acme.test", types.RRTypeAaaa, "fra", region("eu-central-1"), "2001:db8::10")),
		change(types.ChangeActionCreate, rrset("www.acme.test", types.RRTypeTxt, 300, `"v=spf1 -all"`)))
	s.wantFor(london, "www.acme.test.", dns.TypeA, "192.0.2.10")
	s.wantFor(mtnView, "www.acme.test.", dns.TypeA, "198.51.100.10")
	s.wantFor(tokyo, "www.acme.test.", dns.TypeA, "198.51.100.10") // San Jose is nearer Tokyo than Frankfurt
	s.wantFor(mtnView, "www.acme.test.", dns.TypeAAAA, "2001:db8::10")
	s.wantFor(london, "www.acme.test.", dns.TypeTXT, `"v=spf1 -all"`) // a simple record set beside routed ones

	// Weighted: weight 0 is answered only when nothing else can be.
	s.mustChange(id,
		change(types.ChangeActionCreate, routed("w.acme.test", types.RRTypeA, "blue", weight(10), "192.0.2.21")),
		change(types.ChangeActionCreate, routed("w.acme.test", types.RRTypeA, "green", weight(0), "192.0.2.22")))
	for range 20 {
		s.wantFor(london, "w.acme.test.", dns.TypeA, "192.0.2.21")
	}

	// Geolocation with a default.
	s.mustChange(id,
		change(types.ChangeActionCreate, routed("g.acme.test", types.RRTypeA, "europe", geoloc("EU", ""), "192.0.2.31")),
		change(types.ChangeActionCreate, routed("g.acme.test", types.RRTypeA, "us", geoloc("", "US"), "198.51.100.31")),
		change(types.ChangeActionCreate, routed("g.acme.test", types.RRTypeA, "rest", geoloc("", "*"), "203.0.113.31")))
	s.wantFor(london, "g.acme.test.", dns.TypeA, "192.0.2.31")
	s.wantFor(mtnView, "g.acme.test.", dns.TypeA, "198.51.100.31")
	s.wantFor(tokyo, "g.acme.test.", dns.TypeA, "203.0.113.31")

	// Multivalue: every healthy record set, up to 8.
	s.mustChange(id,
		change(types.ChangeActionCreate, routed("mv.acme.test", types.RRTypeA, "1", multivalue, "192.0.2.41")),
		change(types.ChangeActionCreate, routed("mv.acme.test", types.RRTypeA, "2", multivalue, "192.0.2.42")),
		change(types.ChangeActionCreate, routed("mv.acme.test", types.RRTypeA, "3", multivalue, "192.0.2.43")))
	s.wantFor(london, "mv.acme.test.", dns.TypeA, "192.0.2.41", "192.0.2.42", "192.0.2.43")

	// An alias at the apex answers what its target answers for this client, under its own name.
	s.mustChange(id, change(types.ChangeActionCreate, &types.ResourceRecordSet{Name: aws.String("acme.test"), Type: types.RRTypeA,
		AliasTarget: &types.AliasTarget{HostedZoneId: zone.Id, DNSName: aws.String("www.acme.test"), EvaluateTargetHealth: true}}))
	s.wantFor(london, "acme.test.", dns.TypeA, "192.0.2.10")
	s.wantFor(mtnView, "acme.test.", dns.TypeA, "198.51.100.10")

	// They list back as written, one page of one at a time through NextRecordIdentifier.
	want := []string{
		"acme.test. A alias=www.acme.test. evaluate=true",
		"acme.test. NS 172800 ns1.example.net. | ns2.example.net.", // checked below without the values
		"acme.test. SOA",
		"g.acme.test. A [europe] geo=EU// 60 192.0.2.31",
		"g.acme.test. A [rest] geo=/*/ 60 203.0.113.31",
		"g.acme.test. A [us] geo=/US/ 60 198.51.100.31",
		"mv.acme.test. A [1] multivalue=true 60 192.0.2.41",
		"mv.acme.test. A [2] multivalue=true 60 192.0.2.42",
		"mv.acme.test. A [3] multivalue=true 60 192.0.2.43",
		"w.acme.test. A [blue] weight=10 60 192.0.2.21",
		"w.acme.test. A [green] weight=0 60 192.0.2.22",
		"www.acme.test. A [fra] region=eu-central-1 60 192.0.2.10",
		"www.acme.test. A [sfo] region=us-west-1 60 198.51.100.10",
		"www.acme.test. AAAA [fra] region=eu-central-1 60 2001:db8::10",
		`www.acme.test. TXT 300 "v=spf1 -all"`,
	}
	got := s.listed(id)
	if len(got) != len(want) {
		t.Fatalf("listed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if strings.HasPrefix(want[i], "acme.test. NS") || strings.HasPrefix(want[i], "acme.test. SOA") {
			if !strings.HasPrefix(got[i], want[i][:len("acme.test. NS")]) {
				t.Errorf("listed[%d] %q, want the apex's %s", i, got[i], want[i])
			}
			continue
		}
		if got[i] != want[i] {
			t.Errorf("listed[%d] %q, want %q", i, got[i], want[i])
		}
	}

	// Errors as Route 53 words them; none of a refused batch applies.
	_, err := s.change(id, change(types.ChangeActionCreate, routed("www.acme.test", types.RRTypeA, "fra", region("eu-west-1"), "192.0.2.99")))
	wantCode(t, err, "InvalidChangeBatch", "Tried to create resource record set [name='www.acme.test.', type='A', set-identifier='fra'] but it already exists")
	_, err = s.change(id, change(types.ChangeActionDelete, routed("www.acme.test", types.RRTypeA, "fra", region("eu-west-1"), "192.0.2.10")))
	wantCode(t, err, "InvalidChangeBatch", "set-identifier='fra'] but the values provided do not match the current values")
	_, err = s.change(id, change(types.ChangeActionDelete, routed("www.acme.test", types.RRTypeA, "nope", region("eu-west-1"), "192.0.2.10")))
	wantCode(t, err, "InvalidChangeBatch", "set-identifier='nope'] but it was not found")
	_, err = s.change(id, change(types.ChangeActionCreate, routed("www.acme.test", types.RRTypeA, "w", weight(1), "192.0.2.98")))
	wantCode(t, err, "InvalidChangeBatch", "take one routing policy")
	_, err = s.change(id, change(types.ChangeActionCreate, rrset("w.acme.test", types.RRTypeA, 60, "192.0.2.97")))
	wantCode(t, err, "InvalidChangeBatch", "simple record sets or routing record sets, not both")
	_, err = s.change(id, change(types.ChangeActionCreate, routed("f.acme.test", types.RRTypeA, "p", func(rs *types.ResourceRecordSet) { rs.Failover = types.ResourceRecordSetFailoverPrimary }, "192.0.2.51")))
	wantCode(t, err, "InvalidChangeBatch", "needs a HealthCheckId")
	_, err = s.change(id, change(types.ChangeActionCreate, routed("x.acme.test", types.RRTypeA, "x", func(*types.ResourceRecordSet) {}, "192.0.2.52")))
	wantCode(t, err, "InvalidInput", "Expected exactly one of [Weight, Region")
	_, err = s.change(id, change(types.ChangeActionCreate, routed("x.acme.test", types.RRTypeA, "x", region("mars-1"), "192.0.2.52")))
	wantCode(t, err, "InvalidChangeBatch", `Region "mars-1" is not an AWS region`)
	_, err = s.change(id, change(types.ChangeActionCreate, routed("x.acme.test", types.RRTypeA, "x", weight(1), "2001:db8::1")))
	wantCode(t, err, "InvalidChangeBatch", "is not an IPv4 address")
	// Atomic: a good change with a bad one applies nothing.
	_, err = s.change(id,
		change(types.ChangeActionCreate, routed("y.acme.test", types.RRTypeA, "a", weight(1), "192.0.2.61")),
		change(types.ChangeActionDelete, routed("w.acme.test", types.RRTypeA, "blue", weight(11), "192.0.2.21")))
	wantCode(t, err, "InvalidChangeBatch", "do not match")
	if _, rcode := s.answer("y.acme.test.", dns.TypeA); rcode != dns.RcodeNameError {
		t.Errorf("y.acme.test of a refused batch: %s", dns.RcodeToString[rcode])
	}

	// cert-manager's DNS-01: a TXT with TTL 10, MultiValueAnswer and a SetIdentifier, UPSERT
	// (two solvers at once), GetChange until INSYNC, DELETE.
	tok := func(id, v string) *types.ResourceRecordSet {
		rs := routed("_acme-challenge.acme.test", types.RRTypeTxt, id, multivalue, v)
		rs.TTL = aws.Int64(10)
		return rs
	}
	info := s.mustChange(id, change(types.ChangeActionUpsert, tok("k1", `"token-one"`)))
	s.mustChange(id, change(types.ChangeActionUpsert, tok("k2", `"token-two"`)))
	waiter := route53.NewResourceRecordSetsChangedWaiter(s.c)
	if err := waiter.Wait(ctx, &route53.GetChangeInput{Id: info.Id}, 10*time.Second); err != nil {
		t.Fatalf("wait resource-record-sets-changed: %v", err)
	}
	s.wantAnswer("_acme-challenge.acme.test.", dns.TypeTXT, `"token-one"`, `"token-two"`)
	s.mustChange(id, change(types.ChangeActionDelete, tok("k1", `"token-one"`)))
	s.wantAnswer("_acme-challenge.acme.test.", dns.TypeTXT, `"token-two"`)
	s.mustChange(id, change(types.ChangeActionDelete, tok("k2", `"token-two"`)))
	if _, rcode := s.answer("_acme-challenge.acme.test.", dns.TypeTXT); rcode != dns.RcodeNameError {
		t.Errorf("_acme-challenge after both DELETEs: %s", dns.RcodeToString[rcode])
	}

	// Terraform's update of a routing record set: DELETE and CREATE in one batch; moving the
	// European clients to eu-west-2.
	s.mustChange(id,
		change(types.ChangeActionDelete, routed("www.acme.test", types.RRTypeA, "fra", region("eu-central-1"), "192.0.2.10")),
		change(types.ChangeActionCreate, routed("www.acme.test", types.RRTypeA, "lhr", region("eu-west-2"), "192.0.2.11")))
	s.wantFor(london, "www.acme.test.", dns.TypeA, "192.0.2.11")
	s.wantFor(london, "acme.test.", dns.TypeA, "192.0.2.11") // the alias follows

	// Deleting every record set of a name deletes what it made; the zone then deletes.
	var del []types.Change
	for _, rs := range s.sets(id) {
		if rs.Type != types.RRTypeSoa && rs.Type != types.RRTypeNs {
			del = append(del, change(types.ChangeActionDelete, &rs))
		}
	}
	s.mustChange(id, del...)
	if _, rcode := s.answer("www.acme.test.", dns.TypeA); rcode != dns.RcodeNameError {
		t.Errorf("www.acme.test after its DELETE: %s", dns.RcodeToString[rcode])
	}
	if _, err := s.c.DeleteHostedZone(ctx, &route53.DeleteHostedZoneInput{Id: zone.Id}); err != nil {
		t.Errorf("DeleteHostedZone once empty: %v", err)
	}
}

// sets lists a zone's record sets as the SDK reads them.
func (s *r53) sets(zoneID string) []types.ResourceRecordSet {
	s.t.Helper()
	out, err := s.c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
	if err != nil {
		s.t.Fatal(err)
	}
	return out.ResourceRecordSets
}

// TestRoute53FailoverCidr: a failover name whose PRIMARY is probed by a Route 53 health check
// of a real loopback HTTP server answers the SECONDARY while the server fails, and the PRIMARY
// again once it recovers; a cidr name answers by its CIDR collection's locations, and follows a
// change of the collection.
func TestRoute53FailoverCidr(t *testing.T) {
	s, api := startRoute53Health(t)
	ep := newEndpoint(t)
	hc := *s.createHealthCheck("primary", &types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"),
		Port: aws.Int32(ep.port()), ResourcePath: aws.String("/"), RequestInterval: aws.Int32(10), FailureThreshold: aws.Int32(1)}).HealthCheck.Id
	id := *s.createZone("fo.test", "fo").HostedZone.Id
	role := func(r types.ResourceRecordSetFailover, check string) func(*types.ResourceRecordSet) {
		return func(rs *types.ResourceRecordSet) {
			rs.Failover = r
			if check != "" {
				rs.HealthCheckId = aws.String(check)
			}
		}
	}
	s.mustChange(id,
		change(types.ChangeActionCreate, routed("app.fo.test", types.RRTypeA, "p", role(types.ResourceRecordSetFailoverPrimary, hc), "192.0.2.71")),
		change(types.ChangeActionCreate, routed("app.fo.test", types.RRTypeA, "s", role(types.ResourceRecordSetFailoverSecondary, ""), "192.0.2.72")))
	s.waitStatus(hc, "Success", 5*time.Second)
	// Through the native API they are the name's pool and edges.
	name := api.expect("GET", "/v1/zones/fo.test/names/app", writeToken, nil, 200, "", "")
	pool := api.expect("GET", "/v1/pools/"+fmt.Sprint(name["pool"]), writeToken, nil, 200, "", "")
	members, _ := pool["members"].([]any)
	if pool["policy"] != "failover" || pool["made_from"] != "route53 app.fo.test." || len(members) != 2 || len(name["record_sets"].([]any)) != 2 {
		t.Errorf("native API: name %v, pool %v", name, pool)
	} else {
		primary := members[0].(map[string]any)["edge"].(string)
		edge := api.expect("GET", "/v1/edges/"+primary, writeToken, nil, 200, "", "")
		if edge["health_check"] != hc || fmt.Sprint(edge["addresses"]) != "[192.0.2.71]" {
			t.Errorf("native API: the PRIMARY's edge %v", edge)
		}
	}
	waitFor := func(want string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			got := s.answerFor(london, "app.fo.test.", dns.TypeA)
			if len(got) == 1 && got[0] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("app.fo.test answers %q, not %s, after %s", got, want, within)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("192.0.2.71", 5*time.Second)
	ep.status.Store(503)
	waitFor("192.0.2.72", 20*time.Second) // interval 10 s, threshold 1
	ep.status.Store(200)
	waitFor("192.0.2.71", 20*time.Second)
	_, err := s.c.DeleteHealthCheck(ctx, &route53.DeleteHealthCheckInput{HealthCheckId: aws.String(hc)})
	wantCode(t, err, "HealthCheckInUse", "")

	col, err := s.c.CreateCidrCollection(ctx, &route53.CreateCidrCollectionInput{Name: aws.String("offices"), CallerReference: aws.String("offices-1")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.c.ChangeCidrCollection(ctx, &route53.ChangeCidrCollectionInput{Id: col.Collection.Id, Changes: []types.CidrCollectionChange{
		{Action: types.CidrCollectionChangeActionPut, LocationName: aws.String("london"), CidrList: []string{"81.2.69.0/24"}}}})
	if err != nil {
		t.Fatal(err)
	}
	cidr := func(loc string) func(*types.ResourceRecordSet) {
		return func(rs *types.ResourceRecordSet) {
			rs.CidrRoutingConfig = &types.CidrRoutingConfig{CollectionId: col.Collection.Id, LocationName: aws.String(loc)}
		}
	}
	s.mustChange(id,
		change(types.ChangeActionCreate, routed("c.fo.test", types.RRTypeA, "office", cidr("london"), "192.0.2.91")),
		change(types.ChangeActionCreate, routed("c.fo.test", types.RRTypeA, "rest", cidr("*"), "192.0.2.92")))
	s.wantFor(london, "c.fo.test.", dns.TypeA, "192.0.2.91")
	s.wantFor(mtnView, "c.fo.test.", dns.TypeA, "192.0.2.92")
	_, err = s.c.ChangeCidrCollection(ctx, &route53.ChangeCidrCollectionInput{Id: col.Collection.Id, CollectionVersion: aws.Int64(2), Changes: []types.CidrCollectionChange{
		{Action: types.CidrCollectionChangeActionPut, LocationName: aws.String("london"), CidrList: []string{"8.8.8.0/24"}}}})
	if err != nil {
		t.Fatal(err)
	}
	s.wantFor(mtnView, "c.fo.test.", dns.TypeA, "192.0.2.91")
	_, err = s.c.ChangeCidrCollection(ctx, &route53.ChangeCidrCollectionInput{Id: col.Collection.Id, Changes: []types.CidrCollectionChange{
		{Action: types.CidrCollectionChangeActionDeleteIfExists, LocationName: aws.String("london"), CidrList: []string{"81.2.69.0/24", "8.8.8.0/24"}}}})
	wantCode(t, err, "CidrBlockInUseException", "")
	_, err = s.c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(id), ChangeBatch: &types.ChangeBatch{Changes: []types.Change{
		change(types.ChangeActionCreate, routed("d.fo.test", types.RRTypeA, "x", cidr("paris"), "192.0.2.93"))}}})
	wantCode(t, err, "InvalidChangeBatch", "no location paris")
}

// TestRoute53ConcurrentSets: batches that change one name's routing record sets at once are all
// applied (each is made again from what the name holds when another committed first), none lost.
func TestRoute53ConcurrentSets(t *testing.T) {
	s := startRoute53(t, t.TempDir())
	id := *s.createZone("race.test", "race").HostedZone.Id
	const n = 12
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := s.change(id, change(types.ChangeActionCreate,
				routed("www.race.test", types.RRTypeA, fmt.Sprint("s", i), weight(int64(i+1)), fmt.Sprintf("192.0.2.%d", i+1))))
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("a concurrent batch: %v", err)
		}
	}
	got := 0
	for _, rs := range s.sets(id) {
		if *rs.Name == "www.race.test." {
			got++
		}
	}
	if got != n {
		t.Errorf("%d record sets of %d concurrent batches", got, n)
	}
	seen := map[string]bool{}
	for range 400 {
		for _, a := range s.answerFor(london, "www.race.test.", dns.TypeA) {
			seen[a] = true
		}
	}
	if len(seen) < n/2 {
		t.Errorf("weighted over %d record sets answered only %v", n, seen)
	}
}

// TestRoute53CallerReferenceRace: creates of different zones with one CallerReference at once:
// one zone is made, every other create is refused (HostedZoneAlreadyExists, or
// PriorRequestNotComplete for a client that does not retry).
func TestRoute53CallerReferenceRace(t *testing.T) {
	s := startRoute53(t, t.TempDir())
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, err := s.c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String(fmt.Sprintf("z%d.race.test", i)), CallerReference: aws.String("one-ref")})
			errs <- err
		}()
	}
	made := 0
	for range n {
		err := <-errs
		if err == nil {
			made++
			continue
		}
		if code, _ := apiError(t, err); code != "HostedZoneAlreadyExists" && code != "PriorRequestNotComplete" {
			t.Errorf("a create refused with %v", err)
		}
	}
	zones, err := s.c.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	if err != nil {
		t.Fatal(err)
	}
	with := 0
	for _, z := range zones.HostedZones {
		if aws.ToString(z.CallerReference) == "one-ref" {
			with++
		}
	}
	if made != 1 || with != 1 {
		t.Errorf("%d creates succeeded, %d zones have the reference; want 1 and 1", made, with)
	}
}
