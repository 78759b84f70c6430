package georoute

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The UPDATE tests with BIND's nsupdate and dig (Debian bind9-dnsutils) and a key file made by
// tsig-keygen (Debian bind9): what an operator runs.

// nsupdate runs nsupdate with args on script (server and zone lines are added) and returns
// its output and whether it exited 0.
func (s *updateServer) nsupdate(script string, args ...string) (string, bool) {
	s.t.Helper()
	host, port, _ := net.SplitHostPort(s.addr)
	cmd := exec.Command("nsupdate", append(args, "-t", "5")...)
	cmd.Stdin = strings.NewReader(fmt.Sprintf("server %s %s\nzone example.net.\n%s\nsend\n", host, port, strings.TrimSpace(script)))
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// dig asks with dig and returns its +short answer lines, sorted, or the rcode when not NOERROR.
func (s *updateServer) dig(name, qtype string) []string {
	s.t.Helper()
	host, port, _ := net.SplitHostPort(s.addr)
	out, err := exec.Command("dig", "@"+host, "-p", port, name, qtype, "+norecurse", "+noall", "+answer", "+comments").CombinedOutput()
	if err != nil {
		s.t.Fatalf("dig %s %s: %v\n%s", name, qtype, err, out)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "status: "); i >= 0 {
			if st := strings.TrimSuffix(strings.Fields(l[i+len("status: "):])[0], ","); st != "NOERROR" {
				return []string{st}
			}
		}
		if f := strings.Fields(l); len(f) >= 5 && !strings.HasPrefix(l, ";") {
			lines = append(lines, strings.Join(f[4:], " "))
		}
	}
	slices.Sort(lines)
	return lines
}

func (s *updateServer) digWant(name, qtype string, want ...string) {
	s.t.Helper()
	if got := s.dig(name, qtype); !slices.Equal(got, want) {
		s.t.Errorf("dig %s %s: %q, want %q", name, qtype, got, want)
	}
}

// needTools skips the test when a tool is missing; CI (.ci/run) installs them and sets
// GEOROUTE_REQUIRE_NSUPDATE, so there it fails rather than skips.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("GEOROUTE_REQUIRE_NSUPDATE") != "" {
				t.Fatalf("%s is not installed", tool)
			}
			t.Skipf("%s is not installed (Debian: bind9-dnsutils; tsig-keygen: bind9)", tool)
		}
	}
}

