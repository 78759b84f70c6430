package healthprobe

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/georoute/appliance/plugin/pkg/health/check"
)

func startHTTPServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// probeTestMux serves what the http tests probe.
func probeTestMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "all systems go, build 42\n") })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/down", http.StatusFound) })
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		// Echo what the probe sent, one "name: value" a line.
		io.WriteString(w, "method: "+r.Method+"\nhost: "+r.Host+"\nx-probe: "+r.Header.Get("X-Probe")+"\nuser-agent: "+r.UserAgent()+"\n")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "head ")
		io.WriteString(w, strings.Repeat("x", maxBody))
		io.WriteString(w, " tail")
	})
	mux.HandleFunc("/slowbody", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "start ")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	return mux
}

func TestProbeHTTP(t *testing.T) {
	srv := startHTTPServer(t, probeTestMux())
	tests := []struct {
		name   string
		spec   check.Spec
		reason string
		detail string
	}{
		{"ok", check.Spec{URL: "/ok"}, "", "status 200"},
		{"status", check.Spec{URL: "/down"}, ReasonStatus, "status 503, want 200-399"},
		{"status wanted", check.Spec{URL: "/down", ExpectStatus: []string{"200", "500-503"}}, "", "status 503"},
		{"status list", check.Spec{URL: "/ok", ExpectStatus: []string{"204", "301-302"}}, ReasonStatus, "status 200, want 204, 301-302"},
		{"not found", check.Spec{URL: "/nothing"}, ReasonStatus, "status 404, want 200-399"},
		{"redirect not followed", check.Spec{URL: "/moved"}, "", "status 302"},
		{"redirect judged", check.Spec{URL: "/moved", ExpectStatus: []string{"200"}}, ReasonStatus, "status 302, want 200"},
		{"body", check.Spec{URL: "/ok", ExpectBody: "systems go"}, "", "status 200"},
		{"body missing", check.Spec{URL: "/ok", ExpectBody: "systems down"}, ReasonBody, `body does not contain "systems down"`},
		{"regex", check.Spec{URL: "/ok", ExpectBodyRegex: `build \d+$`}, ReasonBody, `body does not match /build \d+$/`},
		{"regex multiline", check.Spec{URL: "/ok", ExpectBodyRegex: `(?m)build \d+$`}, "", "status 200"},
		{"body and regex", check.Spec{URL: "/ok", ExpectBody: "all", ExpectBodyRegex: `build \d+`}, "", "status 200"},
		{"body but not regex", check.Spec{URL: "/ok", ExpectBody: "all", ExpectBodyRegex: `build [a-z]+`}, ReasonBody, "body does not match /build [a-z]+/"},
		{"regex but not body", check.Spec{URL: "/ok", ExpectBody: "none", ExpectBodyRegex: `build \d+`}, ReasonBody, `body does not contain "none"`},
		{"headers", check.Spec{URL: "/echo", Method: "post", Headers: map[string]string{"host": "healthz.localhost:8080", "x-probe": "yes"},
			ExpectBody: "method: POST\nhost: healthz.localhost:8080\nx-probe: yes\nuser-agent: CoreDNS-healthprobe\n"}, "", "status 200"},
		{"user agent", check.Spec{URL: "/echo", Headers: map[string]string{"User-Agent": "probe/1"}, ExpectBody: "user-agent: probe/1\n"}, "", "status 200"},
		{"head", check.Spec{URL: "/ok", Method: "HEAD", ExpectBody: "all"}, ReasonBody, "body does not contain"},
		{"only 64KiB read", check.Spec{URL: "/big", ExpectBody: "tail"}, ReasonBody, `body does not contain "tail"`},
		{"64KiB read", check.Spec{URL: "/big", ExpectBody: "head"}, "", "status 200"},
		{"refused", check.Spec{URL: "http://" + closedPort(t) + "/"}, ReasonRefused, "connection refused"},
		{"timeout in body", check.Spec{URL: "/slowbody", Timeout: check.Duration(200 * time.Millisecond)}, ReasonTimeout, "timed out after 200ms reading the body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Type = "http"
			if strings.HasPrefix(tc.spec.URL, "/") {
				tc.spec.URL = srv.URL + tc.spec.URL
			}
			res := Probe(context.Background(), mustCompileCheck(t, tc.spec))
			wantProbeResult(t, res, tc.reason, tc.detail)
			if tc.reason != ReasonRefused {
				if res.RTT <= 0 || res.RTT != res.Phases[PhaseConnect] {
					t.Errorf("RTT %v, connect phase %v", res.RTT, res.Phases[PhaseConnect])
				}
				if res.Phases[PhaseProcessing] <= 0 || res.Phases[PhaseResolve] != 0 || res.Phases[PhaseTLS] != 0 {
					t.Errorf("phases %v", res.Phases)
				}
			}
		})
	}
}

func TestProbeHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := startHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	}))
	const timeout = 250 * time.Millisecond
	c := mustCompileCheck(t, check.Spec{Type: "http", URL: srv.URL, Timeout: check.Duration(timeout)})
	start := time.Now()
	res := Probe(context.Background(), c)
	took := time.Since(start)
	wantProbeResult(t, res, ReasonTimeout, "timed out after 250ms waiting for the response")
	if took > timeout+50*time.Millisecond {
		t.Errorf("took %v, want at most %v", took, timeout+50*time.Millisecond)
	}
	if res.Phases[PhaseConnect] <= 0 || res.Phases[PhaseProcessing] != 0 {
		t.Errorf("phases %v: want connect only", res.Phases)
	}
}

func TestProbeHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(probeTestMux())
	defer srv.Close()
	plain := startHTTPServer(t, probeTestMux())
	tests := []struct {
		name   string
		spec   check.Spec
		reason string
		detail string
	}{
		{"verified by default", check.Spec{URL: srv.URL + "/ok"}, ReasonTLS, "certificate signed by unknown authority"},
		{"skip verify", check.Spec{URL: srv.URL + "/ok", TLSSkipVerify: true, ExpectBody: "go"}, "", "status 200"},
		{"skip verify with SNI", check.Spec{URL: srv.URL + "/down", TLSSkipVerify: true, ServerName: "localhost"}, ReasonStatus, "status 503"},
		{"not tls", check.Spec{URL: strings.Replace(plain.URL, "http:", "https:", 1) + "/ok", TLSSkipVerify: true}, ReasonTLS, "server gave HTTP response to HTTPS client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Type = "https"
			res := Probe(context.Background(), mustCompileCheck(t, tc.spec))
			wantProbeResult(t, res, tc.reason, tc.detail)
			if res.Phases[PhaseConnect] <= 0 || res.RTT != res.Phases[PhaseConnect] {
				t.Errorf("RTT %v phases %v", res.RTT, res.Phases)
			}
			if res.OK && (res.Phases[PhaseTLS] <= 0 || res.Phases[PhaseProcessing] <= 0) {
				t.Errorf("phases %v: want tls and processing", res.Phases)
			}
		})
	}
}

// TestHTTPSServerName: the handshake carries ServerName as SNI; an IP address is never sent.
func TestHTTPSServerName(t *testing.T) {
	var (
		mu  sync.Mutex
		sni []string
	)
	srv := httptest.NewUnstartedServer(probeTestMux())
	srv.TLS = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		mu.Lock()
		sni = append(sni, h.ServerName)
		mu.Unlock()
		return nil, nil
	}}
	srv.StartTLS()
	defer srv.Close()
	for _, s := range []check.Spec{
		{URL: srv.URL + "/ok"},
		{URL: srv.URL + "/ok", ServerName: "localhost"},
		{URL: srv.URL + "/ok", Headers: map[string]string{"Host": "healthz.localhost:8443"}},
	} {
		s.Type, s.TLSSkipVerify = "https", true
		if res := Probe(context.Background(), mustCompileCheck(t, s)); !res.OK {
			t.Fatalf("%+v: %+v", s, res)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"", "localhost", "healthz.localhost"}; !slices.Equal(sni, want) {
		t.Errorf("SNI %q, want %q", sni, want)
	}
}

// TestClientCache: one client per compiled check, made once and gone when the check is.
func TestClientCache(t *testing.T) {
	a := mustCompileCheck(t, check.Spec{Type: "http", URL: "http://127.0.0.1:1/"})
	b := mustCompileCheck(t, check.Spec{Type: "http", URL: "http://127.0.0.1:1/"})
	if first, again := clientFor(a), clientFor(a); first != again {
		t.Errorf("two clients for one check")
	}
	if clientFor(a) == clientFor(b) {
		t.Errorf("two checks share a client")
	}
	key := weak.Make(b)
	runtime.KeepAlive(b)
	b = nil
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		if _, ok := clients.Load(key); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client of a collected check is still cached")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := clients.Load(weak.Make(a)); !ok {
		t.Errorf("client of a live check was dropped")
	}
	runtime.KeepAlive(a)
}

func BenchmarkProbeHTTP(b *testing.B) {
	srv := startHTTPServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	c := mustCompileCheck(b, check.Spec{Type: "http", URL: srv.URL + "/health", ExpectBody: "ok"})
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
