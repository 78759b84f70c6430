package healthprobe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/georoute/appliance/plugin/pkg/health/check"
	probing "github.com/prometheus-community/pro-bing"
	"golang.org/x/net/icmp"
)

// An icmp probe sends icmpCount echo requests a sixth of its timeout apart (the last has two
// thirds of it to come back), but at most icmpMaxInterval apart, so that a healthy probe is short
// and sockets do not pile up.
const (
	icmpCount       = 3
	icmpMaxInterval = 250 * time.Millisecond
)

// pingSocket is which kind of socket pings an address family: found on first use, then kept.
type pingSocket struct {
	once       sync.Once
	privileged bool  // raw ip4:icmp / ip6:ipv6-icmp rather than a udp4 / udp6 ping socket
	err        error // neither kind may be opened
}

var pingSockets [2]pingSocket // IPv4, IPv6

// pingMode says whether pings of an address family need a raw socket. It tries an unprivileged
// ping socket first (allowed when net.ipv4.ping_group_range holds our group), then a raw one.
func pingMode(v6 bool) (privileged bool, err error) {
	ps, unprivileged, raw := &pingSockets[0], "udp4", "ip4:icmp"
	if v6 {
		ps, unprivileged, raw = &pingSockets[1], "udp6", "ip6:ipv6-icmp"
	}
	ps.once.Do(func() {
		c, errU := icmp.ListenPacket(unprivileged, "")
		if errU == nil {
			c.Close()
			log.Infof("pinging over %s ping sockets", unprivileged)
			return
		}
		c, errR := icmp.ListenPacket(raw, "")
		if errR == nil {
			c.Close()
			ps.privileged = true
			log.Infof("pinging over %s raw sockets (%s: %v)", raw, unprivileged, errU)
			return
		}
		ps.err = fmt.Errorf("cannot open a ping socket (%s: %v; %s: %v)", unprivileged, errU, raw, errR)
		log.Warningf("icmp checks will fail: %v", ps.err)
	})
	return ps.privileged, ps.err
}

// probeICMP pings c.Target and is OK when any reply comes back. RTT is the mean of the replies.
func probeICMP(ctx context.Context, c *check.Compiled) Result {
	privileged, err := pingMode(c.Target.Is6())
	if err != nil {
		return Result{Reason: ReasonError, Detail: err.Error()}
	}
	return ping(ctx, c, privileged)
}

// ping runs one pinger until every reply is in or ctx ends. It returns then: the pinger's
// goroutines notice within ~100ms (its read deadline) and end, closing its socket.
func ping(ctx context.Context, c *check.Compiled, privileged bool) Result {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(c.Timeout)
	}
	budget := time.Until(deadline)
	if budget <= 0 {
		return Result{Reason: ReasonTimeout, Detail: "no time left to ping"}
	}
	p := probing.New("")
	p.SetIPAddr(&net.IPAddr{IP: c.Target.AsSlice(), Zone: c.Target.Zone()})
	p.SetPrivileged(privileged)
	p.SetLogger(probing.NoopLogger{})
	p.Count = icmpCount
	p.Interval = max(min(budget/(2*icmpCount), icmpMaxInterval), time.Millisecond)
	p.Timeout = budget
	p.RecordRtts, p.RecordTTLs = false, false

	var (
		mu       sync.Mutex
		netErr   error // the first send or receive error
		received int
		allIn    = make(chan struct{})
	)
	noteErr := func(err error) {
		if isTimeout(err) {
			return // the pinger's own read deadline
		}
		mu.Lock()
		if netErr == nil {
			netErr = err
		}
		mu.Unlock()
	}
	p.OnSendError = func(_ *probing.Packet, err error) { noteErr(err) }
	p.OnRecvError = noteErr
	p.OnRecv = func(*probing.Packet) { // called by one goroutine, the pinger's loop
		if received++; received == icmpCount {
			close(allIn)
		}
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- p.RunWithContext(runCtx) }()
	var runErr error
	select {
	case runErr = <-done:
	case <-allIn:
	case <-ctx.Done():
	}
	stop()

	st := p.Statistics()
	detail := fmt.Sprintf("%d sent, %d received, %.0f%% loss", st.PacketsSent, st.PacketsRecv, st.PacketLoss)
	if st.PacketsRecv > 0 {
		return Result{OK: true, Detail: detail, RTT: st.AvgRtt}
	}
	mu.Lock()
	if netErr == nil && runErr != nil && !errors.Is(runErr, context.Canceled) && !errors.Is(runErr, context.DeadlineExceeded) {
		netErr = runErr
	}
	err := netErr
	mu.Unlock()
	if err != nil {
		res := failure(ctx, c, err)
		if res.Reason != ReasonTimeout {
			return res
		}
	}
	if st.PacketsSent == 0 {
		if ctx.Err() != nil {
			return Result{Reason: ReasonTimeout, Detail: fmt.Sprintf("timed out after %s before an echo request went out", c.Timeout)}
		}
		return Result{Reason: ReasonError, Detail: "no echo request went out"}
	}
	return Result{Reason: ReasonLoss, Detail: detail}
}
