package georoute

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/georoute/appliance/plugin/georoute/model"
	"github.com/miekg/dns"
)

// startRoute53Health starts georoute with healthprobe, the Route 53 API and the native API in
// one server block.
func startRoute53Health(t *testing.T) (*r53, *apiServer) {
	t.Helper()
	t.Setenv("GEOROUTE_TEST_TOKEN", writeToken)
	apiAddr := freePort(t)
	s := startRoute53With(t, t.TempDir(), "healthprobe", "api "+apiAddr+"\n\t\t\tapi_token env:GEOROUTE_TEST_TOKEN write")
	return s, &apiServer{t: t, base: "http://" + apiAddr, dns: s.dns}
}

// endpoint is a loopback HTTP server a health check probes: it answers status with body,
// and remembers the Host and path of the last request.
type endpoint struct {
	*httptest.Server
	status   atomic.Int32
	mu       sync.Mutex
	host     string
	path     string
	requests atomic.Int32
}

func newEndpoint(t *testing.T) *endpoint {
	e := &endpoint{}
	e.status.Store(http.StatusOK)
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.host, e.path = r.Host, r.URL.RequestURI()
		e.mu.Unlock()
		e.requests.Add(1)
		w.WriteHeader(int(e.status.Load()))
		fmt.Fprint(w, "all good here")
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) port() int32 {
	var p int32
	fmt.Sscanf(e.URL[strings.LastIndexByte(e.URL, ':')+1:], "%d", &p)
	return p
}

var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func (s *r53) createHealthCheck(ref string, cfg *types.HealthCheckConfig) *route53.CreateHealthCheckOutput {
	s.t.Helper()
	out, err := s.c.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String(ref), HealthCheckConfig: cfg})
	if err != nil {
		s.t.Fatalf("CreateHealthCheck %s: %v", ref, err)
	}
	return out
}

// waitStatus polls GetHealthCheckStatus until its one observation's status starts with prefix.
func (s *r53) waitStatus(id, prefix string, within time.Duration) types.HealthCheckObservation {
	s.t.Helper()
	var last []types.HealthCheckObservation
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, err := s.c.GetHealthCheckStatus(ctx, &route53.GetHealthCheckStatusInput{HealthCheckId: aws.String(id)})
		if err != nil {
			s.t.Fatalf("GetHealthCheckStatus: %v", err)
		}
		last = out.HealthCheckObservations
		if len(last) == 1 && strings.HasPrefix(*last[0].StatusReport.Status, prefix) {
			return last[0]
		}
	}
	s.t.Fatalf("health check %s: observations %+v, want a status %q", id, last, prefix)
	return types.HealthCheckObservation{}
}

// edgeChecks returns the checks and health state the native API shows of edge id.
func (a *apiServer) edgeChecks(id string) ([]any, string) {
	a.t.Helper()
	out := a.expect("GET", "/v1/edges/"+id, writeToken, nil, 200, "", "")
	checks, _ := out["checks"].([]any)
	h, _ := out["health"].(map[string]any)
	state, _ := h["state"].(string)
	return checks, state
}

func (a *apiServer) waitEdge(id, state string, within time.Duration) {
	a.t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, got := a.edgeChecks(id); got == state {
			return
		}
	}
	checks, got := a.edgeChecks(id)
	a.t.Fatalf("edge %s is %s (checks %v), want %s", id, got, checks, state)
}

