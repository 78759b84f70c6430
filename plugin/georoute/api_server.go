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
	"sync"
	"time"

	"github.com/coredns/coredns/plugin/pkg/reuseport"
	"github.com/georoute/appliance/plugin/georoute/api"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// apiConfig is the API's part of the Corefile.
type apiConfig struct {
	addr     string
	tokens   []api.Token
	certFile string
	keyFile  string
	maxBody  int64
}

// background is what runs besides the query path: the committer, the matrix refresh and the
// API server. It starts with the server and stops on shutdown and before a Corefile reload.
type background struct {
	mu      sync.Mutex
	stop    chan struct{}
	wg      sync.WaitGroup
	srv     *http.Server
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
		db, err := store.OpenBolt(g.storePath)
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
	bg.wg.Add(1)
	go func() {
		defer bg.wg.Done()
		t := time.NewTicker(time.Second)
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
	if bg.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		bg.srv.Shutdown(ctx)
		cancel()
		bg.srv = nil
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

// serveAPI listens on the API's address, as the health plugin does (reuseport, so that a
// Corefile reload can bind it again), with timeouts and, when configured, TLS.
func (g *GeoRoute) serveAPI() (*http.Server, error) {
	c := g.apiConf
	ln, err := reuseport.Listen("tcp", c.addr)
	if err != nil {
		return nil, fmt.Errorf("api: %v", err)
	}
	h := api.New(backend{g}, api.NewAuth(c.tokens), api.Options{MaxBody: c.maxBody, Observe: func(route string, code int, took time.Duration) {
		apiRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		apiDuration.WithLabelValues(route).Observe(took.Seconds())
	}})
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          nil,
	}
	if c.certFile != "" {
		cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("api_tls: %v", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			log.Errorf("api on %s: %v", c.addr, err)
		}
	}()
	return srv, nil
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
