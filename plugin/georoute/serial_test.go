package georoute

import (
	"testing"

	"github.com/miekg/dns"
)

// BenchmarkNXDomain is a negative answer, whose SOA's serial follows the zone's changes.
func BenchmarkNXDomain(b *testing.B) {
	benchServe(b, new(dns.Msg).SetQuestion("no-such-name.example.net.", dns.TypeA), london)
}