// TestRoute53HealthChecks: every health check operation through the SDK, a health check
// probing a real endpoint (healthy, then failing), what an update does to the edge it
// probes, and Route 53's errors.
func TestRoute53HealthChecks(t *testing.T) {
	s, api := startRoute53Health(t)
	ep := newEndpoint(t)
	webCfg := &types.HealthCheckConfig{Type: types.HealthCheckTypeHttpStrMatch, IPAddress: aws.String("127.0.0.1"), Port: aws.Int32(ep.port()),
		ResourcePath: aws.String("/healthz?deep=1"), FullyQualifiedDomainName: aws.String("www.example.net"), SearchString: aws.String("good"),
		RequestInterval: aws.Int32(10), FailureThreshold: aws.Int32(1)}
	created := s.createHealthCheck("web-1", webCfg)
	web := *created.HealthCheck.Id
	got := created.HealthCheck.HealthCheckConfig
	if !uuid.MatchString(web) || !strings.HasSuffix(*created.Location, "/2013-04-01/healthcheck/"+web) || *created.HealthCheck.HealthCheckVersion != 1 ||
		*created.HealthCheck.CallerReference != "web-1" || got.Type != types.HealthCheckTypeHttpStrMatch || *got.Port != ep.port() ||
		*got.ResourcePath != "/healthz?deep=1" || *got.SearchString != "good" || *got.RequestInterval != 10 || *got.FailureThreshold != 1 ||
		*got.Inverted || *got.Disabled || *got.EnableSNI || *got.MeasureLatency {
		t.Fatalf("CreateHealthCheck: %+v %+v %s", created.HealthCheck, got, *created.Location)
	}
	// The same request again is the same health check; the same reference otherwise is refused.
	if again := s.createHealthCheck("web-1", webCfg); *again.HealthCheck.Id != web {
		t.Errorf("CreateHealthCheck again made %s, not %s", *again.HealthCheck.Id, web)
	}
	_, err := s.c.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("web-1"),
		HealthCheckConfig: &types.HealthCheckConfig{Type: types.HealthCheckTypeTcp, IPAddress: aws.String("127.0.0.1"), Port: aws.Int32(22)}})
	wantCode(t, err, "HealthCheckAlreadyExists", "web-1")

	// Probed: healthy, from this node, with Route 53's Host header and path.
	obs := s.waitStatus(web, "Success: HTTP Status Code 200, OK", 5*time.Second)
	host, _ := os.Hostname()
	if string(obs.Region) != host || aws.ToString(obs.IPAddress) != "127.0.0.1" || time.Since(*obs.StatusReport.CheckedTime) > 15*time.Second {
		t.Errorf("observation %+v (region %s, want %s)", obs, obs.Region, host)
	}
	ep.mu.Lock()
	if ep.host != fmt.Sprintf("www.example.net:%d", ep.port()) || ep.path != "/healthz?deep=1" {
		t.Errorf("the endpoint saw Host %q path %q", ep.host, ep.path)
	}
	ep.mu.Unlock()
	// The endpoint fails: at the next probe (RequestInterval 10 s, FailureThreshold 1) the
	// status says so.
	ep.status.Store(http.StatusServiceUnavailable)
	s.waitStatus(web, "Failure: HTTP Status Code 503, Service Unavailable", 15*time.Second)

	// An edge made from a record set with this health check (as the record set code makes
	// it) follows its updates, in the same change.
	api.expect("PUT", "/v1/edges/web1", writeToken, map[string]any{"addresses": []string{"192.0.2.10"}, "health_check": web}, 201, "", "")
	upd, err := s.c.UpdateHealthCheck(ctx, &route53.UpdateHealthCheckInput{HealthCheckId: aws.String(web), HealthCheckVersion: aws.Int64(1), ResourcePath: aws.String("/ready")})
	if err != nil || *upd.HealthCheck.HealthCheckVersion != 2 || *upd.HealthCheck.HealthCheckConfig.ResourcePath != "/ready" || *upd.HealthCheck.HealthCheckConfig.SearchString != "good" {
		t.Fatalf("UpdateHealthCheck: %v %+v", err, upd)
	}
	checks, _ := api.edgeChecks("web1")
	if len(checks) != 1 || !strings.HasSuffix(checks[0].(map[string]any)["url"].(string), "/ready") {
		t.Fatalf("edge checks after the update: %v", checks)
	}
	api.waitEdge("web1", "down", 5*time.Second)
	_, err = s.c.UpdateHealthCheck(ctx, &route53.UpdateHealthCheckInput{HealthCheckId: aws.String(web), HealthCheckVersion: aws.Int64(1), Inverted: aws.Bool(true)})
	wantCode(t, err, "HealthCheckVersionMismatch", "version 2")
	// Inverted: the failing endpoint makes the edge up.
	if upd, err = s.c.UpdateHealthCheck(ctx, &route53.UpdateHealthCheckInput{HealthCheckId: aws.String(web), HealthCheckVersion: aws.Int64(2), Inverted: aws.Bool(true)}); err != nil || !*upd.HealthCheck.HealthCheckConfig.Inverted {
		t.Fatalf("UpdateHealthCheck inverted: %v %+v", err, upd)
	}
	api.waitEdge("web1", "up", 5*time.Second)
	// Disabled and inverted: unhealthy, whatever the endpoint says, and nothing probes it.
	if _, err = s.c.UpdateHealthCheck(ctx, &route53.UpdateHealthCheckInput{HealthCheckId: aws.String(web), Disabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	api.waitEdge("web1", "down", 5*time.Second)
	s.waitStatus(web, "Failure: The health check is disabled and inverted", time.Second)
	got2, err := s.c.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: aws.String(web)})
	if err != nil || *got2.HealthCheck.HealthCheckVersion != 4 || !*got2.HealthCheck.HealthCheckConfig.Disabled {
		t.Fatalf("GetHealthCheck: %v %+v", err, got2)
	}
	_, err = s.c.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: aws.String("00000000-0000-4000-8000-000000000000")})
	wantCode(t, err, "NoSuchHealthCheck", "00000000-0000-4000-8000-000000000000")

	// A TCP health check of the same endpoint, and a CALCULATED one over both.
	tcp := *s.createHealthCheck("tcp-1", &types.HealthCheckConfig{Type: types.HealthCheckTypeTcp, IPAddress: aws.String("127.0.0.1"), Port: aws.Int32(ep.port()), RequestInterval: aws.Int32(10)}).HealthCheck.Id
	s.waitStatus(tcp, "Success: TCP connection established", 5*time.Second)
	calc := s.createHealthCheck("calc-1", &types.HealthCheckConfig{Type: types.HealthCheckTypeCalculated, HealthThreshold: aws.Int32(1), ChildHealthChecks: []string{web, tcp}}).HealthCheck
	if calc.HealthCheckConfig.Port != nil || *calc.HealthCheckConfig.HealthThreshold != 1 || !slices.Equal(calc.HealthCheckConfig.ChildHealthChecks, []string{web, tcp}) {
		t.Errorf("CALCULATED: %+v", calc.HealthCheckConfig)
	}
	_, err = s.c.GetHealthCheckStatus(ctx, &route53.GetHealthCheckStatusInput{HealthCheckId: calc.Id})
	wantCode(t, err, "InvalidInput", "CALCULATED")

	// In use: by an edge, as a child.
	_, err = s.c.DeleteHealthCheck(ctx, &route53.DeleteHealthCheckInput{HealthCheckId: aws.String(web)})
	wantCode(t, err, "HealthCheckInUse", "web1")
	_, err = s.c.DeleteHealthCheck(ctx, &route53.DeleteHealthCheckInput{HealthCheckId: aws.String(tcp)})
	wantCode(t, err, "HealthCheckInUse", *calc.Id)

	// Tags, without a new version.
	if _, err := s.c.ChangeTagsForResource(ctx, &route53.ChangeTagsForResourceInput{ResourceType: types.TagResourceTypeHealthcheck, ResourceId: aws.String(tcp),
		AddTags: []types.Tag{{Key: aws.String("team"), Value: aws.String("edge")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := s.c.ListTagsForResource(ctx, &route53.ListTagsForResourceInput{ResourceType: types.TagResourceTypeHealthcheck, ResourceId: aws.String(tcp)})
	if err != nil || len(tags.ResourceTagSet.Tags) != 1 || *tags.ResourceTagSet.Tags[0].Value != "edge" || *tags.ResourceTagSet.ResourceId != tcp {
		t.Fatalf("ListTagsForResource: %v %+v", err, tags)
	}
	many, err := s.c.ListTagsForResources(ctx, &route53.ListTagsForResourcesInput{ResourceType: types.TagResourceTypeHealthcheck, ResourceIds: []string{tcp, *calc.Id}})
	if err != nil || len(many.ResourceTagSets) != 2 || len(many.ResourceTagSets[1].Tags) != 0 {
		t.Fatalf("ListTagsForResources: %v %+v", err, many)
	}
	if hc, _ := s.c.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: aws.String(tcp)}); *hc.HealthCheck.HealthCheckVersion != 1 {
		t.Errorf("tags made version %d", *hc.HealthCheck.HealthCheckVersion)
	}

	// Paging: ListHealthChecks two at a time lists each once, in order; the count agrees.
	for i := range 3 {
		s.createHealthCheck(fmt.Sprintf("more-%d", i), &types.HealthCheckConfig{Type: types.HealthCheckTypeHttps, FullyQualifiedDomainName: aws.String("www.example.net")})
	}
	var ids []string
	in := &route53.ListHealthChecksInput{MaxItems: aws.Int32(2)}
	for range 10 {
		page, err := s.c.ListHealthChecks(ctx, in)
		if err != nil || len(page.HealthChecks) > 2 {
			t.Fatalf("ListHealthChecks: %v %+v", err, page)
		}
		for _, hc := range page.HealthChecks {
			ids = append(ids, *hc.Id)
			if hc.HealthCheckConfig.Type == types.HealthCheckTypeHttps && (!*hc.HealthCheckConfig.EnableSNI || *hc.HealthCheckConfig.Port != 443) {
				t.Errorf("HTTPS defaults: %+v", hc.HealthCheckConfig)
			}
		}
		if !page.IsTruncated {
			break
		}
		in.Marker = page.NextMarker
	}
	count, err := s.c.GetHealthCheckCount(ctx, &route53.GetHealthCheckCountInput{})
	if err != nil || len(ids) != 6 || int64(len(ids)) != *count.HealthCheckCount || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != 6 {
		t.Fatalf("listed %v, count %v %v", ids, count, err)
	}

	// Route 53's validation, each an InvalidInput, none applied.
	for _, tc := range []struct {
		name string
		cfg  types.HealthCheckConfig
		want string
	}{
		{"interval", types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"), RequestInterval: aws.Int32(20)}, "RequestInterval"},
		{"threshold", types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"), FailureThreshold: aws.Int32(11)}, "FailureThreshold"},
		{"no search string", types.HealthCheckConfig{Type: types.HealthCheckTypeHttpsStrMatch, IPAddress: aws.String("127.0.0.1")}, "SearchString"},
		{"no endpoint", types.HealthCheckConfig{Type: types.HealthCheckTypeHttp}, "IPAddress"},
		{"bad address", types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.300")}, "IPAddress"},
		{"tcp without a port", types.HealthCheckConfig{Type: types.HealthCheckTypeTcp, IPAddress: aws.String("127.0.0.1")}, "Port"},
		{"cloudwatch", types.HealthCheckConfig{Type: types.HealthCheckTypeCloudwatchMetric}, "CLOUDWATCH_METRIC"},
		{"regions", types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"), Regions: []types.HealthCheckRegion{"us-east-1", "eu-west-1", "sa-east-1"}}, "Regions"},
		{"missing child", types.HealthCheckConfig{Type: types.HealthCheckTypeCalculated, ChildHealthChecks: []string{"00000000-0000-4000-8000-000000000000"}}, "no health check"},
		{"calculated child", types.HealthCheckConfig{Type: types.HealthCheckTypeCalculated, ChildHealthChecks: []string{*calc.Id}}, "CALCULATED itself"},
	} {
		_, err := s.c.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("bad-" + tc.name), HealthCheckConfig: &tc.cfg})
		wantCode(t, err, "InvalidInput", tc.want)
	}
	_, err = s.c.UpdateHealthCheck(ctx, &route53.UpdateHealthCheckInput{HealthCheckId: aws.String(tcp), FailureThreshold: aws.Int32(0)})
	wantCode(t, err, "InvalidInput", "FailureThreshold")
	if count, _ := s.c.GetHealthCheckCount(ctx, &route53.GetHealthCheckCountInput{}); *count.HealthCheckCount != 6 {
		t.Errorf("%d health checks after refused calls", *count.HealthCheckCount)
	}
	// A key limited to zones changes no health check.
	_, err = s.client(awsOrgKeyID, awsOrgSecret).CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("org"), HealthCheckConfig: webCfg})
	wantCode(t, err, "AccessDenied", "only the zones")

	// Deleted once unused.
	api.expect("DELETE", "/v1/edges/web1", writeToken, nil, 204, "", "")
	for _, id := range []string{*calc.Id, web, tcp} {
		if _, err := s.c.DeleteHealthCheck(ctx, &route53.DeleteHealthCheckInput{HealthCheckId: aws.String(id)}); err != nil {
			t.Fatalf("DeleteHealthCheck %s: %v", id, err)
		}
	}
	_, err = s.c.GetHealthCheckStatus(ctx, &route53.GetHealthCheckStatusInput{HealthCheckId: aws.String(web)})
	wantCode(t, err, "NoSuchHealthCheck", web)
}

// TestRoute53CidrCollections: every CIDR collection operation through the SDK, paging, the
// pool that routes by a collection following its changes (in DNS answers too), and Route 53's
// errors.
func TestRoute53CidrCollections(t *testing.T) {
	s, api := startRoute53Health(t)
	created, err := s.c.CreateCidrCollection(ctx, &route53.CreateCidrCollectionInput{Name: aws.String("offices"), CallerReference: aws.String("cc-1")})
	if err != nil {
		t.Fatal(err)
	}
	cc := created.Collection
	id := *cc.Id
	if !uuid.MatchString(id) || *cc.Name != "offices" || *cc.Version != 1 || *cc.Arn != "arn:aws:route53:::cidrcollection/"+id || !strings.HasSuffix(*created.Location, "/2013-04-01/cidrcollection/"+id) {
		t.Fatalf("CreateCidrCollection: %+v %s", cc, *created.Location)
	}
	if again, err := s.c.CreateCidrCollection(ctx, &route53.CreateCidrCollectionInput{Name: aws.String("offices"), CallerReference: aws.String("cc-1")}); err != nil || *again.Collection.Id != id {
		t.Errorf("CreateCidrCollection again: %v %+v", err, again)
	}
	_, err = s.c.CreateCidrCollection(ctx, &route53.CreateCidrCollectionInput{Name: aws.String("offices"), CallerReference: aws.String("cc-2")})
	wantCode(t, err, "CidrCollectionAlreadyExistsException", "offices")
	_, err = s.c.CreateCidrCollection(ctx, &route53.CreateCidrCollectionInput{Name: aws.String("no spaces"), CallerReference: aws.String("cc-3")})
	wantCode(t, err, "InvalidInput", "no spaces")

	change := func(version *int64, changes ...types.CidrCollectionChange) error {
		_, err := s.c.ChangeCidrCollection(ctx, &route53.ChangeCidrCollectionInput{Id: aws.String(id), CollectionVersion: version, Changes: changes})
		return err
	}
	put := func(loc string, blocks ...string) types.CidrCollectionChange {
		return types.CidrCollectionChange{Action: types.CidrCollectionChangeActionPut, LocationName: aws.String(loc), CidrList: blocks}
	}
	del := func(loc string, blocks ...string) types.CidrCollectionChange {
		return types.CidrCollectionChange{Action: types.CidrCollectionChangeActionDeleteIfExists, LocationName: aws.String(loc), CidrList: blocks}
	}
	out, err := s.c.ChangeCidrCollection(ctx, &route53.ChangeCidrCollectionInput{Id: aws.String(id), CollectionVersion: aws.Int64(1),
		Changes: []types.CidrCollectionChange{put("ber", "203.0.113.0/24", "2001:db8:1::/48"), put("muc", "198.51.100.0/24")}})
	if err != nil || *out.Id == "" {
		t.Fatalf("ChangeCidrCollection: %v %+v", err, out)
	}
	if ch, err := s.c.GetChange(ctx, &route53.GetChangeInput{Id: out.Id}); err != nil || ch.ChangeInfo.Status != types.ChangeStatusInsync {
		t.Errorf("GetChange of a collection's change: %v %+v", err, ch)
	}
	wantCode(t, change(aws.Int64(1), put("ham", "192.0.2.0/24")), "CidrCollectionVersionMismatchException", "version 2")
	wantCode(t, change(nil, put("ham", "192.0.2.0/25")), "InvalidInput", "/24")
	wantCode(t, change(nil, put("ham", "192.0.2.1/24")), "InvalidInput", "192.0.2.0/24")
	wantCode(t, change(nil, put("ham", "203.0.113.0/24")), "InvalidInput", "203.0.113.0/24")
	wantCode(t, change(nil, types.CidrCollectionChange{Action: "DELETE", LocationName: aws.String("ham"), CidrList: []string{"192.0.2.0/24"}}), "InvalidInput", "DELETE")
	wantCode(t, change(nil, put("a-name-that-is-too-long", "192.0.2.0/24")), "InvalidInput", "LocationName")
	var blocks []string
	for i := range 1001 {
		blocks = append(blocks, fmt.Sprintf("10.%d.%d.0/24", i/256, i%256))
	}
	wantCode(t, change(nil, put("ham", blocks...)), "LimitsExceeded", "1000")
	_, err = s.c.ChangeCidrCollection(ctx, &route53.ChangeCidrCollectionInput{Id: aws.String("00000000-0000-4000-8000-000000000000"), Changes: []types.CidrCollectionChange{put("x", "192.0.2.0/24")}})
	wantCode(t, err, "NoSuchCidrCollectionException", "00000000")

	// Locations and blocks, one a page.
	var locs []string
	lin := &route53.ListCidrLocationsInput{CollectionId: aws.String(id), MaxResults: aws.Int32(1)}
	for range 5 {
		page, err := s.c.ListCidrLocations(ctx, lin)
		if err != nil || len(page.CidrLocations) > 1 {
			t.Fatalf("ListCidrLocations: %v %+v", err, page)
		}
		for _, l := range page.CidrLocations {
			locs = append(locs, *l.LocationName)
		}
		if page.NextToken == nil {
			break
		}
		lin.NextToken = page.NextToken
	}
	if !slices.Equal(locs, []string{"ber", "muc"}) {
		t.Errorf("locations %v", locs)
	}
	listBlocks := func(loc *string) []string {
		var got []string
		in := &route53.ListCidrBlocksInput{CollectionId: aws.String(id), LocationName: loc, MaxResults: aws.Int32(1)}
		for range 10 {
			page, err := s.c.ListCidrBlocks(ctx, in)
			if err != nil || len(page.CidrBlocks) > 1 {
				t.Fatalf("ListCidrBlocks: %v %+v", err, page)
			}
			for _, b := range page.CidrBlocks {
				got = append(got, *b.LocationName+" "+*b.CidrBlock)
			}
			if page.NextToken == nil {
				return got
			}
			in.NextToken = page.NextToken
		}
		t.Fatal("ListCidrBlocks does not end")
		return nil
	}
	if got := listBlocks(nil); !slices.Equal(got, []string{"ber 2001:db8:1::/48", "ber 203.0.113.0/24", "muc 198.51.100.0/24"}) {
		t.Errorf("blocks %v", got)
	}
	if got := listBlocks(aws.String("muc")); !slices.Equal(got, []string{"muc 198.51.100.0/24"}) {
		t.Errorf("blocks of muc %v", got)
	}
	_, err = s.c.ListCidrBlocks(ctx, &route53.ListCidrBlocksInput{CollectionId: aws.String(id), LocationName: aws.String("ham")})
	wantCode(t, err, "NoSuchCidrLocationException", "ham")

	// Collections, one a page.
	second, err := s.c.CreateCidrCollection(ctx, &route53.CreateCidrCollectionInput{Name: aws.String("isps"), CallerReference: aws.String("cc-4")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	cin := &route53.ListCidrCollectionsInput{MaxResults: aws.Int32(1)}
	for range 5 {
		page, err := s.c.ListCidrCollections(ctx, cin)
		if err != nil || len(page.CidrCollections) > 1 {
			t.Fatalf("ListCidrCollections: %v %+v", err, page)
		}
		for _, c := range page.CidrCollections {
			names = append(names, *c.Name+fmt.Sprint(*c.Version))
		}
		if page.NextToken == nil {
			break
		}
		cin.NextToken = page.NextToken
	}
	if slices.Sort(names); !slices.Equal(names, []string{"isps1", "offices2"}) {
		t.Errorf("collections %v", names)
	}

	// A pool routing by location ber (as record sets with a CidrRoutingConfig make it), and a
	// name bound to it: a client in ber gets fra1, the rest iad1.
	api.expect("PUT", "/v1/pools/offices", writeToken, map[string]any{"policy": "cidr", "cidr_collection": id, "rules": []any{
		map[string]any{"location": "ber", "prefixes": []string{"203.0.113.0/24", "2001:db8:1::/48"}, "members": []any{map[string]string{"edge": "fra1"}}},
		map[string]any{"default": true, "members": []any{map[string]string{"edge": "iad1"}}},
	}}, 201, "", "")
	api.expect("PUT", "/v1/zones/example.net/names/office", writeToken, map[string]any{"pool": "offices"}, 201, "", "")
	ask := func(client string) []string {
		m := withECS(new(dns.Msg).SetQuestion("office.example.net.", dns.TypeA), client, 24)
		r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, s.dns)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, rr := range r.Answer {
			if a, ok := rr.(*dns.A); ok {
				out = append(out, a.A.String())
			}
		}
		return out
	}
	if got := ask("203.0.113.7"); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("a client in ber got %v", got)
	}
	// Ber's blocks move: the pool follows in the same change, and so do the answers.
	if err := change(aws.Int64(2), del("ber", "203.0.113.0/24"), put("ber", "192.0.2.0/24"), put("muc", "203.0.113.0/24")); err != nil {
		t.Fatal(err)
	}
	pool := api.expect("GET", "/v1/pools/offices", writeToken, nil, 200, "", "")
	if rules := pool["rules"].([]any); fmt.Sprint(rules[0].(map[string]any)["prefixes"]) != "[192.0.2.0/24 2001:db8:1::/48]" {
		t.Errorf("pool rules after the change: %v", rules)
	}
	if got := ask("203.0.113.7"); !slices.Equal(got, []string{"198.51.100.10"}) {
		t.Errorf("a client no longer in ber got %v", got)
	}
	if got := ask("192.0.2.77"); !slices.Equal(got, []string{"192.0.2.10"}) {
		t.Errorf("a client now in ber got %v", got)
	}
	// Taking every block of ber, which the pool routes by, is refused; so is deleting the
	// collection, in use and not empty.
	wantCode(t, change(nil, del("ber", "192.0.2.0/24", "2001:db8:1::/48")), "CidrBlockInUseException", "ber")
	_, err = s.c.DeleteCidrCollection(ctx, &route53.DeleteCidrCollectionInput{Id: aws.String(id)})
	wantCode(t, err, "CidrCollectionInUseException", "not empty")

	api.expect("DELETE", "/v1/zones/example.net/names/office", writeToken, nil, 204, "", "")
	api.expect("DELETE", "/v1/pools/offices", writeToken, nil, 204, "", "")
	if err := change(nil, del("ber", "192.0.2.0/24", "2001:db8:1::/48"), del("muc", "198.51.100.0/24", "203.0.113.0/24")); err != nil {
		t.Fatal(err)
	}
	for _, cid := range []string{id, *second.Collection.Id} {
		if _, err := s.c.DeleteCidrCollection(ctx, &route53.DeleteCidrCollectionInput{Id: aws.String(cid)}); err != nil {
			t.Fatalf("DeleteCidrCollection %s: %v", cid, err)
		}
	}
	_, err = s.c.ListCidrLocations(ctx, &route53.ListCidrLocationsInput{CollectionId: aws.String(id)})
	wantCode(t, err, "NoSuchCidrCollectionException", id)
}

// TestRoute53DNSSEC: GetDNSSEC says a zone is not signed, and knows no other zone.
func TestRoute53DNSSEC(t *testing.T) {
	s := startRoute53(t, t.TempDir())
	zones, err := s.c.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String("example.net"), MaxItems: aws.Int32(1)})
	if err != nil || *zones.HostedZones[0].Name != "example.net." {
		t.Fatalf("ListHostedZonesByName: %v %+v", err, zones)
	}
	out, err := s.c.GetDNSSEC(ctx, &route53.GetDNSSECInput{HostedZoneId: zones.HostedZones[0].Id})
	if err != nil || *out.Status.ServeSignature != "NOT_SIGNING" || len(out.KeySigningKeys) != 0 {
		t.Fatalf("GetDNSSEC: %v %+v", err, out)
	}
	_, err = s.c.GetDNSSEC(ctx, &route53.GetDNSSECInput{HostedZoneId: aws.String("Z0000000000000000000X")})
	wantCode(t, err, "NoSuchHostedZone", "Z0000000000000000000X")
}

