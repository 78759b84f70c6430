package georoute

import (
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// exchange asks s's DNS server.
func (s *apiServer) exchange(name string, qtype uint16) *dns.Msg {
	s.t.Helper()
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(new(dns.Msg).SetQuestion(name, qtype), s.dns)
	if err != nil {
		s.t.Fatalf("dns %s: %v", name, err)
	}
	return r
}

// TestAPIZones: a zone created at run time is served at once with the appliance's SOA and NS,
// takes names, survives a restart, and goes only when empty; a zone file's zone cannot go.
func TestAPIZones(t *testing.T) {
	dir := t.TempDir()
	s := startAPI(t, dir)
	if r := s.exchange("example.com.", dns.TypeSOA); r.Rcode != dns.RcodeRefused {
		t.Fatalf("example.com before it exists: %s", dns.RcodeToString[r.Rcode])
	}
	out := s.expect("PUT", "/v1/zones/example.com", writeToken, map[string]any{"comment": "made by a test"}, 201, "", "")
	if out["zone"] != "example.com." || out["source"] != "api" || out["comment"] != "made by a test" {
		t.Errorf("PUT zone: %v", out)
	}
	s.expect("PUT", "/v1/zones/example.com.", writeToken, nil, 200, "", "")
	r := s.exchange("example.com.", dns.TypeSOA)
	if r.Rcode != dns.RcodeSuccess || !r.Authoritative || len(r.Answer) != 1 {
		t.Fatalf("SOA of the new zone: %v", r)
	}
	// The template's defaults come from the first zone file: its name servers and mailbox.
	if soa := r.Answer[0].(*dns.SOA); soa.Ns != "ns1.example.net." || soa.Mbox != "hostmaster.example.net." {
		t.Errorf("SOA %v", soa)
	}
	if r := s.exchange("example.com.", dns.TypeNS); len(r.Answer) == 0 {
		t.Errorf("no NS at the new apex: %v", r)
	}
	if r := s.exchange("nope.example.com.", dns.TypeA); r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 {
		t.Errorf("a missing name of the new zone: %v", r)
	}
	s.expect("PUT", "/v1/zones/example.com/names/www", writeToken, map[string]any{"edge": "fra1", "ttl": 20}, 201, "", "")
	if got := s.addr("www.example.com.", dns.TypeA); got != "192.0.2.10" {
		t.Errorf("www.example.com answers %q", got)
	}
	if out := s.expect("GET", "/v1/zones", readToken, nil, 200, "", ""); len(out["zones"].([]any)) != 3 {
		t.Errorf("zones: %v", out)
	}

	s.expect("DELETE", "/v1/zones/example.com", writeToken, nil, 409, "in_use", "")
	s.expect("DELETE", "/v1/zones/example.net", writeToken, nil, 409, "in_config", "")
	s.expect("PUT", "/v1/zones/example.net", writeToken, nil, 409, "in_config", "")
	s.expect("PUT", "/v1/zones/s.example.net", writeToken, nil, 201, "", "") // no names under it yet
	s.expect("PUT", "/v1/zones/example.net/names/x.s", writeToken, map[string]any{"edge": "fra1"}, 400, "outside_zone", "")
	s.expect("DELETE", "/v1/zones/s.example.net", writeToken, nil, 204, "", "")
	s.expect("PUT", "/v1/zones/example.net/names/x.s", writeToken, map[string]any{"edge": "fra1"}, 201, "", "")
	s.expect("PUT", "/v1/zones/s.example.net", writeToken, nil, 409, "in_use", "")
	s.expect("PUT", "/v1/zones/bad%20zone", writeToken, nil, 400, "invalid_field", "zone")
	s.expect("DELETE", "/v1/zones/example.info", writeToken, nil, 404, "not_found", "")
	s.expect("PUT", "/v1/zones/example.info", readToken, nil, 403, "", "")

	stopServers(t)
	s = startAPI(t, dir)
	if got := s.addr("www.example.com.", dns.TypeA); got != "192.0.2.10" {
		t.Errorf("after a restart www.example.com answers %q", got)
	}
	s.expect("DELETE", "/v1/zones/example.com/names/www", writeToken, nil, 204, "", "")
	s.expect("DELETE", "/v1/zones/example.com", writeToken, nil, 204, "", "")
	if r := s.exchange("example.com.", dns.TypeSOA); r.Rcode != dns.RcodeRefused {
		t.Errorf("example.com after its delete: %s", dns.RcodeToString[r.Rcode])
	}
	s.expect("GET", "/v1/zones/example.com", readToken, nil, 404, "not_found", "")
}

// TestAPICreatedOnce: of concurrent PUTs of one new object, exactly one answers 201: the flag is
// decided where the writes are serialized, not before.
func TestAPICreatedOnce(t *testing.T) {
	s := startAPI(t, t.TempDir())
	for _, path := range []string{"/v1/edges/new1", "/v1/zones/example.net/names/new1"} {
		var wg sync.WaitGroup
		statuses := make(chan int, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := map[string]any{"addresses": []string{"192.0.2.99"}}
				if path != "/v1/edges/new1" {
					body = map[string]any{"edge": "fra1"}
				}
				got, _ := s.do("PUT", path, writeToken, body)
				statuses <- got
			}()
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for st := range statuses {
			count[st]++
		}
		if count[201] != 1 || count[200] != 19 {
			t.Errorf("%s: statuses %v, want one 201 and 19 200", path, count)
		}
	}
}
