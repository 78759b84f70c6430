package healthprobe

import (
	"context"
	"net"
	"testing"

	"github.com/georoute/appliance/plugin/pkg/health/check"
	"github.com/miekg/dns"
)

// startDNSServer serves, over network on loopback: example.org. A 127.0.0.1 and AAAA ::1;
// nx.example.org. NXDOMAIN; broken.example.org. SERVFAIL; silent.example.org. nothing at all.
func startDNSServer(t testing.TB, network string) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		q := r.Question[0]
		switch q.Name {
		case "example.org.":
			switch q.Qtype {
			case dns.TypeA:
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 1)})
			case dns.TypeAAAA:
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: 60}, AAAA: net.IPv6loopback})
			}
		case "nx.example.org.":
			m.Rcode = dns.RcodeNameError
		case "broken.example.org.":
			m.Rcode = dns.RcodeServerFailure
		case "silent.example.org.":
			return
		}
		w.WriteMsg(m)
	})
	started := make(chan struct{})
	srv := &dns.Server{Handler: handler, NotifyStartedFunc: func() { close(started) }}
	var addr string
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv.PacketConn, addr = pc, pc.LocalAddr().String()
	case "tcp":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv.Listener, addr = l, l.Addr().String()
	}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return addr
}

func TestProbeDNS(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			server := startDNSServer(t, network)
			tests := []struct {
				name   string
				spec   check.Spec
				reason string
				detail string
			}{
				{"ok", check.Spec{QName: "example.org"}, "", "NOERROR, 1 answer"},
				{"aaaa", check.Spec{QName: "example.org", QType: "AAAA", ExpectAnswer: "::1"}, "", "NOERROR, 1 answer"},
				{"answer", check.Spec{QName: "example.org", ExpectAnswer: "\tA\t127.0.0.1"}, "", "NOERROR"},
				{"wrong answer", check.Spec{QName: "example.org", ExpectAnswer: "127.0.0.2"}, ReasonAnswer, `no answer contains "127.0.0.2" (1 answer)`},
				{"no answer", check.Spec{QName: "example.org", QType: "MX", ExpectAnswer: "mail"}, ReasonAnswer, `no answer contains "mail" (0 answers)`},
				{"empty is fine", check.Spec{QName: "example.org", QType: "MX"}, "", "NOERROR, 0 answers"},
				{"rcode", check.Spec{QName: "nx.example.org"}, ReasonRcode, "rcode NXDOMAIN, want NOERROR"},
				{"rcode wanted", check.Spec{QName: "nx.example.org", ExpectRcode: "NXDOMAIN"}, "", "NXDOMAIN, 0 answers"},
				{"servfail", check.Spec{QName: "broken.example.org"}, ReasonRcode, "rcode SERVFAIL, want NOERROR"},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.spec.Type, tc.spec.Server, tc.spec.Transport = "dns", server, network
					res := Probe(context.Background(), mustCompileCheck(t, tc.spec))
					wantProbeResult(t, res, tc.reason, tc.detail)
					if res.RTT <= 0 || res.Phases[PhaseProcessing] != res.RTT || res.Phases[PhaseConnect] <= 0 {
						t.Errorf("RTT %v phases %v", res.RTT, res.Phases)
					}
				})
			}
		})
	}
}

func TestProbeDNSFailures(t *testing.T) {
	udp := startDNSServer(t, "udp")
	tests := []struct {
		name   string
		spec   check.Spec
		reason string
		detail string
	}{
		{"udp refused", check.Spec{Server: refusedUDPAddr(t), QName: "example.org"}, ReasonRefused, "connection refused"},
		{"tcp refused", check.Spec{Server: closedPort(t), QName: "example.org", Transport: "tcp"}, ReasonRefused, "connection refused"},
		{"no reply", check.Spec{Server: udp, QName: "silent.example.org", Timeout: check.Duration(200e6)}, ReasonTimeout, "timed out after 200ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Type = "dns"
			wantProbeResult(t, Probe(context.Background(), mustCompileCheck(t, tc.spec)), tc.reason, tc.detail)
		})
	}
}

func refusedUDPAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}
