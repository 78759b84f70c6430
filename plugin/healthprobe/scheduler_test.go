package healthprobe

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/pkg/health"
	"github.com/georoute/appliance/plugin/pkg/health/check"
)

// listenEnv makes the test binary a process of loopback TCP listeners (see TestMain): the
// scheduler benchmark puts its targets in another process so that the CPU it reports is its own.
const listenEnv = "HEALTHPROBE_BENCH_LISTENERS"

func TestMain(m *testing.M) {
	if n, err := strconv.Atoi(os.Getenv(listenEnv)); err == nil {
		serveListeners(n)
		return
	}
	os.Exit(m.Run())
}

// serveListeners opens n listeners on 127.0.0.1, prints their addresses and accepts (and closes)
// connections until stdin closes.
func serveListeners(n int) {
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(ln.Addr())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
}

// startListeners starts the listener process and returns its addresses.
func startListeners(tb testing.TB, n int) []string {
	self, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", listenEnv, n))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stdin.Close(); cmd.Wait() })
	var addrs []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if line == "ready" {
			return addrs
		}
		if strings.HasPrefix(line, "error") {
			tb.Fatal(line)
		}
		addrs = append(addrs, line)
	}
	tb.Fatal("listener process ended")
	return nil
}

func tcpEdge(id string, addr string, every time.Duration) health.Target {
	spec := check.Spec{Type: "tcp", Address: addr, Interval: check.Duration(every), Timeout: check.Duration(every / 2), Rise: 2, Fall: 3}
	spec.Normalize()
	return health.Target{ID: id, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, Checks: []check.Spec{spec}}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkScheduler runs 10,000 TCP checks at 1 s intervals against loopback listeners in
// another process for 20 s and reports how late probes start (p50, p99, max), the probes run
// per second and the CPU this process used, in cores. Run it with -benchtime 1x.
func BenchmarkScheduler(b *testing.B) {
	const checks, every, runFor = 10000, time.Second, 20 * time.Second
	addrs := startListeners(b, 16)
	edges := make([]health.Target, checks)
	for i := range edges {
		edges[i] = tcpEdge(fmt.Sprintf("e%d", i), addrs[i%len(addrs)], every)
	}
	var mu sync.Mutex
	var lags []time.Duration
	h := New()
	h.onLag = func(l time.Duration) {
		mu.Lock()
		lags = append(lags, l)
		mu.Unlock()
	}
	for b.Loop() {
		cpu0, t0 := cpuTime(), time.Now()
		h.Track(edges)
		time.Sleep(runFor)
		h.Close()
		cpu, wall := cpuTime()-cpu0, time.Since(t0)

		mu.Lock()
		slices.Sort(lags)
		pct := func(p float64) float64 { return float64(lags[int(p*float64(len(lags)-1))]) / 1e6 }
		b.ReportMetric(pct(0.5), "lag-p50-ms")
		b.ReportMetric(pct(0.99), "lag-p99-ms")
		b.ReportMetric(float64(lags[len(lags)-1])/1e6, "lag-max-ms")
		b.ReportMetric(float64(len(lags))/wall.Seconds(), "probes/s")
		b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cpu-cores")
		mu.Unlock()

		down := 0
		for _, er := range h.edges {
			if er.State() != Up {
				down++
			}
		}
		b.ReportMetric(float64(down), "edges-not-up")
	}
}

// BenchmarkUp is the health read on the query path.
func BenchmarkUp(b *testing.B) {
	h := New()
	edges := make([]health.Target, 1000)
	for i := range edges {
		edges[i] = health.Target{ID: fmt.Sprintf("e%d", i)}
	}
	h.Track(edges)
	id := edges[500].ID
	b.ReportAllocs()
	for b.Loop() {
		h.Up(id)
	}
}

func TestUpNoAllocs(t *testing.T) {
	h := New()
	h.Track([]health.Target{{ID: "fra1"}})
	if n := testing.AllocsPerRun(1000, func() { h.Up("fra1") }); n != 0 {
		t.Errorf("Up allocates %.0f times", n)
	}
	if !h.Up("fra1") || !h.Up("unknown") {
		t.Error("an edge without checks, or one not tracked, must be up")
	}
}
