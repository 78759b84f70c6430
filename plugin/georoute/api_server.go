package georoute

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/georoute/appliance/plugin/georoute/api"
	"github.com/georoute/appliance/plugin/georoute/api/route53"
	"github.com/georoute/appliance/plugin/georoute/api/sigv4"
	"github.com/georoute/appliance/plugin/georoute/store"
	"github.com/georoute/appliance/plugin/pkg/health"
)

// apiConfig is the API's part of the Corefile.
type apiConfig struct {
	addr     string
	tokens   []api.Token
	certFile string
	keyFile  string
	maxBody  int64
}

// route53Config is the Route 53 API's part of the Corefile.
type route53Config struct {
	addr     string
	keys     []sigv4.Key
	verifier *sigv4.Verifier
}

// Route 53 signs with SigV4 for service route53 and refuses requests signed more than 15
// minutes away from its clock.
const (
	route53Service = "route53"
	route53MaxSkew = 15 * time.Minute
)

// background is what runs besides the query path: the committer, the matrix refresh and the
// API servers. It starts with the server and stops on shutdown and before a Corefile reload.
type background struct {
	mu      sync.Mutex
	stop    chan struct{}
	wg      sync.WaitGroup
	srv     *http.Server
	r53     *http.Server
	running bool
}

// startBackground starts the committer, the matrix refresh and the API.
func (g *GeoRoute) startBackground(bg *background) error {
	bg.mu.Lock()
	defer bg.mu.Unlock()
	if bg.running {
		return nil
	}
	if g.storePath != "" && g.db == nil { // reopened after a failed Corefile reload
		db, err := g.openStore()
		if err != nil {
			return err
		}
		g.writeMu.Lock()
		g.db = db
		g.writeMu.Unlock()
	}
	bg.stop = make(chan struct{})
	g.stopping = bg.stop
	if g.db != nil {
		bg.wg.Add(1)
		go func() { defer bg.wg.Done(); g.committer(bg.stop) }()
	}
	if g.db != nil && g.etcdConf != nil { // other nodes commit too
		bg.wg.Add(2)
		go func(db store.Store) { defer bg.wg.Done(); g.follow(db, bg.stop) }(g.db)
		go func(db store.Store) { defer bg.wg.Done(); g.probe(db, bg.stop) }(g.db)
		if p, ok := g.db.(presence); ok {
			bg.wg.Add(1)
			go func() { defer bg.wg.Done(); g.announce(p, bg.stop) }()
		}
		if o, ok := g.db.(observer); ok && g.prober != nil {
			bg.wg.Add(1)
			go func(p health.Prober) { defer bg.wg.Done(); g.shareHealth(o, p, bg.stop) }(g.prober)
		}
	}
	bg.wg.Add(2)
	go func() { defer bg.wg.Done(); g.watchHealth(bg.stop) }()
	go func() {
		defer bg.wg.Done()
		t := time.NewTicker(matrixRefresh)
		defer t.Stop()
		for {
			select {
			case <-bg.stop:
				return
			case <-t.C:
				g.refreshMatrix()
			}
		}
	}()
	if g.apiConf != nil {
		srv, err := g.serveAPI()
		if err != nil {
			close(bg.stop)
			bg.wg.Wait()
			return err
		}
		bg.srv = srv
	}
	if g.r53Conf != nil {
		srv, err := g.serveRoute53()
		if err != nil {
			if bg.srv != nil {
				bg.srv.Close()
				bg.srv = nil
			}
			close(bg.stop)
			bg.wg.Wait()
			return err
		}
		bg.r53 = srv
	}
	bg.running = true
	return nil
}

