package healthprobe

import (
	"context"
	"net"
	"net/http/httptrace"
	"time"

	"github.com/georoute/appliance/plugin/pkg/health/check"
)

// probeTCP connects to c.Address and hangs up at once. RTT is the connect time.
func probeTCP(ctx context.Context, c *check.Compiled) Result {
	var t tracer
	var d net.Dialer
	conn, err := d.DialContext(httptrace.WithClientTrace(ctx, t.clientTrace()), "tcp", c.Address)
	phases := t.phases(time.Time{})
	if err != nil {
		res := failure(ctx, c, err)
		res.Phases = phases
		return res
	}
	closeNow(conn)
	return Result{OK: true, Detail: "connected to " + conn.RemoteAddr().String(), RTT: phases[PhaseConnect], Phases: phases}
}
