package healthprobe

import (
	"context"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/pkg/health/check"
)

func TestProbeTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go acceptAndClose(l)
	addr := l.Addr().String()

	res := Probe(context.Background(), mustCompileCheck(t, check.Spec{Type: "tcp", Address: addr}))
	wantProbeResult(t, res, "", "connected to "+addr)
	if res.RTT <= 0 || res.RTT != res.Phases[PhaseConnect] || res.Phases[PhaseResolve] != 0 {
		t.Errorf("RTT %v, phases %v", res.RTT, res.Phases)
	}

	// A bare port is the edge's first address.
	res = Probe(context.Background(), mustCompileCheck(t, check.Spec{Type: "tcp", Address: ":" + portOfAddr(addr)}))
	wantProbeResult(t, res, "", "connected to "+addr)

	res = Probe(context.Background(), mustCompileCheck(t, check.Spec{Type: "tcp", Address: closedPort(t)}))
	wantProbeResult(t, res, ReasonRefused, "connection refused")
	if res.RTT != 0 {
		t.Errorf("refused connection has RTT %v", res.RTT)
	}
}

func TestProbeTCPIPv6(t *testing.T) {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer l.Close()
	go acceptAndClose(l)
	c, err := check.Compile(check.Spec{Type: "tcp", Address: portOfAddr(l.Addr().String())}, []netip.Addr{netip.MustParseAddr("::1")})
	if err != nil {
		t.Fatal(err)
	}
	wantProbeResult(t, Probe(context.Background(), c), "", "connected to "+l.Addr().String())
}

func TestProbeTCPHostName(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go acceptAndClose(l)
	res := Probe(context.Background(), mustCompileCheck(t, check.Spec{Type: "tcp", Address: "localhost:" + portOfAddr(l.Addr().String())}))
	if !res.OK {
		t.Skipf("localhost does not resolve to 127.0.0.1 here: %s", res.Detail)
	}
	if res.Phases[PhaseResolve] <= 0 || res.Phases[PhaseConnect] <= 0 {
		t.Errorf("phases %v, want resolve and connect", res.Phases)
	}
}

// TestProbeTCPNoTimeWait: probes hang up with a reset, so no TIME_WAIT socket stays behind on
// either side however the peer behaves.
func TestProbeTCPNoTimeWait(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go acceptAndClose(l)
	port := portOfAddr(l.Addr().String())
	before := countTimeWaits(t, port)
	c := mustCompileCheck(t, check.Spec{Type: "tcp", Address: l.Addr().String()})
	for range 50 {
		if res := Probe(context.Background(), c); !res.OK {
			t.Fatalf("%+v", res)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := countTimeWaits(t, port) - before; n > 0 {
		t.Errorf("%d TIME_WAIT sockets after 50 probes", n)
	}
}

func BenchmarkProbeTCP(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go acceptAndClose(l)
	c := mustCompileCheck(b, check.Spec{Type: "tcp", Address: l.Addr().String()})
	ctx := context.Background()
	b.ReportAllocs()
	cpu := probeCPUTime()
	for b.Loop() {
		if res := Probe(ctx, c); !res.OK {
			b.Fatalf("%+v", res)
		}
	}
	reportCPU(b, cpu)
}

// probeCPUTime is the CPU time this process has used.
func probeCPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op since start, the listener's share included.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(probeCPUTime()-start)/float64(b.N), "cpu-ns/op")
}