// stopBackground stops what startBackground started and closes the store.
func (g *GeoRoute) stopBackground(bg *background) error {
	bg.mu.Lock()
	defer bg.mu.Unlock()
	if !bg.running {
		return nil
	}
	bg.running = false
	g.events.CloseAll() // event streams end, so that the servers' shutdown need not wait for them
	for _, srv := range []**http.Server{&bg.srv, &bg.r53} {
		if *srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			(*srv).Shutdown(ctx)
			cancel()
			*srv = nil
		}
	}
	close(bg.stop)
	bg.wg.Wait()
	// Writes that queued behind the last group fail rather than hang.
	for {
		select {
		case r := <-g.commits:
			r.done <- writeResult{err: errShuttingDown}
			continue
		default:
		}
		break
	}
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	if g.db != nil {
		err := g.db.Close()
		g.db = nil
		return err
	}
	return nil
}

// serveAPI listens on the API's address, alone (no SO_REUSEPORT: another process on the port
// would take half the requests, tokens included; a Corefile reload stops this server before the
// next one binds) and with a bound on open connections, with timeouts and, when configured, TLS.
func (g *GeoRoute) serveAPI() (*http.Server, error) {
	c := g.apiConf
	h := api.New(backend{g}, api.NewAuth(c.tokens), api.Options{MaxBody: c.maxBody, Observe: func(route string, code int, took time.Duration) {
		apiRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		apiDuration.WithLabelValues(route).Observe(took.Seconds())
	}})
	return serveHTTP("api", c.addr, h, c.certFile, c.keyFile, api.JSONBody)
}

// serveRoute53 listens on the Route 53 API's address as serveAPI does.
func (g *GeoRoute) serveRoute53() (*http.Server, error) {
	c := g.r53Conf
	h := route53.New(newRoute53Backend(g), c.verifier, route53.Options{Observe: func(op string, code int, _ time.Duration) {
		route53Requests.WithLabelValues(op, strconv.Itoa(code)).Inc()
	}})
	return serveHTTP("route53", c.addr, h, "", "", route53.ErrorBody)
}

// serveHTTP serves h on addr for the front door named what, with TLS when certFile is set.
func serveHTTP(what, addr string, h http.Handler, certFile, keyFile string, body api.Body) (*http.Server, error) {
	ln, err := api.Listen(addr, api.DefaultMaxConns)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("%s_tls: %v", what, err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
	} else {
		ln = api.Shaped(ln, body) // Go's own answers to broken requests in the API's error shape
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			log.Errorf("%s on %s: %v", what, addr, err)
		}
	}()
	return srv, nil
}

// route53KeyFromEnv reads an access key pair from the environment: the access key id from
// env:VARIABLE or as written, the secret from env:VARIABLE.
func route53KeyFromEnv(idArg, secretArg string, zones []string) (sigv4.Key, error) {
	id := idArg
	if name, ok := strings.CutPrefix(idArg, "env:"); ok {
		if id = os.Getenv(name); id == "" {
			return sigv4.Key{}, fmt.Errorf("route53_key %s: the environment variable is empty or unset; the Route 53 API does not start without a key", idArg)
		}
	}
	name, ok := strings.CutPrefix(secretArg, "env:")
	if !ok || name == "" {
		return sigv4.Key{}, fmt.Errorf("route53_key %s: name the secret's environment variable as env:VARIABLE (secrets do not belong in a Corefile)", secretArg)
	}
	secret := os.Getenv(name)
	if secret == "" {
		return sigv4.Key{}, fmt.Errorf("route53_key %s: the environment variable is empty or unset; the Route 53 API does not start without a key", secretArg)
	}
	k, err := route53.NewKey(id, secret, zones)
	if err != nil {
		return sigv4.Key{}, fmt.Errorf("route53_key: %v", err)
	}
	return k, nil
}

// tokenFromEnv reads a token secret from an environment variable.
func tokenFromEnv(name string, scope api.Scope, zones []string) (api.Token, error) {
	secret := os.Getenv(name)
	if secret == "" {
		return api.Token{}, fmt.Errorf("api_token env:%s: the environment variable is empty or unset; the API does not start without a token", name)
	}
	t, err := api.NewToken(secret, scope, zones)
	if err != nil {
		return api.Token{}, fmt.Errorf("api_token env:%s: %v", name, err)
	}
	return t, nil
}
