package georoute

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRoute53AWSCLI drives the Route 53 API with the aws command line tool, as a user pointing
// it at the appliance does (AWS_ENDPOINT_URL_ROUTE_53), and checks the answers with dig: latency
// records in two regions, each client getting its own. CI installs the tool and sets
// GEOROUTE_REQUIRE_AWSCLI, so there it fails rather than skips.
func TestRoute53AWSCLI(t *testing.T) {
	awsCLI, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("GEOROUTE_REQUIRE_AWSCLI") != "" {
			t.Fatal("no aws command line tool (Debian package awscli)")
		}
		t.Skip("no aws command line tool (Debian package awscli)")
	}
	dig, err := exec.LookPath("dig")
	if err != nil {
		t.Skip("no dig (Debian package bind9-dnsutils)")
	}
	dir := t.TempDir()
	s := startRoute53(t, dir)
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+awsKeyID, "AWS_SECRET_ACCESS_KEY="+awsSecret,
		"AWS_DEFAULT_REGION=eu-west-1", "AWS_REGION=eu-west-1", "AWS_ENDPOINT_URL_ROUTE_53="+s.base,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "HOME="+dir)
	run := func(args ...string) (map[string]any, string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, awsCLI, append([]string{"route53", "--output", "json"}, args...)...)
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var doc map[string]any
		if err == nil && len(out) > 0 {
			if jerr := json.Unmarshal(out, &doc); jerr != nil {
				t.Fatalf("aws %s: not JSON: %q", strings.Join(args, " "), out)
			}
		}
		return doc, stderr.String(), err
	}
	must := func(args ...string) map[string]any {
		t.Helper()
		doc, stderr, err := run(args...)
		if err != nil {
			t.Fatalf("aws route53 %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return doc
	}

	zone := must("create-hosted-zone", "--name", "cli.test", "--caller-reference", "cli-1")
	zoneID := zone["HostedZone"].(map[string]any)["Id"].(string)
	if ns := zone["DelegationSet"].(map[string]any)["NameServers"].([]any); len(ns) == 0 {
		t.Errorf("DelegationSet without name servers: %v", zone)
	}

	batch := filepath.Join(dir, "latency.json")
	os.WriteFile(batch, []byte(`{
  "Comment": "latency records in two regions",
  "Changes": [
    {"Action": "CREATE", "ResourceRecordSet": {"Name": "app.cli.test", "Type": "A", "SetIdentifier": "eu",
      "Region": "eu-west-2", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.80"}]}},
    {"Action": "CREATE", "ResourceRecordSet": {"Name": "app.cli.test", "Type": "A", "SetIdentifier": "us",
      "Region": "us-west-1", "TTL": 60, "ResourceRecords": [{"Value": "198.51.100.80"}]}}
  ]
}`), 0o644)
	out := must("change-resource-record-sets", "--hosted-zone-id", zoneID, "--change-batch", "file://"+batch)
	changeID := out["ChangeInfo"].(map[string]any)["Id"].(string)
	must("wait", "resource-record-sets-changed", "--id", changeID)

	list := must("list-resource-record-sets", "--hosted-zone-id", zoneID)
	var regions []string
	for _, rs := range list["ResourceRecordSets"].([]any) {
		m := rs.(map[string]any)
		if m["Name"] == "app.cli.test." {
			regions = append(regions, m["SetIdentifier"].(string)+"="+m["Region"].(string))
		}
	}
	if strings.Join(regions, " ") != "eu=eu-west-2 us=us-west-1" {
		t.Errorf("listed app.cli.test as %v", regions)
	}

	// dig, as resolvers in London and in California would ask (EDNS Client Subnet).
	host, port, _ := strings.Cut(s.dns, ":")
	for client, want := range map[string]string{"81.2.69.0/24": "192.0.2.80", "8.8.8.0/24": "198.51.100.80"} {
		out, err := exec.Command(dig, "@"+host, "-p", port, "+short", "+subnet="+client, "app.cli.test", "A").Output()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("dig +subnet=%s app.cli.test: %q %v, want %s", client, out, err, want)
		}
	}

	// A batch Route 53 refuses: the tool shows why, and nothing changed.
	os.WriteFile(batch, []byte(`{"Changes": [
    {"Action": "CREATE", "ResourceRecordSet": {"Name": "new.cli.test", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.81"}]}},
    {"Action": "DELETE", "ResourceRecordSet": {"Name": "app.cli.test", "Type": "A", "SetIdentifier": "eu",
      "Region": "eu-west-1", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.80"}]}}]}`), 0o644)
	_, stderr, err := run("change-resource-record-sets", "--hosted-zone-id", zoneID, "--change-batch", "file://"+batch)
	if err == nil || !strings.Contains(stderr, "InvalidChangeBatch") || !strings.Contains(stderr, "do not match") {
		t.Errorf("a refused batch: %v, %q", err, stderr)
	}
	if out, _ := exec.Command(dig, "@"+host, "-p", port, "+short", "new.cli.test", "A").Output(); len(strings.TrimSpace(string(out))) != 0 {
		t.Errorf("new.cli.test of a refused batch answers %q", out)
	}
}
