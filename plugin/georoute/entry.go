package georoute

import (
	"context"
	"net"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

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

// entry is the handler ahead of a server block's whole chain.
type entry struct {
	g    *GeoRoute
	next plugin.Handler
}

// useEntry puts the entry ahead of cfg's chain (ahead of the hmac-md5 handler too).
func useEntry(cfg *dnsserver.Config, g *GeoRoute) {
	first := func(next plugin.Handler) plugin.Handler { return &entry{g: g, next: next} }
	cfg.Plugin = append([]plugin.Plugin{first}, cfg.Plugin...)
}

// Name implements plugin.Handler.
func (e *entry) Name() string { return "georoute-entry" }

// ServeDNS implements plugin.Handler.
func (e *entry) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if !e.ours(w, r) {
		return plugin.NextOrFailure(e.Name(), e.next, ctx, w, r)
	}
	c := callPool.Get().(*call)
	c.next, c.ctx, c.w, c.r = e.next, ctx, w, r
	startWorkers.Do(func() {
		for range 2 * runtime.GOMAXPROCS(0) {
			go work()
		}
	})
	select {
	case calls <- c:
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

var (
	calls        = make(chan *call) // unbuffered: a send succeeds only when a worker is free
	callPool     = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}
	startWorkers sync.Once
)

func work() {
	for c := range calls {
		c.run()
		c.done <- struct{}{}
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
