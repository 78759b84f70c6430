package healthprobe

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"runtime"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/georoute/appliance/plugin/pkg/health/check"
)

// maxBody is how much of a response body a probe reads and matches.
const maxBody = 64 << 10

// userAgent is sent unless the check sets its own.
const userAgent = "CoreDNS-healthprobe"

// probeHTTP requests c.URL on a fresh connection and judges status and body. RTT is the connect
// time.
func probeHTTP(ctx context.Context, c *check.Compiled) Result {
	var t tracer
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, t.clientTrace()), c.Method, c.URL.String(), nil)
	if err != nil {
		return Result{Reason: ReasonError, Detail: oneLine(err)}
	}
	req.Header = c.Header.Clone()
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}
	req.Host = c.Host

	resp, err := clientFor(c).Do(req)
	if err != nil {
		res := failure(ctx, c, err)
		res.Phases = t.phases(time.Time{})
		res.RTT = res.Phases[PhaseConnect]
		if res.Reason == ReasonTimeout {
			res.Detail = timeoutDetail(c, &t)
		}
		return res
	}
	body, err := readBody(resp.Body)
	resp.Body.Close()
	res := Result{Phases: t.phases(time.Now()), HTTPStatus: resp.StatusCode}
	res.RTT = res.Phases[PhaseConnect]
	defer bodyPool.Put(body)

	switch {
	case err != nil:
		res.Reason, res.Detail = classify(ctx, err, c.Timeout)
		if res.Reason == ReasonTimeout {
			res.Detail = timeoutDetail(c, &t)
		}
	case !statusOK(resp.StatusCode, c.Status):
		res.Reason, res.Detail = ReasonStatus, fmt.Sprintf("status %d, want %s", resp.StatusCode, statusList(c.Status))
	case c.Body != "" && !bytes.Contains(*body, []byte(c.Body)):
		res.Reason, res.Detail = ReasonBody, fmt.Sprintf("body does not contain %q", clip(c.Body))
	case c.BodyRegex != nil && !c.BodyRegex.Match(*body):
		res.Reason, res.Detail = ReasonBody, fmt.Sprintf("body does not match /%s/", clip(c.BodyRegex.String()))
	default:
		res.OK, res.Detail = true, fmt.Sprintf("status %d", resp.StatusCode)
	}
	return res
}

func timeoutDetail(c *check.Compiled, t *tracer) string {
	if s := t.stage(); s != "" {
		return fmt.Sprintf("timed out after %s %s", c.Timeout, s)
	}
	return fmt.Sprintf("timed out after %s", c.Timeout)
}

// bodyPool holds the buffers probes read bodies into.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, maxBody); return &b }}

// readBody reads up to maxBody bytes of r into a pooled buffer; the caller returns it.
func readBody(r io.Reader) (*[]byte, error) {
	bp := bodyPool.Get().(*[]byte)
	b := (*bp)[:0]
	for len(b) < maxBody {
		n, err := r.Read(b[len(b):maxBody])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*bp = b
			return bp, err
		}
	}
	*bp = b
	return bp, nil
}

func statusOK(code int, ranges []check.StatusRange) bool {
	for _, r := range ranges {
		if r.Contains(code) {
			return true
		}
	}
	return false
}

func statusList(ranges []check.StatusRange) string {
	s := make([]string, len(ranges))
	for i, r := range ranges {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// clip shortens s for a detail line.
func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

// clients holds one http.Client per compiled check, made on the check's first probe. The key
// is weak and a cleanup deletes the entry, so a check that is dropped and collected takes its
// client with it; the client must not refer to its check.
var clients sync.Map // weak.Pointer[check.Compiled] -> *http.Client

func clientFor(c *check.Compiled) *http.Client {
	key := weak.Make(c)
	if v, ok := clients.Load(key); ok {
		return v.(*http.Client)
	}
	v, loaded := clients.LoadOrStore(key, newClient(c.Timeout, c.TLSSkipVerify, c.ServerName))
	if !loaded {
		runtime.AddCleanup(c, func(k weak.Pointer[check.Compiled]) { clients.Delete(k) }, key)
	}
	return v.(*http.Client)
}

// newClient makes the client of a check: a fresh connection every probe (nothing idles between
// probes), closed with a reset, HTTP/1.1, no proxy, no compression, no redirects. A dial the
// transport carries on after its request gave up ends within timeout, and so does its TLS
// handshake.
func newClient(timeout time.Duration, skipVerify bool, serverName string) *http.Client {
	dialer := &net.Dialer{Timeout: timeout}
	return &http.Client{
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				conn, err := dialer.DialContext(ctx, network, addr)
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // see closeNow
				}
				return conn, err
			},
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: skipVerify, ServerName: serverName}, //nolint:gosec // the user asked for it
			TLSHandshakeTimeout: timeout,
			DisableKeepAlives:   true,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
