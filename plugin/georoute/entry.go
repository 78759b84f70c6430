package georoute

import (
	"context"
	"net"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/miekg/dns"
)

// miekg/dns serves each UDP query on a goroutine of its own, which starts with a small stack
// (Go sizes new stacks by the average in use at the last GC, and the idle goroutines of a whole
// appliance keep that small). A query through the chain of a deployed server block (shed,
// errors, prometheus, tsig, transfer, georoute, then CoreDNS's writers) needs more: the stack
// is grown by copying it, adjusting every frame above, once or twice per query, which was a
// fifth of the server's CPU time in corefile.example's configuration.
//
// So the first handler of a server block with georoute is entry: for a UDP query to one of our
// zones it runs the whole chain after it on one of a few long-lived workers, whose stacks stay
// grown, and waits for it. No worker is ever waited for: when none is free (all are busy with
// other queries), the query's own goroutine runs the chain, its stack grown once beforehand to
// what the chain needs, while the stack is still shallow and cheap to copy. TCP queries (a
// connection's goroutine serves all its queries and keeps its stack), other opcodes (UPDATE
// waits for the store) and names outside our zones (the chain may forward them) run where they
// came. BenchmarkChain (cmd/coredns-custom) measures each way.

// entry is the handler ahead of a server block's whole chain. Each server of the block (one a
// socket: multisocket) builds its chain, so each socket has an entry and workers of its own: on
// a machine of many cores with a socket a core, no channel is shared by all of them.
type entry struct {
	g       *GeoRoute
	next    plugin.Handler
	workers int        // how many, started with the first query
	calls   chan *call // unbuffered: a send succeeds only when a worker is free
	start   sync.Once
	stop    chan struct{}
	stopped sync.Once
}

func newEntry(g *GeoRoute, next plugin.Handler, workers int) *entry {
	return &entry{g: g, next: next, workers: workers, calls: make(chan *call), stop: make(chan struct{})}
}

// useEntry puts an entry ahead of cfg's chain (ahead of the hmac-md5 handler too) and stops
// the workers of every entry made for it when the server block shuts down (a Corefile reload
// included: the old servers' last queries then run on their own goroutines).
func useEntry(c *caddy.Controller, g *GeoRoute) {
	cfg := dnsserver.GetConfig(c)
	var mu sync.Mutex
	var made []*entry
	first := func(next plugin.Handler) plugin.Handler {
		// 2 workers a CPU Go uses, shared by the block's sockets; at least 2 a socket.
		e := newEntry(g, next, max(2, 2*runtime.GOMAXPROCS(0)/max(1, cfg.NumSockets)))
		mu.Lock()
		made = append(made, e)
		mu.Unlock()
		return e
	}
	cfg.Plugin = append([]plugin.Plugin{first}, cfg.Plugin...)
	c.OnShutdown(func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range made {
			e.close()
		}
		made = nil
		return nil
	})
}

// close stops e's workers once they finish what they are serving.
func (e *entry) close() { e.stopped.Do(func() { close(e.stop) }) }

// Name implements plugin.Handler.
func (e *entry) Name() string { return "georoute-entry" }

// ServeDNS implements plugin.Handler.
func (e *entry) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if !e.ours(w, r) {
		return plugin.NextOrFailure(e.Name(), e.next, ctx, w, r)
	}
	c := callPool.Get().(*call)
	c.next, c.ctx, c.w, c.r = e.next, ctx, w, r
	e.start.Do(func() {
		for range e.workers {
			go e.work()
		}
	})
	select {
	case e.calls <- c:
		<-c.done
	default:
		growStack(int(r.Id))
		c.run()
	}
	rcode, err, rec, stack := c.rcode, c.err, c.panic, c.stack
	*c = call{done: c.done}
	callPool.Put(c)
	if rec != nil {
		// Raised again on the query's goroutine, where CoreDNS's server recovers it (SERVFAIL,
		// counted) as it would have without the worker; the stack is the worker's.
		log.Errorf("panic serving %s %s: %v\n%s", r.Question[0].Name, dns.TypeToString[r.Question[0].Qtype], rec, stack)
		panic(rec)
	}
	return rcode, err
}

// ours reports whether r is a UDP query to one of our zones (for any type but a transfer).
func (e *entry) ours(w dns.ResponseWriter, r *dns.Msg) bool {
	if r.Opcode != dns.OpcodeQuery || len(r.Question) != 1 {
		return false
	}
	if t := r.Question[0].Qtype; t == dns.TypeAXFR || t == dns.TypeIXFR {
		return false
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); !udp {
		return false
	}
	st := e.g.state.Load()
	return st != nil && st.zoneOf(strings.ToLower(r.Question[0].Name)) != ""
}

// call is one query the entry hands to a worker.
type call struct {
	next  plugin.Handler
	ctx   context.Context
	w     dns.ResponseWriter
	r     *dns.Msg
	rcode int
	err   error
	panic any    // what the chain panicked with, if it did
	stack []byte // where
	done  chan struct{}
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

func (e *entry) work() {
	for {
		select {
		case c := <-e.calls:
			c.run()
			c.done <- struct{}{}
		case <-e.stop:
			return
		}
	}
}

// run serves c through the chain and keeps what it returned, or the panic that stopped it.
func (c *call) run() {
	defer func() {
		if rec := recover(); rec != nil {
			c.panic, c.stack = rec, debug.Stack()
		}
	}()
	c.rcode, c.err = c.next.ServeDNS(c.ctx, c.w, c.r)
}

// stackPad is the frame growStack asks for: a goroutine's stack grows to the next power of two
// that holds what is in use plus the frame, so 16 KiB, the largest size Go keeps per-CPU caches
// of, which the deployed chain does not outgrow.
const stackPad = 8 << 10

// growStack grows the calling goroutine's stack in one step to hold stackPad more bytes (the
// frame of a call that is not inlined and uses its array).
//
//go:noinline
func growStack(i int) byte {
	var pad [stackPad]byte
	pad[i%stackPad] = byte(i)
	return pad[(i/2)%stackPad]
}
