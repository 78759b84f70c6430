package georoute

import (
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}

// TestPanicAnswersServfail: a panic while answering (here, a state without its table) answers
// SERVFAIL and is counted; the workers go on answering.
func TestPanicAnswersServfail(t *testing.T) {
	g := newTestRoute(t, testConfig(t))
	good := g.state.Load()
	broken := *good
	broken.table = nil
	g.state.Store(&broken)
	before := counterValue(panicsTotal)
	for i := 0; i < 10; i++ { // more queries than workers: none of them died
		if _, rcode := ask(t, g, "81.2.69.142", new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA)); rcode != dns.RcodeServerFailure {
			t.Fatalf("rcode %s, want SERVFAIL", dns.RcodeToString[rcode])
		}
	}
	if got := counterValue(panicsTotal) - before; got != 10 {
		t.Errorf("%v panics counted, want 10", got)
	}
	g.state.Store(good)
	if m, rcode := ask(t, g, "81.2.69.142", new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA)); rcode != dns.RcodeSuccess || len(m.Answer) == 0 {
		t.Errorf("after the panics: %s %v", dns.RcodeToString[rcode], m)
	}
}
