package test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const durableToken = "d-0123456789abcdef0123"

// child is the appliance running as a separate process.
type child struct {
	cmd      *exec.Cmd
	api, dns string
	exited   chan struct{} // closed once the process is gone
	stderr   *lockedBuffer // what the process has logged
}

// lockedBuffer is a bytes.Buffer a child's stderr copier writes while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail is the last n bytes of what was written.
func (b *lockedBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

func freeUDP(tb testing.TB) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().String()
}

func freeAddr(t *testing.T, network string) string {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startChild runs the appliance with its store in dir and waits until its API answers.
func startChild(t *testing.T, dir, apiAddr, dnsAddr string) *child {
	return startChildTB(t, dir, apiAddr, dnsAddr)
}

func startChildTB(t testing.TB, dir, apiAddr, dnsAddr string) *child {
	t.Helper()
	return onFreePorts(t, apiAddr, dnsAddr, func(apiAddr, dnsAddr string) (*child, error) {
		return tryStartChild(t, dir, apiAddr, dnsAddr)
	})
}

// onFreePorts starts the appliance with start on apiAddr and dnsAddr, and on other ports found
// free while start fails because a port is taken: test processes run side by side, and a port
// found free may be taken before the child binds it (the DNS port is found free for UDP, and TCP
// binds it too).
func onFreePorts(t testing.TB, apiAddr, dnsAddr string, start func(apiAddr, dnsAddr string) (*child, error)) *child {
	t.Helper()
	for attempt := 1; ; attempt++ {
		c, err := start(apiAddr, dnsAddr)
		if err == nil {
			return c
		}
		if attempt < 5 && (strings.Contains(err.Error(), "address already in use") || strings.Contains(err.Error(), "is taken")) {
			apiAddr, dnsAddr = freeAddrTB(t), freeUDP(t)
			continue
		}
		t.Fatal(err)
	}
}

// tryStartChild starts the appliance and waits until its API answers, or it exits.
func tryStartChild(t testing.TB, dir, apiAddr, dnsAddr string) (*child, error) {
	_, port, _ := net.SplitHostPort(dnsAddr)
	corefile := fmt.Sprintf(`.:%s {
		bind 127.0.0.1
		georoute {
			zones ../zones
			config ../georoute.yaml
			store %s
			api %s
			api_token env:GEOROUTE_API_TOKEN write
			reload 0
		}
	}`, port, filepath.Join(dir, "georoute.db"), apiAddr)
	return spawnChild(t, corefile, apiAddr, dnsAddr)
}

// spawnChild runs the appliance from corefile, which serves the API on apiAddr and DNS on
// dnsAddr, and waits until its API answers, or it exits.
func spawnChild(t testing.TB, corefile, apiAddr, dnsAddr string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+corefile, "GEOROUTE_API_TOKEN="+durableToken)
	stderr := new(lockedBuffer)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	c := &child{cmd: cmd, api: "http://" + apiAddr, dns: dnsAddr, exited: exited, stderr: stderr}
	t.Cleanup(func() {
		how := "exited"
		select {
		case <-exited:
		default:
			how = "killed at the end of the test"
			cmd.Process.Kill()
			<-exited
		}
		// What a child logged may say why a test failed (a child that died on its own, above all).
		if t.Failed() || os.Getenv("GEOROUTE_CHILD_LOG") != "" {
			t.Logf("the appliance (pid %d) %s: %v; it logged:\n%s", cmd.Process.Pid, how, cmd.ProcessState, stderr.tail(8<<10))
		}
	})
	for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		// The API listens from an OnStartup function, before CoreDNS binds the DNS port: a child
		// whose DNS port turns out taken answers the API and then exits, so it is up once both
		// answer.
		if st, err := c.request("GET", "/v1/zones", nil); err == nil && st == 200 && dnsAnswers(dnsAddr) {
			return c, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("the appliance did not start: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return nil, fmt.Errorf("the appliance did not answer within 120 s: %s", stderr.String())
		}
	}
}

var client = &http.Client{Timeout: 5 * time.Second}

// dnsAnswers tells whether a DNS server answers on addr over both UDP and TCP.
func dnsAnswers(addr string) bool {
	m := new(dns.Msg).SetQuestion("example.net.", dns.TypeSOA)
	for _, network := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: network, Timeout: time.Second}
		if _, _, err := c.Exchange(m, addr); err != nil {
			return false
		}
	}
	return true
}

func (c *child) request(method, path string, body []byte) (int, error) {
	req, _ := http.NewRequest(method, c.api+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+durableToken)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestDurability starts the appliance as its own process, has 16 writers put names through the
// API, kills it with SIGKILL mid-stream, starts it again on the same store and checks that every
// write that got a 2xx is served, by the API and in DNS.
func TestDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the appliance as a process")
	}
	dir := t.TempDir()
	apiAddr, dnsAddr := freeAddr(t, "tcp"), freeAddr(t, "udp")
	c := startChild(t, dir, apiAddr, dnsAddr)

	var mu sync.Mutex
	acked := map[string]string{} // name -> edge
	var sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	edges := []string{"fra1", "iad1", "sin1"}
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d.t.example.net.", w, i)
				edge := edges[i%len(edges)]
				sent.Add(1)
				st, err := c.request("PUT", "/v1/zones/example.net/names/"+name, []byte(`{"edge":"`+edge+`"}`))
				if err != nil {
					return // the server is gone
				}
				if st == 201 {
					mu.Lock()
					acked[name] = edge
					mu.Unlock()
				}
			}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 2000 || time.Now().After(deadline) {
			break
		}
	}
	c.cmd.Process.Kill() // SIGKILL, mid-stream
	<-c.exited
	close(stop)
	wg.Wait()
	t.Logf("%d writes sent, %d acknowledged before SIGKILL", sent.Load(), len(acked))
	if len(acked) < 100 {
		t.Fatalf("only %d writes acknowledged: too few to test anything", len(acked))
	}

	c = startChild(t, dir, apiAddr, dnsAddr)
	addrOf := map[string]string{"fra1": "192.0.2.10", "iad1": "198.51.100.10", "sin1": "203.0.113.20"}
	dc := &dns.Client{Timeout: time.Second}
	lost := 0
	for name, edge := range acked {
		st, err := c.request("GET", "/v1/zones/example.net/names/"+name, nil)
		if err != nil || st != 200 {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged %s is gone after the crash (GET %d %v)", name, st, err)
			}
			continue
		}
		r, _, err := dc.Exchange(new(dns.Msg).SetQuestion(name, dns.TypeA), c.dns)
		if err != nil || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != addrOf[edge] {
			t.Errorf("%s: DNS answers %v (%v), want %s", name, r, err, addrOf[edge])
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes lost", lost, len(acked))
	}
	// The store is whole: the listing walks every name without an error.
	if st, err := c.request("GET", "/v1/zones/example.net/names?limit=1000", nil); err != nil || st != 200 {
		t.Errorf("listing after the crash: %d %v", st, err)
	}
}
