package healthprobe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/georoute/appliance/plugin/pkg/health/check"
)

// Phase of a probe, for the probe duration metric.
type Phase int

// The phases of a probe, in the order they happen.
const (
	PhaseResolve Phase = iota
	PhaseConnect
	PhaseTLS
	PhaseProcessing
	PhaseTransfer
	NumPhases
)

// PhaseNames are the phases' metric labels.
var PhaseNames = [NumPhases]string{"resolve", "connect", "tls", "processing", "transfer"}

// Result is what one probe found.
type Result struct {
	OK     bool
	Reason string // "" when OK; else one of the reason constants below
	Detail string // one line for a human: "status 503, want 200-399", "connection refused", ...
	// HTTPStatus is the status code an http(s) probe got (0: no response).
	HTTPStatus int
	RTT        time.Duration // the transport round trip this probe measured; 0 when none
	Phases     [NumPhases]time.Duration
	Duration   time.Duration // the whole probe
}

// Reasons a probe fails.
const (
	ReasonTimeout     = "timeout"
	ReasonRefused     = "refused"
	ReasonUnreachable = "unreachable"
	ReasonReset       = "reset"
	ReasonTLS         = "tls"
	ReasonStatus      = "status"
	ReasonBody        = "body"
	ReasonRcode       = "rcode"
	ReasonAnswer      = "answer"
	ReasonLoss        = "loss"
	ReasonResolve     = "resolve"
	ReasonError       = "error"
)

// A prober runs one probe of c and returns by ctx's deadline (plus a few milliseconds). What it
// leaves running, a pinger winding down or a dial net/http carries on, ends within c.Timeout.
type prober func(ctx context.Context, c *check.Compiled) Result

var probers = map[string]prober{
	"icmp":  probeICMP,
	"tcp":   probeTCP,
	"http":  probeHTTP,
	"https": probeHTTP,
	"dns":   probeDNS,
}

// Probe runs c once under a deadline of c.Timeout and times it. It never panics and never
// blocks past the deadline (plus a few ms).
func Probe(ctx context.Context, c *check.Compiled) (res Result) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			log.Errorf("%s probe panicked: %v", c.Type, r)
			res = Result{Reason: ReasonError, Detail: fmt.Sprintf("probe panicked: %v", r)}
		}
		res.Duration = time.Since(start)
	}()
	p := probers[c.Type]
	if p == nil {
		return Result{Reason: ReasonError, Detail: fmt.Sprintf("no prober for type %q", c.Type)}
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	return p(ctx, c)
}

// failure is a failed Result for err, which ended a probe of c under ctx.
func failure(ctx context.Context, c *check.Compiled, err error) Result {
	reason, detail := classify(ctx, err, c.Timeout)
	return Result{Reason: reason, Detail: detail}
}

// classify maps a network error that ended a probe under ctx, which had timeout, to a reason and
// a one-line detail.
func classify(ctx context.Context, err error, timeout time.Duration) (reason, detail string) {
	var (
		ue     *url.Error
		dnsErr *net.DNSError
		errno  syscall.Errno
	)
	if errors.As(err, &ue) {
		err = ue.Err // the request is known; keep what went wrong
	}
	switch {
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout {
			return ReasonTimeout, "resolving " + dnsErr.Name + " timed out"
		}
		return ReasonResolve, "resolving " + dnsErr.Name + ": " + dnsErr.Err
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err), errors.Is(ctx.Err(), context.DeadlineExceeded):
		return ReasonTimeout, "timed out after " + timeout.String()
	case errors.Is(err, context.Canceled):
		return ReasonError, "canceled"
	case isTLS(err):
		return ReasonTLS, oneLine(err)
	case errors.As(err, &errno):
		switch errno {
		case syscall.ECONNREFUSED:
			return ReasonRefused, "connection refused"
		case syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE:
			return ReasonReset, errno.Error()
		case syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EHOSTDOWN, syscall.ENETDOWN, syscall.EADDRNOTAVAIL:
			return ReasonUnreachable, errno.Error()
		}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ReasonReset, "connection closed early"
	}
	return ReasonError, oneLine(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isTLS(err error) bool {
	var (
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
		alert   tls.AlertError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &alert) ||
		errors.As(err, &unknown) || errors.As(err, &host) || errors.As(err, &invalid) ||
		strings.Contains(err.Error(), "tls: ") || // crypto/tls returns most handshake errors unwrapped
		strings.Contains(err.Error(), "HTTP response to HTTPS client") // net/http, for a peer without TLS
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// tracer times a probe's phases from httptrace hooks. net.Dialer calls the DNS and connect
// hooks too, so the tcp and dns probers use it as well. A dial may outlive its probe, so the
// hooks lock.
type tracer struct {
	mu                  sync.Mutex
	dnsStart, dnsDone   time.Time
	connStarts          []connStart // happy eyeballs may race several
	connStart, connDone time.Time   // of the connection that succeeded
	tlsStart, tlsDone   time.Time
	wrote, firstByte    time.Time
}

type connStart struct {
	addr string
	at   time.Time
}

func (t *tracer) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { t.mark(&t.dnsStart) },
		DNSDone:  func(httptrace.DNSDoneInfo) { t.mark(&t.dnsDone) },
		ConnectStart: func(_, addr string) {
			t.mu.Lock()
			t.connStarts = append(t.connStarts, connStart{addr, time.Now()})
			t.mu.Unlock()
		},
		ConnectDone: func(_, addr string, err error) {
			now := time.Now()
			t.mu.Lock()
			defer t.mu.Unlock()
			if err != nil || !t.connDone.IsZero() {
				return
			}
			for _, s := range t.connStarts {
				if s.addr == addr {
					t.connStart = s.at
				}
			}
			t.connDone = now
		},
		TLSHandshakeStart:    func() { t.mark(&t.tlsStart) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { t.mark(&t.tlsDone) },
		WroteRequest:         func(httptrace.WroteRequestInfo) { t.mark(&t.wrote) },
		GotFirstResponseByte: func() { t.mark(&t.firstByte) },
	}
}

func (t *tracer) mark(at *time.Time) {
	now := time.Now()
	t.mu.Lock()
	*at = now
	t.mu.Unlock()
}

// phases returns the phases that completed, the transfer phase ending at end (zero: none).
func (t *tracer) phases(end time.Time) (p [NumPhases]time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	span := func(from, to time.Time) time.Duration {
		if from.IsZero() || to.IsZero() || to.Before(from) {
			return 0
		}
		return to.Sub(from)
	}
	p[PhaseResolve] = span(t.dnsStart, t.dnsDone)
	p[PhaseConnect] = span(t.connStart, t.connDone)
	p[PhaseTLS] = span(t.tlsStart, t.tlsDone)
	p[PhaseProcessing] = span(t.wrote, t.firstByte)
	p[PhaseTransfer] = span(t.firstByte, end)
	return p
}

// stage names what a probe was doing when it stopped, for a timeout's detail.
func (t *tracer) stage() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case !t.firstByte.IsZero():
		return "reading the body"
	case !t.wrote.IsZero():
		return "waiting for the response"
	case !t.tlsStart.IsZero():
		return "in the TLS handshake"
	case len(t.connStarts) > 0:
		return "connecting"
	case !t.dnsStart.IsZero():
		return "resolving"
	}
	return ""
}

// closeNow closes a TCP connection with a reset rather than a FIN, so that no TIME_WAIT socket
// stays behind for each probe.
func closeNow(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
