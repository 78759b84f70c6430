package main

import (
	"slices"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
)

func TestDirectivesOrder(t *testing.T) {
	d := dnsserver.Directives
	pos := func(name string) int {
		i := slices.Index(d, name)
		if i < 0 {
			t.Fatalf("directive %q missing from %v", name, d)
		}
		return i
	}
	hp, gr, file := pos("healthprobe"), pos("georoute"), pos("file")
	if !(hp < gr && gr == file-1) {
		t.Errorf("want healthprobe < georoute, georoute just before file; got healthprobe=%d georoute=%d file=%d", hp, gr, file)
	}
	// The plugins that wrap answers (metrics, errors, log) must come before ours so they see them.
	for _, outer := range []string{"prometheus", "errors", "log", "ready", "health"} {
		if pos(outer) > hp {
			t.Errorf("%s (%d) must come before healthprobe (%d)", outer, pos(outer), hp)
		}
	}
	// tsig verifies a signed request (and signs its reply) before georoute sees it: UPDATE
	// needs the key it names. Behind the plugins that wrap answers, so they see its refusals.
	if ts := pos("tsig"); ts > gr || ts < pos("log") || ts < pos("prometheus") {
		t.Errorf("tsig (%d) must come after log and prometheus and before georoute (%d)", ts, gr)
	}
	// transfer answers AXFR and IXFR from georoute's data (transfer.Transferer) and passes
	// every other query on: it wraps georoute, behind tsig, which verifies the transfer's key
	// and signs each message of the answer.
	if tr := pos("transfer"); tr > gr || tr < pos("tsig") {
		t.Errorf("transfer (%d) must come after tsig (%d) and before georoute (%d)", tr, pos("tsig"), gr)
	}
	// multisocket sets how many sockets the server opens on its address: a server option, read
	// before the chain is built, among the options (bind, timeouts) ahead of every plugin of the
	// chain, the first of which is shed.
	if ms := pos("multisocket"); ms > pos("shed") || ms > pos("bind") || ms > hp {
		t.Errorf("multisocket (%d) must come before bind (%d), shed (%d) and healthprobe (%d)", ms, pos("bind"), pos("shed"), hp)
	}
	if n := len(slices.Compact(slices.Sorted(slices.Values(d)))); n != len(d) {
		t.Errorf("directives repeat: %v", d)
	}
}

func TestPluginsRegistered(t *testing.T) {
	for _, name := range []string{"georoute", "healthprobe", "bind", "prometheus", "health", "ready", "errors", "log", "reload", "tsig", "transfer",
		"acl", "any", "cancel", "chaos", "dnssec", "nsid", "multisocket", "shed"} {
		if !slices.Contains(caddy.ListPlugins()["others"], "dns."+name) {
			t.Errorf("plugin %s is not compiled in", name)
		}
	}
}

// TestOperatorPluginsOrder: the in-tree plugins an authoritative operator adds sit where CoreDNS
// puts them, and all of them ahead of ours, so each sees (or makes) the answer georoute gives.
func TestOperatorPluginsOrder(t *testing.T) {
	chain := []string{
		"cancel",      // the query's deadline reaches every plugin after it
		"nsid",        // adds its option to whatever reply comes back
		"log",         // logs the reply as sent
		"any",         // answers ANY before anything behind it sees the query
		"chaos",       // answers CH-class version.bind / hostname.bind; not a zone of ours
		"tsig",        // verifies the request, signs the reply after dnssec has signed it
		"acl",         // refuses or drops before any work, signing included
		"dnssec",      // wraps georoute's writer: signs the reply georoute writes
		"transfer",    // AXFR/IXFR of the zones georoute hands it
		"healthprobe", // edge health, before routing decides
		"georoute",
		"file",
	}
	at := make([]int, len(chain))
	for i, name := range chain {
		if at[i] = slices.Index(dnsserver.Directives, name); at[i] < 0 {
			t.Fatalf("directive %q missing", name)
		}
		if i > 0 && at[i] <= at[i-1] {
			t.Errorf("%s (%d) must come after %s (%d)", name, at[i], chain[i-1], at[i-1])
		}
	}
}

func TestSplice(t *testing.T) {
	got := splice([]string{"a", "file", "b"}, "file", []string{"x", "y"})
	if !slices.Equal(got, []string{"a", "x", "y", "file", "b"}) {
		t.Errorf("splice = %v", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("splice before a missing directive must panic")
		}
	}()
	splice([]string{"a"}, "file", []string{"x"})
}
