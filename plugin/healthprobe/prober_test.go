package healthprobe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/pkg/health/check"
)

// loopbackEdgeAddrs is the edge every test probes.
var loopbackEdgeAddrs = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}

// mustCompileCheck compiles s for loopbackEdgeAddrs, with a 1s timeout unless s sets one.
func mustCompileCheck(t testing.TB, s check.Spec) *check.Compiled {
	t.Helper()
	if s.Timeout == 0 {
		s.Timeout = check.Duration(time.Second)
	}
	c, err := check.Compile(s, loopbackEdgeAddrs)
	if err != nil {
		t.Fatalf("Compile(%+v): %v", s, err)
	}
	return c
}

// wantProbeResult checks the outcome of a probe: reason "" means OK; detail is a substring.
func wantProbeResult(t *testing.T, res Result, reason, detail string) {
	t.Helper()
	if res.OK != (reason == "") || res.Reason != reason || !strings.Contains(res.Detail, detail) {
		t.Errorf("got OK=%v reason=%q detail=%q, want reason=%q detail containing %q", res.OK, res.Reason, res.Detail, reason, detail)
	}
	if res.OK && res.Reason != "" {
		t.Errorf("OK result with reason %q", res.Reason)
	}
	if res.Duration <= 0 {
		t.Errorf("duration %v", res.Duration)
	}
}

// closedPort returns a loopback TCP port nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// stuckTCPAddr returns a loopback TCP address whose accept queue is full, so that a connect to
// it hangs: a blackhole that never leaves the host.
func stuckTCPAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skipf("socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Fill the queue (backlog 0 holds one connection) with connections nobody accepts.
	var d net.Dialer
	for range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		c, err := d.DialContext(ctx, "tcp", addr)
		cancel()
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("could not fill a listen queue on this system")
	return ""
}

// silentTCPAddr accepts TCP connections and never writes.
func silentTCPAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { // hold the connection until the peer hangs up
				io.Copy(io.Discard, c)
				c.Close()
			}()
		}
	}()
	return l.Addr().String()
}

func TestClassify(t *testing.T) {
	op := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	bg := context.Background()
	tests := []struct {
		ctx    context.Context
		err    error
		reason string
		detail string
	}{
		{bg, op(syscall.ECONNREFUSED), ReasonRefused, "connection refused"},
		{bg, op(syscall.ECONNRESET), ReasonReset, "connection reset by peer"},
		{bg, op(syscall.EPIPE), ReasonReset, "broken pipe"},
		{bg, op(syscall.EHOSTUNREACH), ReasonUnreachable, "no route to host"},
		{bg, op(syscall.ENETUNREACH), ReasonUnreachable, "network is unreachable"},
		{bg, &net.DNSError{Err: "no such host", Name: "nowhere.localhost", IsNotFound: true}, ReasonResolve, "resolving nowhere.localhost: no such host"},
		{bg, &net.DNSError{Err: "i/o timeout", Name: "slow.localhost", IsTimeout: true}, ReasonTimeout, "resolving slow.localhost timed out"},
		{bg, context.DeadlineExceeded, ReasonTimeout, "timed out after 2s"},
		{bg, &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, ReasonTimeout, "timed out after 2s"},
		{expired, op(syscall.ECONNREFUSED), ReasonTimeout, "timed out after 2s"},
		{bg, context.Canceled, ReasonError, "canceled"},
		{bg, &tls.CertificateVerificationError{Err: errors.New("x509: certificate signed by unknown authority")}, ReasonTLS, "x509: certificate signed by unknown authority"},
		{bg, tls.RecordHeaderError{Msg: "tls: first record does not look like a TLS handshake"}, ReasonTLS, "first record"},
		{bg, errors.New("remote error: tls: handshake failure"), ReasonTLS, "handshake failure"},
		{bg, io.EOF, ReasonReset, "connection closed early"},
		{bg, fmt.Errorf("read: %w", io.ErrUnexpectedEOF), ReasonReset, "connection closed early"},
		{bg, errors.New("something\nodd"), ReasonError, "something odd"},
	}
	for _, tc := range tests {
		reason, detail := classify(tc.ctx, tc.err, 2*time.Second)
		if reason != tc.reason || !strings.Contains(detail, tc.detail) {
			t.Errorf("%v: got %q %q, want %q %q", tc.err, reason, detail, tc.reason, tc.detail)
		}
	}
}

func TestProbeNeverPanics(t *testing.T) {
	res := Probe(context.Background(), &check.Compiled{Type: "http", Timeout: time.Second}) // no URL
	wantProbeResult(t, res, ReasonError, "probe panicked")
	res = Probe(context.Background(), &check.Compiled{Type: "smtp", Timeout: time.Second})
	wantProbeResult(t, res, ReasonError, `no prober for type "smtp"`)
}

