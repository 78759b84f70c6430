package healthprobe

import (
	"context"
	"fmt"
	"net"
	"net/http/httptrace"
	"strings"
	"time"

	"github.com/georoute/appliance/plugin/pkg/health/check"
	"github.com/miekg/dns"
)

// dnsBufSize is the EDNS0 buffer size probes advertise, so that answers to match fit in UDP.
const dnsBufSize = 1232

// probeDNS asks c.Server for c.QName/c.QType over c.Transport and judges rcode and answer. RTT
// is the exchange's round trip.
func probeDNS(ctx context.Context, c *check.Compiled) Result {
	var t tracer
	var d net.Dialer
	conn, err := d.DialContext(httptrace.WithClientTrace(ctx, t.clientTrace()), c.Transport, c.Server)
	if err != nil {
		res := failure(ctx, c, err)
		res.Phases = t.phases(time.Time{})
		return res
	}
	defer closeNow(conn)
	// The exchange keeps to ctx's deadline on its own; this also ends it when ctx is canceled.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	m := new(dns.Msg)
	m.SetQuestion(c.QName, c.QType)
	m.SetEdns0(dnsBufSize, false)
	client := dns.Client{Net: c.Transport}
	r, rtt, err := client.ExchangeWithConnContext(ctx, m, &dns.Conn{Conn: conn})

	res := Result{Phases: t.phases(time.Time{})}
	if err != nil {
		res.Reason, res.Detail = classify(ctx, err, c.Timeout)
		return res
	}
	res.RTT, res.Phases[PhaseProcessing] = rtt, rtt
	switch {
	case r.Rcode != c.Rcode:
		res.Reason, res.Detail = ReasonRcode, fmt.Sprintf("rcode %s, want %s", rcodeName(r.Rcode), rcodeName(c.Rcode))
	case c.Answer != "" && !answerContains(r.Answer, c.Answer):
		res.Reason, res.Detail = ReasonAnswer, fmt.Sprintf("no answer contains %q (%s)", clip(c.Answer), answers(r))
	default:
		res.OK, res.Detail = true, fmt.Sprintf("%s, %s", rcodeName(r.Rcode), answers(r))
	}
	return res
}

func answerContains(rrs []dns.RR, s string) bool {
	for _, rr := range rrs {
		if strings.Contains(rr.String(), s) {
			return true
		}
	}
	return false
}

func answers(r *dns.Msg) string {
	s := fmt.Sprintf("%d answers", len(r.Answer))
	if len(r.Answer) == 1 {
		s = "1 answer"
	}
	if r.Truncated {
		s += ", truncated"
	}
	return s
}

func rcodeName(rcode int) string {
	if s, ok := dns.RcodeToString[rcode]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rcode)
}
