package georoute

import (
	"strings"

	"github.com/georoute/appliance/plugin/georoute/api/route53"
	"github.com/miekg/dns"
)

// DNSSEC is a zone's state for GetDNSSEC: SIGNING with the keys a parent's DS points at when
// the dnssec plugin signs it, ACTION_NEEDED when it signs it under a name whose DNSKEY is not
// served here, NOT_SIGNING otherwise.
func (b *route53Backend) DNSSEC(origin string) (route53.DNSSEC, error) {
	k := b.g.signing.of(origin)
	switch {
	case k.signer == "":
		return route53.NotSigning, nil
	case k.signer != origin:
		msg := "signed by the dnssec plugin as part of " + k.signer
		if st := b.g.state.Load(); st != nil {
			if err := b.g.signing.check(st, origin); err != nil {
				return route53.DNSSEC{ServeSignature: "ACTION_NEEDED", StatusMessage: err.Error()}, nil
			}
		}
		return route53.DNSSEC{ServeSignature: "SIGNING", StatusMessage: msg}, nil
	}
	out := route53.DNSSEC{ServeSignature: "SIGNING"}
	for _, key := range k.sep {
		ds := key.ToDS(dns.SHA256)
		out.KeySigningKeys = append(out.KeySigningKeys, route53.KeySigningKey{
			Name:                     keyName(key),
			Flag:                     int(key.Flags),
			SigningAlgorithmMnemonic: dns.AlgorithmToString[key.Algorithm],
			SigningAlgorithmType:     int(key.Algorithm),
			DigestAlgorithmMnemonic:  "SHA-256",
			DigestAlgorithmType:      int(dns.SHA256),
			KeyTag:                   int(ds.KeyTag),
			DigestValue:              strings.ToUpper(ds.Digest),
			PublicKey:                key.PublicKey,
			DSRecord:                 rdata(ds),
			DNSKEYRecord:             rdata(key),
			Status:                   "ACTIVE",
		})
	}
	return out, nil
}

// rdata is rr's data in presentation form, without its owner, TTL, class and type.
func rdata(rr dns.RR) string {
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}
