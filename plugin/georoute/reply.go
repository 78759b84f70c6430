package georoute

import (
	"net"

	"github.com/miekg/dns"
)

// replyBuf is a reply with room for what a routed answer holds: the message, its question,
// one address record and the OPT with the ECS option, in one allocation rather than nine.
// Nothing of it is shared: the plugins ahead of georoute may append to its sections.
type replyBuf struct {
	m       dns.Msg
	q       [1]dns.Question
	opt     dns.OPT
	ecs     dns.EDNS0_SUBNET
	options [1]dns.EDNS0
	extra   [1]dns.RR
	answer  [1]dns.RR
	a       dns.A
	aaaa    dns.AAAA
	used    bool // answer holds an address already (a CNAME chain may reach two routed names)
}

// buf is q's replyBuf, made on first use.
func (q *query) buf() *replyBuf {
	if q.rb == nil {
		q.rb = new(replyBuf)
	}
	return q.rb
}

// address returns the answer of one address record, hdr with ip: from q's replyBuf the first
// time, from the heap after.
func (q *query) address(hdr dns.RR_Header, ip net.IP) []dns.RR {
	b := q.buf()
	if b.used {
		if hdr.Rrtype == dns.TypeA {
			return []dns.RR{&dns.A{Hdr: hdr, A: ip}}
		}
		return []dns.RR{&dns.AAAA{Hdr: hdr, AAAA: ip}}
	}
	b.used = true
	if hdr.Rrtype == dns.TypeA {
		b.a = dns.A{Hdr: hdr, A: ip}
		b.answer[0] = &b.a
	} else {
		b.aaaa = dns.AAAA{Hdr: hdr, AAAA: ip}
		b.answer[0] = &b.aaaa
	}
	return b.answer[:1:1]
}

// setReply is m.SetReply(r) without allocating the question section.
func (b *replyBuf) setReply(r *dns.Msg) *dns.Msg {
	m := &b.m
	m.Id, m.Response, m.Opcode, m.Rcode = r.Id, true, r.Opcode, dns.RcodeSuccess
	if m.Opcode == dns.OpcodeQuery {
		m.RecursionDesired, m.CheckingDisabled = r.RecursionDesired, r.CheckingDisabled
	}
	if len(r.Question) > 0 {
		b.q[0] = r.Question[0]
		m.Question = b.q[:1:1]
	}
	return m
}

// maxLen bounds m's length as sent uncompressed without packing it (Msg.Len packs every EDNS
// option, allocating), when every record is an address or the OPT and every option ECS: a
// routed answer. A name takes at most its presentation length plus one byte. ok is false for
// other messages.
func maxLen(m *dns.Msg) (n int, ok bool) {
	n = 12
	for _, q := range m.Question {
		n += len(q.Name) + 1 + 4
	}
	for _, section := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range section {
			n += len(rr.Header().Name) + 1 + 10
			switch rr := rr.(type) {
			case *dns.A:
				n += 4
			case *dns.AAAA:
				n += 16
			case *dns.OPT:
				for _, o := range rr.Option {
					e, isECS := o.(*dns.EDNS0_SUBNET)
					if !isECS {
						return 0, false
					}
					n += 4 + 4 + (int(e.SourceNetmask)+7)/8
				}
			default:
				return 0, false
			}
		}
	}
	return n, true
}
