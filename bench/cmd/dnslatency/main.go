// Command dnslatency sends the queries of a dnsperf -B file to a server at a fixed rate (an open
// loop: the pace does not wait for answers) over UDP and prints the p50, p99 and largest latency
// and how many queries went unanswered.
//
//	dnslatency -s 127.0.0.1:1053 -f var/bench/mixed.bin -qps 5000 -t 10s
//
// With several servers (-s and -f take comma-separated lists, one file for all or one a server),
// each server gets -qps queries a second from its own file, and the n-th query of every server
// leaves at the same moment (the order alternates), so that whatever stalls the machine stalls
// them all alike: on a shared machine, a comparison of tails is only fair this way. One line a
// server, in the order given.
//
// Every millisecond, a ticker sends the queries due by then. A reply is timed by the kernel when
// it arrives (SO_TIMESTAMPNS), not when this program gets to read it: on a busy machine the
// receiving thread's own scheduling would otherwise land in the figures, unevenly between
// servers (the first of two read its replies measurably later).
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// target is one server: its queries, its socket and what it answered.
type target struct {
	addr    string
	queries [][]byte
	conn    *net.UDPConn
	mu      sync.Mutex
	sent    []int64 // send time, Unix ns (the clock of kernel timestamps), by query id; 0: none outstanding
	lat     []time.Duration
	done    chan struct{}
}

func main() {
	servers := flag.String("s", "127.0.0.1:53", "the server, or a comma-separated list")
	files := flag.String("f", "queries.bin", "queries, as for dnsperf -B; one file, or one a server")
	qps := flag.Int("qps", 5000, "queries per second, to each server")
	dur := flag.Duration("t", 10*time.Second, "how long to send")
	flag.Parse()
	addrs, paths := strings.Split(*servers, ","), strings.Split(*files, ",")
	if len(paths) != 1 && len(paths) != len(addrs) {
		log.Fatalf("-f names %d files for %d servers: give one, or one a server", len(paths), len(addrs))
	}
	// Whatever the CPU affinity: receivers keep draining their sockets while the sender sends.
	runtime.GOMAXPROCS(len(addrs) + 1)
	ts := make([]*target, len(addrs))
	for i, a := range addrs {
		p := paths[0]
		if len(paths) > 1 {
			p = paths[i]
		}
		queries, err := readQueries(p)
		if err != nil {
			log.Fatal(err)
		}
		conn, err := dial(a)
		if err != nil {
			log.Fatal(err)
		}
		ts[i] = &target{addr: a, queries: queries, conn: conn, sent: make([]int64, 65536), done: make(chan struct{})}
	}
	start := time.Now()
	for _, t := range ts {
		go t.receive()
	}
	total := int(dur.Seconds() * float64(*qps))
	tick := time.NewTicker(time.Millisecond)
	msg := make([]byte, 0, 512)
	for i := 0; i < total; {
		<-tick.C
		due := int(int64(time.Since(start)) * int64(*qps) / int64(time.Second))
		for ; i < due && i < total; i++ {
			for k := range ts {
				if i%2 == 1 { // the other way round: no server is always second
					k = len(ts) - 1 - k
				}
				t := ts[k]
				msg = append(msg[:0], t.queries[i%len(t.queries)]...)
				binary.BigEndian.PutUint16(msg, uint16(i))
				t.mu.Lock()
				t.sent[uint16(i)] = time.Now().UnixNano()
				t.mu.Unlock()
				t.conn.Write(msg)
			}
		}
	}
	tick.Stop()
	elapsed := time.Since(start)
	time.Sleep(500 * time.Millisecond)
	for _, t := range ts {
		t.conn.Close()
		<-t.done
		t.mu.Lock()
		if len(t.lat) == 0 {
			log.Fatalf("%s: no answers", t.addr)
		}
		slices.Sort(t.lat)
		p := func(f float64) float64 { return float64(t.lat[int(f*float64(len(t.lat)-1))]) / 1e3 }
		fmt.Printf("sent %d answered %d p50_us %.0f p99_us %.0f max_us %.0f rate %.0f server %s\n", total, len(t.lat), p(0.5), p(0.99), p(1), float64(total)/elapsed.Seconds(), t.addr)
		t.mu.Unlock()
	}
}

// dial connects a UDP socket to addr that stamps each datagram with the time it arrived.
func dial(addr string) (*net.UDPConn, error) {
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, err
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, fmt.Errorf("%s: SO_TIMESTAMPNS: %w", addr, serr)
	}
	return conn, nil
}

// receive times the replies of t until its socket is closed.
func (t *target) receive() {
	buf, oob := make([]byte, 65535), make([]byte, 128)
	for {
		n, oobn, _, _, err := t.conn.ReadMsgUDP(buf, oob)
		if err != nil {
			close(t.done)
			return
		}
		at, ok := arrival(oob[:oobn])
		if n < 2 || !ok {
			continue
		}
		id := binary.BigEndian.Uint16(buf)
		t.mu.Lock()
		if s := t.sent[id]; s != 0 {
			t.lat = append(t.lat, time.Duration(at-s))
			t.sent[id] = 0
		}
		t.mu.Unlock()
	}
}

// arrival is the kernel's receive time (Unix ns) in a datagram's control messages.
func arrival(oob []byte) (int64, bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(syscall.Timespec{})) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&m.Data[0]))
			return ts.Nano(), true
		}
	}
	return 0, false
}

// readQueries reads a dnsperf -B file: each query preceded by its length (2 bytes, big endian).
func readQueries(path string) ([][]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var queries [][]byte
	for len(raw) >= 2 {
		n := int(binary.BigEndian.Uint16(raw))
		if 2+n > len(raw) {
			return nil, fmt.Errorf("%s: a query of %d bytes runs past the end of the file", path, n)
		}
		queries = append(queries, raw[2:2+n])
		raw = raw[2+n:]
	}
	if len(queries) == 0 {
		return nil, fmt.Errorf("%s: no queries", path)
	}
	return queries, nil
}
