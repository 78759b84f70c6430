package healthprobe

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/pkg/health/check"
	"golang.org/x/net/icmp"
)

// pingAllowed reports whether this process may open a ping socket of network.
func pingAllowed(network string) error {
	c, err := icmp.ListenPacket(network, "")
	if err != nil {
		return err
	}
	return c.Close()
}

func TestPing(t *testing.T) {
	for _, tc := range []struct {
		target, network string
		privileged      bool
	}{
		{"127.0.0.1", "udp4", false},
		{"127.0.0.1", "ip4:icmp", true},
		{"::1", "udp6", false},
		{"::1", "ip6:ipv6-icmp", true},
	} {
		t.Run(fmt.Sprintf("%s over %s", tc.target, tc.network), func(t *testing.T) {
			if err := pingAllowed(tc.network); err != nil {
				t.Skipf("cannot open a %s socket here (for udp, net.ipv4.ping_group_range must hold our group; for raw, CAP_NET_RAW): %v", tc.network, err)
			}
			c := mustCompileCheck(t, check.Spec{Type: "icmp", Target: tc.target})
			ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
			defer cancel()
			res := ping(ctx, c, tc.privileged)
			if !res.OK || res.Detail != "3 sent, 3 received, 0% loss" || res.RTT <= 0 {
				t.Errorf("%+v", res)
			}
		})
	}
}

func TestProbeICMP(t *testing.T) {
	for _, target := range []string{"127.0.0.1", "::1"} {
		t.Run(target, func(t *testing.T) {
			c := mustCompileCheck(t, check.Spec{Type: "icmp", Target: target})
			privileged, err := pingMode(c.Target.Is6())
			if err != nil {
				t.Skipf("neither an unprivileged nor a raw ping socket may be opened here: %v", err)
			}
			t.Logf("pinging %s over a %s socket", target, map[bool]string{false: "udp ping", true: "raw"}[privileged])
			res := Probe(context.Background(), c)
			wantProbeResult(t, res, "", "3 sent, 3 received, 0% loss")
			if res.RTT <= 0 || res.RTT > 100*time.Millisecond {
				t.Errorf("RTT %v", res.RTT)
			}
			// The edge's first address is the default target.
			res = Probe(context.Background(), mustCompileCheck(t, check.Spec{Type: "icmp"}))
			wantProbeResult(t, res, "", "0% loss")
		})
	}
}

// TestProbeICMPDeadline: a ping returns by its deadline even when it is too short for every reply.
func TestProbeICMPDeadline(t *testing.T) {
	if _, err := pingMode(false); err != nil {
		t.Skipf("no ping socket: %v", err)
	}
	for _, timeout := range []time.Duration{2 * time.Millisecond, 20 * time.Millisecond, 300 * time.Millisecond} {
		c := mustCompileCheck(t, check.Spec{Type: "icmp", Target: "127.0.0.1", Interval: check.Duration(time.Second), Timeout: check.Duration(timeout)})
		res := Probe(context.Background(), c)
		if res.Duration > timeout+50*time.Millisecond {
			t.Errorf("timeout %v: took %v (%+v)", timeout, res.Duration, res)
		}
		if !res.OK && res.Reason != ReasonLoss && res.Reason != ReasonTimeout {
			t.Errorf("timeout %v: %+v", timeout, res)
		}
	}
}
