package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const good = `
defaults:
  ttl: 20
edges:
  FRA1:
    addresses: [192.0.2.10, "2001:db8::10"]
    location: {lat: 50.11, lon: 8.68, country: de}
    weight: 100
  iad1:
    addresses: [192.0.2.20]
    location: {lat: 39.04, lon: -77.49, country: US, continent: NA}
    checks:
      - {type: http, url: "http://192.0.2.20/healthz", interval: 2s, timeout: 1s, rise: 2, fall: 2}
pools:
  web:
    policy: latency
    edges: [fra1, iad1]
    answers: 2
names:
  www.example.net: {pool: web}
  "*.t.example.net": {pool: web}
  k3x9.t.example.net.: {edge: fra1, ttl: 10}
  txt.example.net:
    records:
      - {type: TXT, value: '"hello"'}
rtt:
  files: [rtt.csv]
  max_age: 1h
`

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadGood(t *testing.T) {
	p := write(t, "georoute.yaml", good)
	cfg, err := Load(p)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	fra, ok := cfg.Edges["fra1"]
	if !ok {
		t.Fatalf("edge ids are lower-cased: %v", cfg.Edges)
	}
	if fra.Location.Country != "DE" || fra.Location.Continent != "EU" || *fra.Location.Lat != 50.11 {
		t.Errorf("fra1 location = %+v", fra.Location)
	}
	if c := cfg.Edges["iad1"].Checks[0]; c.Interval.D().Seconds() != 2 || c.Timeout.D().Seconds() != 1 || c.Rise != 2 {
		t.Errorf("check = %+v", c)
	}
	if p := cfg.Pools["web"]; len(p.Members) != 2 || p.Members[1].Edge != "iad1" || p.Answers != 2 {
		t.Errorf("pool web = %+v", p)
	}
	for _, n := range []string{"www.example.net.", "*.t.example.net.", "k3x9.t.example.net.", "txt.example.net."} {
		if _, ok := cfg.Names[n]; !ok {
			t.Errorf("name %s missing from %v", n, cfg.Names)
		}
	}
	if cfg.RTT.Files[0] != filepath.Join(filepath.Dir(p), "rtt.csv") {
		t.Errorf("rtt file %q is not relative to the config file", cfg.RTT.Files[0])
	}
	if cfg.RTT.MaxAge.D().Hours() != 1 || cfg.Defaults.TTL != 20 {
		t.Errorf("rtt/defaults = %+v %+v", cfg.RTT, cfg.Defaults)
	}
}

