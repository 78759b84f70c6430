// Package etcd is a store.Store on an etcd cluster that several nodes share: each node writes
// through it and follows what the others commit from its change stream. Nothing is replicated
// by this package: etcd does that.
//
// Under the prefix (several deployments can share one etcd, one prefix each) it keeps:
//
//	PREFIX rev                    the revision of the last committed transaction (decimal)
//	PREFIX log/REV                one entry per committed transaction (store.EncodeOps), REV in
//	                              20 decimal digits, so that the log is in revision order
//	PREFIX obj/KIND/KEY           the objects
//
// Every write is one etcd transaction that compares the revision key's ModRevision with the one
// this client read last, puts its objects and log entries, and sets the revision key to the
// revision after them. Revisions are dense, so every commit must know the previous one: all
// writers of a deployment serialize on that key whatever they write, and a transaction commits
// only if no other commit came between the read of the key and it. A condition (store.Cond) is
// decided against the log entries between its revision and the one compared (store.Check):
// exact and prefix reads alike, deletes included, which comparing the ModRevision of each key
// read could not do (a deleted key has none, and a prefix read has no key). If the compare fails,
// the etcd transaction changed nothing: the client reads the new revision and decides again.
package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/georoute/appliance/plugin/georoute/store"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Defaults of Options.
const (
	DefaultPrefix          = "/georoute/"
	DefaultTimeout         = 5 * time.Second
	DefaultMaxTxnOps       = 128              // etcd's --max-txn-ops default
	DefaultMaxRequestBytes = 1536 * 1024      // etcd's --max-request-bytes default
	DefaultMaxChanges      = 100_000          // as the bbolt store's
	requestMargin          = 64 * 1024        // beside the values: keys, framing
	cacheBytes             = 8 << 20          // the decided revisions' keys kept for conditions
	pageKeys               = 2000             // a range read's page of objects
	loadPageKeys           = 20000            // LoadAll\'s, where etcd cannot stream
	loadTimeout            = 10 * time.Minute // LoadAll\'s read of one kind
	logPage                = 64               // a range read's page of log entries
	maxAttempts            = 1000             // compare failures in one call before giving up
	watchRetry             = 200 * time.Millisecond
)

// Options say which etcd and how to use it.
type Options struct {
	Endpoints []string // host:port or URLs
	Prefix    string   // of every key; DefaultPrefix when empty
	TLS       *tls.Config
	// Timeout bounds each request; DefaultTimeout when zero.
	Timeout time.Duration
	// MaxTxnOps and MaxRequestBytes must not exceed the etcd server's --max-txn-ops and
	// --max-request-bytes: a group of transactions is split into etcd transactions within them,
	// and one transaction that does not fit alone is refused.
	MaxTxnOps       int
	MaxRequestBytes int
	// MaxChanges bounds the change log: each commit deletes the entries beyond it.
	MaxChanges int
	// Logger is the etcd client's; nothing is logged when nil.
	Logger *zap.Logger
}

var _ store.Store = (*Store)(nil)

// Store is the etcd store.
type Store struct {
	cli     *clientv3.Client
	opts    Options
	revKey  string
	logPre  string
	objPre  string
	ctx     context.Context // canceled by Close
	cancel  context.CancelFunc
	mu      sync.Mutex // one Txns at a time: the revision key as read last
	known   bool       // rev and modRev are the revision key's as read or written last
	rev     int64
	modRev  int64
	cache   logCache
	watches sync.WaitGroup
	closeMu sync.Mutex
	closed  bool
	leaseMu sync.Mutex
	lease   clientv3.LeaseID // of this node's presence (presence.go); 0 before the first
}

// Open connects to etcd. It does not wait for etcd to answer: the first request does.
func Open(o Options) (*Store, error) {
	if len(o.Endpoints) == 0 {
		return nil, errors.New("store: etcd: no endpoints")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxTxnOps <= 0 {
		o.MaxTxnOps = DefaultMaxTxnOps
	}
	if o.MaxTxnOps < 4 {
		return nil, fmt.Errorf("store: etcd: max txn ops %d: a transaction needs at least 4", o.MaxTxnOps)
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if o.MaxRequestBytes <= 2*requestMargin {
		return nil, fmt.Errorf("store: etcd: max request bytes %d is too small", o.MaxRequestBytes)
	}
	if o.MaxChanges <= 0 {
		o.MaxChanges = DefaultMaxChanges
	}
	logger := o.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            o.Endpoints,
		DialTimeout:          o.Timeout,
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		TLS:                  o.TLS,
		Logger:               logger,
		MaxCallSendMsgSize:   o.MaxRequestBytes + requestMargin,
		// Reconnect within seconds of etcd coming back, not gRPC's default of up to two minutes.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
			MinConnectTimeout: 2 * time.Second,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("store: etcd %s: %v", strings.Join(o.Endpoints, ","), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Store{
		cli: cli, opts: o, ctx: ctx, cancel: cancel,
		revKey: o.Prefix + "rev", logPre: o.Prefix + "log/", objPre: o.Prefix + "obj/",
	}, nil
}

// String names the store for messages.
func (s *Store) String() string {
	return "etcd " + strings.Join(s.opts.Endpoints, ",") + " prefix " + s.opts.Prefix
}

// Close implements store.Store: requests in flight fail, watches end.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	s.closeMu.Unlock()
	s.leaseMu.Lock()
	if s.lease != 0 { // gone at once rather than PresenceTTL later
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s.cli.Revoke(ctx, s.lease)
		cancel()
	}
	s.leaseMu.Unlock()
	s.cancel()
	s.watches.Wait()
	return s.cli.Close()
}

// request is the context of one request: bounded by Timeout, canceled by Close.
func (s *Store) request() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, s.opts.Timeout)
}

func (s *Store) objKey(kind store.Kind, key string) string {
	return s.objPre + string(kind) + "/" + key
}

func (s *Store) logKey(rev int64) string { return fmt.Sprintf("%s%020d", s.logPre, rev) }

// logRev is the revision of a log key, or false if it is not one.
func (s *Store) logRev(key []byte) (int64, bool) {
	k, ok := strings.CutPrefix(string(key), s.logPre)
	if !ok || len(k) != 20 {
		return 0, false
	}
	rev, err := strconv.ParseInt(k, 10, 64)
	return rev, err == nil && rev > 0
}

// parseRev is the revision key's value: none is revision 0.
func parseRev(v []byte) (int64, error) {
	if len(v) == 0 {
		return 0, nil
	}
	rev, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || rev < 0 {
		return 0, fmt.Errorf("store: etcd: the revision key holds %q", v)
	}
	return rev, nil
}

// unavailable says which etcd did not answer, and why.
func (s *Store) unavailable(err error) error {
	if errors.Is(err, context.Canceled) && s.ctx.Err() != nil {
		return errors.New("store: etcd: the store is closed")
	}
	return fmt.Errorf("store: etcd %s: %w", strings.Join(s.opts.Endpoints, ","), err)
}
