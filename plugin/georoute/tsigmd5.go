package georoute

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/miekg/dns"
)

// hmac-md5 for the tsig plugin. nsupdate -y and cert-manager sign with hmac-md5 unless told
// otherwise (RFC 8945 section 6 still lists it), but miekg/dns, which verifies and signs TSIG
// for CoreDNS's server with the tsig plugin's secrets, dropped it, and the server takes
// secrets, not a dns.TsigProvider. So a handler ahead of the whole chain verifies a request
// signed with hmac-md5 itself, with the same secrets, and hands the chain a ResponseWriter whose
// TsigStatus is its verdict and which signs the reply with hmac-md5: the tsig plugin then treats
// it as any other (BADKEY, BADSIG, BADTIME, the key's name for UPDATE).
//
// miekg/dns keeps no copy of a request as it came in, so the MAC is checked over the request
// packed again from what was read of it, compressed as clients compress (BIND's nsupdate, Go's
// miekg/dns) or not compressed: a request whose bytes cannot be rebuilt so is BADSIG, never
// accepted wrongly, since the MAC covers the bytes it is checked over.

const hmacMD5 = "hmac-md5.sig-alg.reg.int."

// md5Keys is a dns.TsigProvider for hmac-md5 over the tsig plugin's secrets (name -> base64).
type md5Keys map[string]string

// Generate implements dns.TsigProvider.
func (k md5Keys) Generate(msg []byte, t *dns.TSIG) ([]byte, error) {
	if dns.CanonicalName(t.Algorithm) != hmacMD5 {
		return nil, dns.ErrKeyAlg
	}
	secret, ok := k[dns.CanonicalName(t.Hdr.Name)]
	if !ok {
		return nil, dns.ErrSecret
	}
	raw, err := base64.StdEncoding.DecodeString(secret)
	if err != nil {
		return nil, err
	}
	h := hmac.New(md5.New, raw)
	h.Write(msg)
	return h.Sum(nil), nil
}

// Verify implements dns.TsigProvider.
func (k md5Keys) Verify(msg []byte, t *dns.TSIG) error {
	mac, err := k.Generate(msg, t)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(t.MAC)
	if err != nil || !hmac.Equal(mac, got) {
		return dns.ErrSig
	}
	return nil
}

// useMD5 puts the hmac-md5 handler ahead of cfg's chain, when cfg has TSIG secrets.
func useMD5(cfg *dnsserver.Config) {
	if len(cfg.TsigSecret) == 0 {
		return
	}
	keys := md5Keys(cfg.TsigSecret)
	first := func(next plugin.Handler) plugin.Handler { return md5Handler{keys: keys, next: next} }
	cfg.Plugin = append([]plugin.Plugin{first}, cfg.Plugin...)
}

// md5Handler verifies requests signed with hmac-md5.
type md5Handler struct {
	keys md5Keys
	next plugin.Handler
}

func (h md5Handler) Name() string { return "georoute-tsig-md5" }

// ServeDNS implements plugin.Handler.
func (h md5Handler) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	t := r.IsTsig()
	if t == nil || dns.CanonicalName(t.Algorithm) != hmacMD5 {
		return h.next.ServeDNS(ctx, w, r) // not through NextOrFailure's writer: nothing to track
	}
	return plugin.NextOrFailure(h.Name(), h.next, ctx, &md5Writer{ResponseWriter: w, keys: h.keys, status: h.verify(r), mac: t.MAC}, r)
}

// verify checks r's hmac-md5 signature over r packed as a client would have packed it.
func (h md5Handler) verify(r *dns.Msg) error {
	for _, compress := range []bool{true, false} {
		m := r.Copy()
		m.Compress = compress
		b, err := m.Pack()
		if err != nil {
			return dns.ErrSig
		}
		switch err := dns.TsigVerifyWithProvider(b, h.keys, "", false); err {
		case nil, dns.ErrTime, dns.ErrSecret:
			return err // the MAC held (or no key): the rest does not depend on the packing
		}
	}
	return dns.ErrSig
}

// md5Writer is a request's ResponseWriter once its hmac-md5 signature is checked.
type md5Writer struct {
	dns.ResponseWriter
	keys       md5Keys
	status     error
	mac        string // the request's MAC, then each reply's: the next reply's signature covers it
	timersOnly bool
}

// TsigStatus implements dns.ResponseWriter.
func (w *md5Writer) TsigStatus() error { return w.status }

// TsigTimersOnly implements dns.ResponseWriter.
func (w *md5Writer) TsigTimersOnly(b bool) { w.timersOnly = b }

// WriteMsg signs m with hmac-md5 when it carries a TSIG (the tsig plugin adds it).
func (w *md5Writer) WriteMsg(m *dns.Msg) error {
	t := m.IsTsig()
	if t == nil || dns.CanonicalName(t.Algorithm) != hmacMD5 {
		return w.ResponseWriter.WriteMsg(m)
	}
	b, mac, err := dns.TsigGenerateWithProvider(m, w.keys, w.mac, w.timersOnly)
	if err != nil {
		return err
	}
	w.mac = mac
	_, err = w.ResponseWriter.Write(b)
	return err
}