func TestNsupdate(t *testing.T) {
	needTools(t, "nsupdate", "dig", "tsig-keygen")
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keyfile.example.net.key")
	key, err := exec.Command("tsig-keygen", "-a", "hmac-sha512", "keyfile.example.net.").Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startUpdate(t, "secrets "+keyFile, "update keyfile.example.net. example.net")
	sha256 := []string{"-y", "hmac-sha256:" + updateKey + ":" + updateSecret}
	md5 := []string{"-y", md5Key + ":" + md5Secret} // nsupdate's default algorithm: hmac-md5
	md5Named := []string{"-y", "hmac-md5:" + md5Key + ":" + md5Secret}
	keyfile := []string{"-k", keyFile}
	tcp := func(args []string) []string { return append([]string{"-v"}, args...) }
	for _, step := range []struct {
		name   string
		args   []string
		script string
		ok     bool
		output string // in nsupdate's output
		check  func()
	}{
		{"add over UDP, hmac-sha256", sha256, `
update add ns-a.example.net. 60 A 192.0.2.1
update add ns-a.example.net. 60 TXT "first"`, true, "", func() {
			s.digWant("ns-a.example.net", "A", "192.0.2.1")
			s.digWant("ns-a.example.net", "TXT", `"first"`)
		}},
		{"replace over TCP, hmac-md5 by default", tcp(md5), `
update delete ns-a.example.net. A
update add ns-a.example.net. 120 A 192.0.2.2
update add ns-a.example.net. 120 A 192.0.2.3`, true, "", func() { s.digWant("ns-a.example.net", "A", "192.0.2.2", "192.0.2.3") }},
		{"delete one record, hmac-md5 named", md5Named, `
update delete ns-a.example.net. A 192.0.2.2`, true, "", func() { s.digWant("ns-a.example.net", "A", "192.0.2.3") }},
		{"delete the name, a tsig-keygen key file", keyfile, `
update delete ns-a.example.net.`, true, "", func() { s.digWant("ns-a.example.net", "TXT", "NXDOMAIN") }},
		{"prerequisites that hold", tcp(keyfile), `
prereq nxdomain ns-b.example.net.
prereq yxrrset mail.example.net. A
prereq yxdomain static.example.net.
prereq nxrrset static.example.net. TXT
update add ns-b.example.net. 60 A 192.0.2.4`, true, "", func() { s.digWant("ns-b.example.net", "A", "192.0.2.4") }},
		{"value-dependent prerequisite that holds", sha256, `
prereq yxrrset ns-b.example.net. A 192.0.2.4
update add ns-b.example.net. 60 A 192.0.2.5`, true, "", func() { s.digWant("ns-b.example.net", "A", "192.0.2.4", "192.0.2.5") }},
		{"nxdomain that fails", sha256, `
prereq nxdomain ns-b.example.net.
update add ns-b.example.net. 60 A 192.0.2.6`, false, "YXDOMAIN", func() { s.digWant("ns-b.example.net", "A", "192.0.2.4", "192.0.2.5") }},
		{"yxdomain that fails", sha256, `
prereq yxdomain ns-c.example.net.
update add ns-c.example.net. 60 A 192.0.2.6`, false, "NXDOMAIN", func() { s.digWant("ns-c.example.net", "A", "NXDOMAIN") }},
		{"yxrrset that fails", md5, `
prereq yxrrset ns-b.example.net. TXT
update add ns-b.example.net. 60 A 192.0.2.6`, false, "NXRRSET", func() { s.digWant("ns-b.example.net", "A", "192.0.2.4", "192.0.2.5") }},
		{"nxrrset that fails", keyfile, `
prereq nxrrset ns-b.example.net. A
update add ns-b.example.net. 60 TXT "x"`, false, "YXRRSET", func() { s.digWant("ns-b.example.net", "TXT") }},
		{"value-dependent that fails", keyfile, `
prereq yxrrset ns-b.example.net. A 192.0.2.4
update delete ns-b.example.net.`, false, "NXRRSET", func() { s.digWant("ns-b.example.net", "A", "192.0.2.4", "192.0.2.5") }},
		{"a wrong secret", []string{"-y", "hmac-sha256:" + updateKey + ":" + otherSecret}, `
update add ns-d.example.net. 60 A 192.0.2.7`, false, "BADSIG", func() { s.digWant("ns-d.example.net", "A", "NXDOMAIN") }},
		{"a wrong secret, hmac-md5", []string{"-y", md5Key + ":" + otherSecret}, `
update add ns-d.example.net. 60 A 192.0.2.7`, false, "BADSIG", func() { s.digWant("ns-d.example.net", "A", "NXDOMAIN") }},
		{"an unknown key", []string{"-y", "hmac-sha256:nobody.example.net.:" + otherSecret}, `
update add ns-d.example.net. 60 A 192.0.2.7`, false, "BADKEY", func() { s.digWant("ns-d.example.net", "A", "NXDOMAIN") }},
		{"unsigned", nil, `
update add ns-d.example.net. 60 A 192.0.2.7`, false, "REFUSED", func() { s.digWant("ns-d.example.net", "A", "NXDOMAIN") }},
		{"the zone file's records", sha256, `
update delete mail.example.net. A`, false, "REFUSED", func() { s.digWant("mail.example.net", "A", "192.0.2.25") }},
	} {
		out, ok := s.nsupdate(step.script, step.args...)
		t.Logf("%s: %v %q", step.name, ok, out)
		if ok != step.ok || !strings.Contains(out, step.output) {
			t.Errorf("%s: nsupdate exited ok=%v (want %v), output %q (want %q)", step.name, ok, step.ok, out, step.output)
		}
		step.check()
	}
}
