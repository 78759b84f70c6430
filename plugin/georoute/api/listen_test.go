package api

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/pkg/reuseport"
)

// TestListenIsExclusive: nothing else binds the API's port while it listens, with or without
// SO_REUSEPORT.
func TestListenIsExclusive(t *testing.T) {
	ln, err := Listen("127.0.0.1:0", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	if second, err := Listen(addr, 2); err == nil {
		second.Close()
		t.Fatal("a second Listen on the same address succeeded")
	} else if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "taken") {
		t.Errorf("error %q does not say that %s is taken", err, addr)
	}
	if other, err := reuseport.Listen("tcp", addr); err == nil {
		other.Close()
		t.Fatal("a listener with SO_REUSEPORT shares the API's port")
	}
	if _, err := Listen("127.0.0.1:0", 0); err == nil {
		t.Error("maxConns 0 accepted")
	}
}

// TestListenLimitsConnections: with maxConns 2, a third connection waits until one closes.
func TestListenLimitsConnections(t *testing.T) {
	ln, err := Listen("127.0.0.1:0", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	var open []net.Conn
	for range 2 {
		select {
		case c := <-accepted:
			open = append(open, c)
		case <-time.After(2 * time.Second):
			t.Fatal("the first two connections were not accepted")
		}
	}
	select {
	case c := <-accepted:
		c.Close()
		t.Fatal("a third connection was accepted")
	case <-time.After(200 * time.Millisecond):
	}
	open[0].Close()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(2 * time.Second):
		t.Fatal("the third connection was not accepted after the first closed")
	}
	open[1].Close()
}
