package georoute

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"
)

// chainAhead is a plugin between the entry and georoute: it holds queries for slow.example.net
// until release is closed and panics on boom.example.net.
type chainAhead struct {
	next    plugin.Handler
	release chan struct{}
	held    sync.WaitGroup
}

func (c *chainAhead) Name() string { return "ahead" }

func (c *chainAhead) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	switch r.Question[0].Name {
	case "slow.example.net.":
		c.held.Done()
		<-c.release
	case "boom.example.net.":
		panic("boom")
	}
	return c.next.ServeDNS(ctx, w, r)
}

func askEntry(e *entry, ip string, m *dns.Msg, tcp bool) (*dns.Msg, int, error) {
	rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: ip, TCP: tcp})
	rcode, err := e.ServeDNS(context.Background(), rec, m)
	return rec.Msg, rcode, err
}

// TestEntryNeverWaitsForAWorker: with every worker (and more) held by queries that wait, a
// routed query over UDP is still answered at once, on its own goroutine.
func TestEntryNeverWaitsForAWorker(t *testing.T) {
	g := newTestRoute(t, testConfig(t))
	ahead := &chainAhead{next: g, release: make(chan struct{})}
	e := newEntry(g, ahead, 2)
	defer e.close()
	held := e.workers + 2
	ahead.held.Add(held)
	var done sync.WaitGroup
	for range held {
		done.Go(func() { askEntry(e, london, new(dns.Msg).SetQuestion("slow.example.net.", dns.TypeA), false) })
	}
	defer func() { close(ahead.release); done.Wait() }()
	allHeld := make(chan struct{})
	go func() { ahead.held.Wait(); close(allHeld) }()
	select { // every worker holds one; the rest are held on their own goroutines
	case <-allHeld:
	case <-time.After(10 * time.Second):
		t.Fatal("the queries beyond the workers waited for one")
	}
	answered := make(chan *dns.Msg, 1)
	go func() {
		m, _, _ := askEntry(e, london, new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA), false)
		answered <- m
	}()
	select {
	case m := <-answered:
		if m == nil || len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.10" {
			t.Errorf("www from London while the workers are held: %v, want fra1's 192.0.2.10", m)
		}
	case <-time.After(10 * time.Second):
		t.Error("a query waited for a worker")
	}
}

// TestEntryPanic: a plugin behind the entry that panics on a worker panics on the query's own
// goroutine, where CoreDNS's server recovers it; the workers go on answering.
func TestEntryPanic(t *testing.T) {
	g := newTestRoute(t, testConfig(t))
	e := newEntry(g, &chainAhead{next: g}, 2)
	defer e.close()
	for range 3 * e.workers { // more than there are workers: none of them died
		func() {
			defer func() {
				if rec := recover(); rec != "boom" {
					t.Errorf("recovered %v, want boom", rec)
				}
			}()
			askEntry(e, london, new(dns.Msg).SetQuestion("boom.example.net.", dns.TypeA), false)
		}()
	}
	for _, tcp := range []bool{false, true} {
		m, rcode, err := askEntry(e, london, new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA), tcp)
		if err != nil || rcode != dns.RcodeSuccess || m == nil || len(m.Answer) != 1 {
			t.Errorf("www after the panics (tcp %v): %v %s %v", tcp, err, dns.RcodeToString[rcode], m)
		}
	}
}

// TestEntryClosed: once its server block shuts down (a Corefile reload), an entry's workers stop
// and the old server's last queries are still answered, on their own goroutines.
func TestEntryClosed(t *testing.T) {
	g := newTestRoute(t, testConfig(t))
	e := newEntry(g, g, 2)
	www := new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA)
	if m, _, _ := askEntry(e, london, www, false); m == nil || len(m.Answer) != 1 {
		t.Fatalf("www: %v", m)
	}
	e.close()
	e.close() // twice: as the shutdowns of two servers of one block may
	for range 10 {
		if m, _, _ := askEntry(e, london, www, false); m == nil || len(m.Answer) != 1 {
			t.Fatalf("www after close: %v", m)
		}
	}
}