// TestProbeDeadline runs every type against a loopback peer that never answers: each must give
// up by its timeout.
func TestProbeDeadline(t *testing.T) {
	silent := silentTCPAddr(t)
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	blocked := make(chan struct{})
	defer close(blocked)
	srv := startHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-blocked:
		}
	}))

	const timeout = 300 * time.Millisecond
	tests := []struct {
		name   string
		spec   check.Spec
		reason string
	}{
		{"tcp", check.Spec{Type: "tcp", Address: stuckTCPAddr(t)}, ReasonTimeout},
		{"http", check.Spec{Type: "http", URL: srv.URL}, ReasonTimeout},
		{"https", check.Spec{Type: "https", URL: "https://" + silent + "/", TLSSkipVerify: true}, ReasonTimeout},
		{"dns udp", check.Spec{Type: "dns", Server: udp.LocalAddr().String(), QName: "example.org"}, ReasonTimeout},
		{"dns tcp", check.Spec{Type: "dns", Server: silent, QName: "example.org", Transport: "tcp"}, ReasonTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Timeout = check.Duration(timeout)
			c := mustCompileCheck(t, tc.spec)
			start := time.Now()
			res := Probe(context.Background(), c)
			took := time.Since(start)
			wantProbeResult(t, res, tc.reason, "timed out after 300ms")
			if took < timeout || took > timeout+50*time.Millisecond {
				t.Errorf("took %v, want %v to %v", took, timeout, timeout+50*time.Millisecond)
			}
		})
	}
}

// TestProbeCanceled: a probe whose caller gives up returns at once.
func TestProbeCanceled(t *testing.T) {
	c := mustCompileCheck(t, check.Spec{Type: "tcp", Address: stuckTCPAddr(t), Timeout: check.Duration(2 * time.Second)})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	res := Probe(ctx, c)
	wantProbeResult(t, res, ReasonError, "canceled")
	if res.Duration > 150*time.Millisecond {
		t.Errorf("took %v after a cancel at 50ms", res.Duration)
	}
}

// TestProbesLeaveNothing runs probes of every kind, failing and not, and checks that no
// goroutine outlives them for long.
func TestProbesLeaveNothing(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go acceptAndClose(l)
	srv := startHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	dnsAddr := startDNSServer(t, "udp")
	silent := silentTCPAddr(t)

	checks := []*check.Compiled{
		mustCompileCheck(t, check.Spec{Type: "tcp", Address: l.Addr().String()}),
		mustCompileCheck(t, check.Spec{Type: "tcp", Address: closedPort(t)}),
		mustCompileCheck(t, check.Spec{Type: "http", URL: srv.URL}),
		mustCompileCheck(t, check.Spec{Type: "http", URL: "http://" + closedPort(t) + "/"}),
		mustCompileCheck(t, check.Spec{Type: "https", URL: "https://" + silent + "/", Timeout: check.Duration(100 * time.Millisecond)}),
		mustCompileCheck(t, check.Spec{Type: "http", URL: "http://" + stuckTCPAddr(t) + "/", Timeout: check.Duration(100 * time.Millisecond)}),
		mustCompileCheck(t, check.Spec{Type: "dns", Server: dnsAddr, QName: "example.org"}),
	}
	if _, err := pingMode(false); err == nil {
		checks = append(checks, mustCompileCheck(t, check.Spec{Type: "icmp", Target: "127.0.0.1"}))
	}
	for _, c := range checks { // warm up: clients, pools, ping mode
		Probe(context.Background(), c)
	}
	time.Sleep(300 * time.Millisecond) // for what the warm-up left to wind down
	goroutines, fds := runtime.NumGoroutine(), openFiles(t)
	for range 5 {
		for _, c := range checks {
			Probe(context.Background(), c)
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for (runtime.NumGoroutine() > goroutines || openFiles(t) > fds) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := openFiles(t); n > fds {
		t.Errorf("%d open files before, %d after", fds, n)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after:\n%s", goroutines, n, buf[:runtime.Stack(buf, true)])
	}
}

// openFiles counts this process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(fds)
}

func acceptAndClose(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// countTimeWaits counts TIME_WAIT sockets to or from port.
func countTimeWaits(t *testing.T, port string) int {
	t.Helper()
	n := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Skipf("cannot count TIME_WAIT sockets: %v", err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "06" { // 06 is TIME_WAIT
				continue
			}
			hex := fmt.Sprintf(":%04X", atoiOrFail(t, port))
			if strings.HasSuffix(f[1], hex) || strings.HasSuffix(f[2], hex) {
				n++
			}
		}
	}
	return n
}

func atoiOrFail(t *testing.T, s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func portOfAddr(hostport string) string {
	_, p, _ := net.SplitHostPort(hostport)
	return p
}