func TestLoadFormats(t *testing.T) {
	toml := "[edges.fra1]\naddresses = [\"192.0.2.10\"]\n[pools.web]\npolicy = \"latency\"\nedges = [\"fra1\"]\n[names.\"www.example.net\"]\npool = \"web\"\n"
	json := `{"edges": {"fra1": {"addresses": ["192.0.2.10"]}}, "pools": {"web": {"policy": "latency", "edges": ["fra1"]}}, "names": {"www.example.net": {"pool": "web"}}}`
	for name, body := range map[string]string{"c.toml": toml, "c.json": json} {
		cfg, err := Load(write(t, name, body))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if cfg.Names["www.example.net."].Pool != "web" || len(cfg.Edges["fra1"].Addresses) != 1 {
			t.Errorf("%s: decoded %+v", name, cfg)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	edge := "edges:\n  fra1:\n    addresses: [192.0.2.10]\n    location: {lat: 50.1, lon: 8.6}\n"
	tests := []struct {
		name, body, want string
	}{
		{"syntax", "edges: [\n", "does not parse"},
		{"unknown top-level field", "edgez:\n  fra1: {addresses: [192.0.2.1]}\n", `edgez: unknown field (want edges, pools, names, rtt, defaults)`},
		{"unknown edge field", "edges:\n  fra1:\n    adresses: [192.0.2.1]\n", `edges.fra1: unknown field(s): adresses`},
		{"wrong type", "edges:\n  fra1:\n    addresses: 192.0.2.1\n", `edges.fra1.addresses: wrong type: want a list, got a string`},
		{"weight as string", edge + "    weight: heavy\n", `edges.fra1.weight: wrong type: want a number, got a string`},
		{"bad address", "edges:\n  fra1:\n    addresses: [192.0.2.300]\n", `edges.fra1.addresses[0]: "192.0.2.300" is not an IP address`},
		{"no address", "edges:\n  fra1:\n    location: {lat: 1, lon: 2}\n", `edges.fra1.addresses: an edge needs at least one`},
		{"duplicate address", "edges:\n  fra1:\n    addresses: [192.0.2.1, 192.0.2.1]\n", `edges.fra1.addresses[1]: "192.0.2.1" is listed twice`},
		{"lat without lon", "edges:\n  fra1:\n    addresses: [192.0.2.1]\n    location: {lat: 1}\n", `edges.fra1.location: lat and lon go together`},
		{"latitude range", "edges:\n  fra1:\n    addresses: [192.0.2.1]\n    location: {lat: 91, lon: 0}\n", `edges.fra1.location.lat: 91 is not a latitude`},
		{"bad country", "edges:\n  fra1:\n    addresses: [192.0.2.1]\n    location: {country: Germany}\n", `edges.fra1.location.country: "GERMANY" is not an ISO 3166-1`},
		{"bad id", "edges:\n  \"fra 1\":\n    addresses: [192.0.2.1]\n", `edges.fra 1.id: "fra 1" is not a valid id`},
		{"bad override", edge + "    override: maybe\n", `edges.fra1.override: "maybe" is not one of auto, up, down`},
		{"bad check type", edge + "    checks: [{type: smtp}]\n", `edges.fra1.checks[0].type: unknown type "smtp"; valid types are icmp, tcp, http, https, dns`},
		{"bad duration", edge + "    checks: [{type: tcp, interval: soon}]\n", `"soon" is not a duration`},
		{"no policy", edge + "pools:\n  web: {edges: [fra1]}\n", `pools.web.policy: a pool needs a policy`},
		{"unknown policy", edge + "pools:\n  web: {policy: fastest, edges: [fra1]}\n", `pools.web.policy: "fastest" is not a policy`},
		{"unknown edge in pool", edge + "pools:\n  web: {policy: latency, edges: [fra2]}\n", `pools.web.members[0].edge: no edge "fra2"`},
		{"empty pool", edge + "pools:\n  web: {policy: latency}\n", `pools.web.edges: a pool needs edges or members`},
		{"answers", edge + "pools:\n  web: {policy: latency, edges: [fra1], answers: 40}\n", `pools.web.answers: 40 is not between 1 and 16`},
		{"when_all_down", edge + "pools:\n  web: {policy: latency, edges: [fra1], when_all_down: panic}\n", `pools.web.when_all_down: "panic" is not one of all, none, servfail`},
		{"cycle", edge + "pools:\n  a: {policy: failover, members: [{pool: b}]}\n  b: {policy: failover, members: [{pool: a}]}\n", `pools form a cycle: a -> b -> a`},
		{"self member", edge + "pools:\n  a: {policy: failover, members: [{pool: a}]}\n", `pool "a" cannot be a member of itself`},
		{"name without target", edge + "names:\n  www.example.net: {}\n", `names["www.example.net."]: a name has exactly one of pool, edge or records`},
		{"name to unknown pool", edge + "names:\n  www.example.net: {pool: web}\n", `names["www.example.net."].pool: no pool "web"`},
		{"two targets", edge + "pools:\n  web: {policy: latency, edges: [fra1]}\nnames:\n  www.example.net: {pool: web, edge: fra1}\n", `a name has a pool or an edge, not both`},
		{"bad wildcard", edge + "names:\n  www.*.example.net: {edge: fra1}\n", `has a wildcard that is not the whole leftmost label`},
		{"bad record", edge + "names:\n  www.example.net: {records: [{type: A, value: nope}]}\n", `names["www.example.net."].records[0].value: A value "nope" does not parse`},
		{"bad record type", edge + "names:\n  www.example.net: {records: [{type: SOA, value: x}]}\n", `type "SOA" is not one of the record types`},
		{"rtt neighbours", "rtt: {neighbours: 100}\n", `rtt.neighbours: 100 is not between 0 and 32`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, "georoute.yaml", tc.body)
			_, err := Load(p)
			if err == nil {
				t.Fatalf("Load accepted:\n%s", tc.body)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q\nwant it to contain %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestLoadFileProblems(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(write(t, "c.ini", "x=1")); err == nil || !strings.Contains(err.Error(), `extension "ini"`) {
		t.Errorf("bad extension: %v", err)
	}
	cfg, err := Load(write(t, "empty.yaml", ""))
	if err != nil || len(cfg.Edges) != 0 {
		t.Errorf("an empty file is an empty config: %v %+v", err, cfg)
	}
}
