// Package test holds tests that need the whole appliance: both plugins in one real server,
// started from a Corefile on port 0 and queried over the network on loopback.
package test

import (
	"slices"
	"sync"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/georoute/appliance/plugin/georoute"
	_ "github.com/georoute/appliance/plugin/healthprobe"
)

// The custom build splices our directives before file (cmd/coredns-custom); so do the tests.
func init() {
	if !slices.Contains(dnsserver.Directives, "georoute") {
		i := slices.Index(dnsserver.Directives, "file")
		dnsserver.Directives = slices.Insert(dnsserver.Directives, i, "healthprobe", "georoute")
	}
}

var mu sync.Mutex

// Server starts a real server from corefile and returns its UDP address; it stops with the test.
func Server(t testing.TB, corefile string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	caddy.Quiet, dnsserver.Quiet = true, true
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	// Stop alone runs no shutdown callbacks: the plugins' background work (reload watchers, the
	// committer, the store) would outlive the test.
	t.Cleanup(func() { inst.Stop(); inst.ShutdownCallbacks() })
	return inst.Servers()[0].LocalAddr().String()
}
