package georoute

import (
	"strings"
	"testing"

	"github.com/coredns/caddy"
)

func TestParseStore(t *testing.T) {
	for _, tc := range []struct {
		input     string
		wantErr   string
		endpoints string
		prefix    string
		quorum    int
		snapshot  string
	}{
		{input: "store s.db"},
		{input: "store etcd://127.0.0.1:2379", endpoints: "127.0.0.1:2379"},
		{input: "store etcd://127.0.0.1:2379,[::1]:22379,etcd.example.net:2379\n store_prefix /georoute/prod/\n store_max_txn_ops 1024\n store_max_changes 500\n store_node n1", endpoints: "127.0.0.1:2379 [::1]:22379 etcd.example.net:2379", prefix: "/georoute/prod/"},
		{input: "store etcd://", wantErr: `"" is not HOST:PORT`},
		{input: "store etcd://127.0.0.1", wantErr: `"127.0.0.1" is not HOST:PORT`},
		{input: "store a.db b.db", wantErr: "store takes one file, or etcd://"},
		{input: "store etcd://127.0.0.1:2379\n store_prefix georoute", wantErr: "starts and ends with /"},
		{input: "store etcd://127.0.0.1:2379\n store_max_txn_ops 2", wantErr: "store_max_txn_ops takes etcd's --max-txn-ops"},
		{input: "store etcd://127.0.0.1:2379\n store_tls a.pem", wantErr: "store_tls takes CERT KEY CA"},
		{input: "store etcd://127.0.0.1:2379\n store_tls /nonexistent/c.pem /nonexistent/k.pem /nonexistent/ca.pem", wantErr: "store_tls: open /nonexistent/c.pem"},
		{input: "store etcd://127.0.0.1:2379\n store_node a/b", wantErr: "store_node takes this node's name"},
		{input: "store s.db\n store_prefix /georoute/", wantErr: "are for 'store etcd://HOST:PORT'"},
		{input: "store etcd://127.0.0.1:2379\n health_quorum 2\n store_snapshot snap.db", endpoints: "127.0.0.1:2379", quorum: 2, snapshot: "snap.db"},
		{input: "store etcd://127.0.0.1:2379\n health_quorum 0", wantErr: "health_quorum takes how many nodes"},
		{input: "store etcd://127.0.0.1:2379\n health_quorum two", wantErr: "health_quorum takes how many nodes"},
		{input: "store etcd://127.0.0.1:2379\n store_snapshot", wantErr: "store_snapshot takes the file"},
		{input: "store s.db\n health_quorum 2", wantErr: "are for 'store etcd://HOST:PORT'"},
		{input: "store etcd://127.0.0.1:2379\n vantage 81.2.0.0/16 2a02:c7f::/32", endpoints: "127.0.0.1:2379"},
		{input: "store etcd://127.0.0.1:2379\n vantage", wantErr: "vantage takes the client prefixes"},
		{input: "store etcd://127.0.0.1:2379\n vantage 81.2.69.1/16", wantErr: `"81.2.69.1/16" is not a network prefix`},
		{input: "store etcd://127.0.0.1:2379\n vantage 0.0.0.0/0", wantErr: "nor the whole address space"},
		{input: "store etcd://127.0.0.1:2379\n vantage nope", wantErr: `"nope" is not a network prefix`},
		{input: "store s.db\n vantage 81.2.0.0/16", wantErr: "are for 'store etcd://HOST:PORT'"},
		{input: "store s.db\n store_snapshot snap.db", wantErr: "are for 'store etcd://HOST:PORT'"},
	} {
		c := caddy.NewTestController("dns", "georoute {\n zones testdata/zones\n "+tc.input+"\n}")
		g, _, err := parse(c)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%q: error %v, want %q", tc.input, err, tc.wantErr)
			continue
		}
		if err != nil || tc.endpoints == "" {
			continue
		}
		if g.etcdConf == nil || strings.Join(g.etcdConf.Endpoints, " ") != tc.endpoints || g.etcdConf.Prefix != tc.prefix {
			t.Errorf("%q: etcd %+v", tc.input, g.etcdConf)
		}
		if g.storeHealth.shared.need != tc.quorum || g.storeHealth.snapshot != tc.snapshot {
			t.Errorf("%q: health_quorum %d, store_snapshot %q", tc.input, g.storeHealth.shared.need, g.storeHealth.snapshot)
		}
	}
}
