// Command mkqueries writes a query file for dnsperf -B (each query a 2-byte length and the
// message): queries to example.net, every one with an EDNS Client Subnet option holding a random
// public /24, as a recursive resolver would send them.
//
//	go run ./bench/cmd/mkqueries -mix mixed -n 5000 -out var/bench/mixed.bin
//
// Mixes: mixed (a quarter to the routed www, the rest to static names of the zone), routed (all
// www), static (all status.example.net, a plain A record).
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"log"
	"math/rand/v2"
	"net"
	"os"

	"github.com/miekg/dns"
)

var static = []struct {
	name  string
	qtype uint16
}{
	{"status.example.net.", dns.TypeA}, {"mail.example.net.", dns.TypeA}, {"ns1.example.net.", dns.TypeA},
	{"ns2.example.net.", dns.TypeAAAA}, {"example.net.", dns.TypeMX}, {"example.net.", dns.TypeTXT},
	{"www.example.net.", dns.TypeTXT}, {"build7.dev.example.net.", dns.TypeA}, {"_sip._tcp.example.net.", dns.TypeSRV},
	{"nothing.example.net.", dns.TypeA},
}

// publicNet returns a random /24 that is not private, reserved, multicast or loopback.
func publicNet(rng *rand.Rand) net.IP {
	for {
		a, b := byte(1+rng.IntN(223)), byte(rng.IntN(256))
		switch {
		case a == 10, a == 127, a == 0, a == 100 && b >= 64 && b < 128, a == 169 && b == 254,
			a == 172 && b >= 16 && b < 32, a == 192 && b == 168, a == 192 && b == 0, a == 198 && (b == 18 || b == 19 || b == 51), a == 203 && b == 0:
			continue
		}
		return net.IPv4(a, b, byte(rng.IntN(256)), 0).To4()
	}
}

func main() {
	mix := flag.String("mix", "mixed", "mixed, routed or static")
	n := flag.Int("n", 5000, "how many queries")
	out := flag.String("out", "queries.bin", "the file to write")
	seed := flag.Uint64("seed", 1, "random seed: the same file every run")
	flag.Parse()
	rng := rand.New(rand.NewPCG(*seed, 2))
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := 0; i < *n; i++ {
		name, qtype := "www.example.net.", dns.TypeA
		switch *mix {
		case "static":
			name = "status.example.net."
		case "mixed":
			if rng.IntN(4) != 0 {
				s := static[rng.IntN(len(static))]
				name, qtype = s.name, s.qtype
			}
		case "routed":
		default:
			log.Fatalf("mix %q is not mixed, routed or static", *mix)
		}
		m := new(dns.Msg).SetQuestion(name, qtype)
		m.Id = uint16(i)
		m.RecursionDesired = false
		m.SetEdns0(1232, false)
		m.IsEdns0().Option = []dns.EDNS0{&dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: 24, Address: publicNet(rng)}}
		b, err := m.Pack()
		if err != nil {
			log.Fatal(err)
		}
		binary.Write(w, binary.BigEndian, uint16(len(b)))
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	f.Close()
}
