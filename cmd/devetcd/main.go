// Command devetcd runs a single-member etcd (etcd's own server, go.etcd.io/etcd/server/v3/embed)
// for development and scripts/cluster, where no etcd is installed. It is etcd: point real nodes
// at a real etcd cluster instead.
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	name := flag.String("name", "devetcd", "the member's name")
	dir := flag.String("data-dir", "devetcd.data", "where the member keeps its data")
	client := flag.String("listen-client-urls", "http://127.0.0.1:2379", "the client URL")
	peer := flag.String("listen-peer-urls", "http://127.0.0.1:2380", "the peer URL")
	// etcd's flags for a member of one, so that scripts start either: they must agree with the above.
	advClient := flag.String("advertise-client-urls", "", "as etcd's; the client URL when empty")
	advPeer := flag.String("initial-advertise-peer-urls", "", "as etcd's; the peer URL when empty")
	initial := flag.String("initial-cluster", "", "as etcd's; NAME=PEER-URL when empty")
	maxTxnOps := flag.Uint("max-txn-ops", 2048, "etcd's --max-txn-ops: georoute's store_max_txn_ops must not exceed it")
	maxRequest := flag.Uint("max-request-bytes", 8<<20, "etcd's --max-request-bytes")
	retention := flag.String("auto-compaction-retention", "1h", "how much of etcd's history to keep")
	flag.Parse()
	cu, err := url.Parse(*client)
	if err != nil {
		fail(err)
	}
	pu, err := url.Parse(*peer)
	if err != nil {
		fail(err)
	}
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = *name, *dir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = *name + "=" + pu.String()
	if *initial != "" {
		cfg.InitialCluster = *initial
	}
	for _, adv := range []struct {
		flag string
		into *[]url.URL
	}{{*advClient, &cfg.AdvertiseClientUrls}, {*advPeer, &cfg.AdvertisePeerUrls}} {
		if adv.flag == "" {
			continue
		}
		u, err := url.Parse(adv.flag)
		if err != nil {
			fail(err)
		}
		*adv.into = []url.URL{*u}
	}
	cfg.MaxTxnOps, cfg.MaxRequestBytes = *maxTxnOps, *maxRequest
	cfg.AutoCompactionMode, cfg.AutoCompactionRetention = embed.CompactorModePeriodic, *retention
	cfg.LogLevel = "warn"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fail(err)
	}
	select {
	case <-e.Server.ReadyNotify():
		fmt.Fprintf(os.Stderr, "devetcd: serving clients on %s, data in %s\n", cu, *dir)
	case <-time.After(60 * time.Second):
		e.Close()
		fail(fmt.Errorf("not ready after 60 s"))
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
	case err := <-e.Err():
		e.Close()
		fail(err)
	}
	e.Close()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "devetcd:", err)
	os.Exit(1)
}
