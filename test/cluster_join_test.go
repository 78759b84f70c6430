package test

import (
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/georoute/appliance/plugin/georoute/store/etcd"
	"github.com/georoute/appliance/plugin/georoute/store/etcd/etcdtest"
	"github.com/miekg/dns"
	"go.etcd.io/etcd/server/v3/embed"
)

// BenchmarkClusterJoin fills an etcd member (in this process, fsync on) with 1,000,000 names
// pinned to edges, as the API would write them, then starts a node on it and reports the time
// until it serves them all (its API answers once it has read the store whole: a node serves
// nothing before) and its resident memory. Run with -benchtime 1x.
func BenchmarkClusterJoin(b *testing.B) {
	const n = 1_000_000
	const perTxn = 10_000
	c := etcdtest.StartWith(b, 1, func(cfg *embed.Config) {
		cfg.MaxTxnOps, cfg.MaxRequestBytes = perTxn+16, 16<<20
		cfg.QuotaBackendBytes = 8 << 30
	})
	prefix := "/georoute/join/"
	s, err := etcd.Open(etcd.Options{Endpoints: c.Endpoints(), Prefix: prefix, MaxTxnOps: perTxn + 16, MaxRequestBytes: 16 << 20, Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	edges := []string{"fra1", "lhr1", "iad1", "sfo1", "gru1", "sin1", "nrt1", "syd1", "jnb1"}
	fill := time.Now()
	for start := 0; start < n; start += perTxn {
		var ops []store.Op
		for i := start; i < min(start+perTxn, n); i++ {
			ops = append(ops, store.Op{Kind: store.Names, Key: store.NameKey(tunnelName(i)), Value: []byte(`{"edge":"` + edges[i%len(edges)] + `","ttl":10}`)})
		}
		if err := s.Commit(ops); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	b.Logf("1,000,000 names written to etcd in %s", time.Since(fill).Round(time.Millisecond))
	for b.Loop() {
		start := time.Now()
		nd := startNode(b, "n4", c.Endpoints(), prefix, "")
		took := time.Since(start)
		time.Sleep(2 * time.Second) // let the collector settle
		b.ReportMetric(took.Seconds(), "join-s")
		b.ReportMetric(rssMB(nd.cmd.Process.Pid), "rss-MB")
		for _, i := range []int{0, n / 2, n - 1} {
			r, _, err := (&dns.Client{}).Exchange(new(dns.Msg).SetQuestion(tunnelName(i), dns.TypeA), nd.dns)
			if err != nil || len(r.Answer) != 1 {
				b.Errorf("%s: %v %v", tunnelName(i), r, err)
			}
		}
		if st := nd.status(b); st.Revision != n/perTxn {
			b.Errorf("the node serves revision %d, want %d", st.Revision, n/perTxn)
		}
		nd.cmd.Process.Kill()
		<-nd.exited
	}
}