// TestHealthCheckSpecs: how Route 53's health checks become the appliance's checks and rule.
func TestHealthCheckSpecs(t *testing.T) {
	hc := func(typ string, mod func(*model.HealthCheck)) model.HealthCheck {
		h := model.HealthCheck{CallerReference: "r", Version: 1, Type: typ, IPAddress: "192.0.2.1"}
		if typ == model.HealthCheckCalculated {
			h.IPAddress = ""
		}
		if mod != nil {
			mod(&h)
		}
		h.Normalize()
		return h
	}
	up := hc("TCP", func(h *model.HealthCheck) { h.Port = 22 })
	off := hc("TCP", func(h *model.HealthCheck) { h.Port = 22; h.Disabled = true })
	offInv := hc("TCP", func(h *model.HealthCheck) { h.Port = 22; h.Disabled = true; h.Inverted = true })
	children := map[string]model.HealthCheck{"up": up, "up2": up, "off": off, "offinv": offInv}
	child := func(id string) (model.HealthCheck, bool) { c, ok := children[id]; return c, ok }
	calc := func(n int, inverted bool, kids ...string) model.HealthCheck {
		return hc(model.HealthCheckCalculated, func(h *model.HealthCheck) { h.HealthThreshold, h.Children, h.Inverted = n, kids, inverted })
	}
	for _, tc := range []struct {
		name   string
		hc     model.HealthCheck
		checks string // each check's type, url or address, host header, server name and invert
		rule   string
	}{
		{"http", hc("HTTP", func(h *model.HealthCheck) { h.ResourcePath = "/hz"; h.FQDN = "www.example.net" }), "http http://192.0.2.1:80/hz www.example.net  false", ""},
		{"http on its own port", hc("HTTP", func(h *model.HealthCheck) { h.Port = 8080 }), "http http://192.0.2.1:8080/ 192.0.2.1:8080  false", ""},
		{"https with sni", hc("HTTPS_STR_MATCH", func(h *model.HealthCheck) { h.FQDN = "www.example.net"; h.EnableSNI = true; h.SearchString = "ok" }), "https https://192.0.2.1:443/ www.example.net www.example.net false", ""},
		{"https without sni", hc("HTTPS", func(h *model.HealthCheck) { h.FQDN = "www.example.net" }), "https https://192.0.2.1:443/ www.example.net 192.0.2.1 false", ""},
		{"a name only", hc("HTTP", func(h *model.HealthCheck) { h.IPAddress = ""; h.FQDN = "www.example.net" }), "http http://www.example.net:80/ www.example.net  false", ""},
		{"ipv6", hc("HTTP", func(h *model.HealthCheck) { h.IPAddress = "2001:db8::1"; h.Port = 81 }), "http http://[2001:db8::1]:81/ [2001:db8::1]:81  false", ""},
		{"tcp inverted", hc("TCP", func(h *model.HealthCheck) { h.Port = 22; h.Inverted = true }), "tcp 192.0.2.1:22   true", ""},
		{"disabled", off, "", ""},
		{"disabled and inverted", offInv, "", "none"},
		{"1 of 2", calc(1, false, "up", "up2"), "tcp 192.0.2.1:22   false|tcp 192.0.2.1:22   false", "1"},
		{"0 of 2: always", calc(0, false, "up", "up2"), "", ""},
		{"3 of 2: never", calc(3, false, "up", "up2"), "", "none"},
		{"a disabled child counts healthy", calc(2, false, "up", "off"), "tcp 192.0.2.1:22   false", "1"},
		{"a disabled inverted child counts for nothing", calc(2, false, "up", "offinv"), "", "none"},
		{"inverted: fewer than 2 of 3 up", calc(2, true, "up", "up2", "off"), "tcp 192.0.2.1:22   true|tcp 192.0.2.1:22   true", "2"},
		{"inverted 0 of 2: never", calc(0, true, "up", "up2"), "", "none"},
		{"disabled calculated", hc(model.HealthCheckCalculated, func(h *model.HealthCheck) { h.Disabled = true }), "", ""},
	} {
		checks, rule := healthCheckSpecs(tc.hc, child)
		var got []string
		for _, c := range checks {
			target := c.URL + c.Address
			got = append(got, strings.Join([]string{c.Type, target, c.Headers["Host"], c.ServerName, fmt.Sprint(c.Invert)}, " "))
			if c.Interval.D() != 30*time.Second || c.Rise != 3 || c.Fall != 3 {
				t.Errorf("%s: timing %+v", tc.name, c)
			}
			if c.Normalize(); len(c.Validate()) > 0 {
				t.Errorf("%s: %+v does not validate: %v", tc.name, c, c.Validate())
			}
		}
		if strings.Join(got, "|") != tc.checks || rule != tc.rule {
			t.Errorf("%s: checks %q rule %q, want %q rule %q", tc.name, strings.Join(got, "|"), rule, tc.checks, tc.rule)
		}
	}
}
