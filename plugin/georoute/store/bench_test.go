package store_test

import (
	"fmt"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/georoute/appliance/plugin/georoute/store/storetest"
	"testing"
)

// group is how many requests the plugin's committer commits together (maxGroup).
const group = 512

func nameOps(call int) []store.Op {
	ops := make([]store.Op, group)
	for j := range ops {
		ops[j] = storetest.Put(store.Names, fmt.Sprintf("net.example.t.n%d-%d.", call, j), `{"edge":"fra1"}`)
	}
	return ops
}

// BenchmarkTxns commits calls of 512 one-op name txns; compare ns/txn with BenchmarkCommit's
// ns/change. Conditional txns are validated at the revision before the call, so every txn but
// the first is checked against those before it.
func BenchmarkTxns(b *testing.B) {
	for _, bc := range []struct {
		name  string
		reads func(op store.Op) []store.Read
	}{
		{name: "unconditional"},
		{name: "exact", reads: func(op store.Op) []store.Read {
			return []store.Read{{Kind: store.Names, Key: op.Key}, {Kind: store.Edges, Key: "fra1"}}
		}},
		{name: "prefix", reads: func(op store.Op) []store.Read { return []store.Read{{Kind: store.Names, Key: op.Key, Prefix: true}} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := openTemp(b)
			txns := make([]store.Txn, group)
			call := 0
			for b.Loop() {
				rev, err := s.Rev()
				if err != nil {
					b.Fatal(err)
				}
				for j, op := range nameOps(call) {
					txns[j] = store.Txn{Ops: []store.Op{op}}
					if bc.reads != nil {
						txns[j].Cond = store.Cond{Rev: rev, Reads: bc.reads(op)}
					}
				}
				for _, r := range storetest.MustTxns(b, s, txns...) {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
				call++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(call*group), "ns/txn")
		})
	}
}

// BenchmarkCommit commits 512 name changes in one Commit, as the plugin does today.
func BenchmarkCommit(b *testing.B) {
	s := openTemp(b)
	call := 0
	for b.Loop() {
		if err := s.Commit(nameOps(call)); err != nil {
			b.Fatal(err)
		}
		call++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(call*group), "ns/change")
}
