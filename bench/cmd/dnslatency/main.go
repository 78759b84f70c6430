// Command dnslatency sends the queries of a dnsperf -B file to a server at a fixed rate (an open
// loop: the pace does not wait for answers) over UDP and prints the p50, p99 and largest latency
// and how many queries went unanswered.
//
//	dnslatency -s 127.0.0.1:1053 -f var/bench/mixed.bin -qps 5000 -t 10s
//
// Every millisecond, a ticker sends the queries due by then; the receiver runs on a thread of its
// own, so that a reply is timed when it arrives, not when the sender lets it be read (with one
// scheduler thread and a busy sender, Go reads sockets only every 10 ms).
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
	"sync"
	"time"
)

func main() {
	server := flag.String("s", "127.0.0.1:53", "the server")
	file := flag.String("f", "queries.bin", "queries, as for dnsperf -B")
	qps := flag.Int("qps", 5000, "queries per second")
	dur := flag.Duration("t", 10*time.Second, "how long to send")
	flag.Parse()
	runtime.GOMAXPROCS(2) // whatever the CPU affinity: the receiver must not wait for the sender
	raw, err := os.ReadFile(*file)
	if err != nil {
		log.Fatal(err)
	}
	var queries [][]byte
	for len(raw) >= 2 {
		n := int(binary.BigEndian.Uint16(raw))
		queries = append(queries, raw[2:2+n])
		raw = raw[2+n:]
	}
	conn, err := net.Dial("udp", *server)
	if err != nil {
		log.Fatal(err)
	}
	var mu sync.Mutex
	sent := make([]int64, 65536) // send time in ns since start, by query id; 0: none outstanding
	var lat []time.Duration
	start := time.Now()
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		buf := make([]byte, 65535)
		for {
			n, err := conn.Read(buf)
			now := int64(time.Since(start))
			if err != nil {
				close(done)
				return
			}
			if n < 2 {
				continue
			}
			id := binary.BigEndian.Uint16(buf)
			mu.Lock()
			if t := sent[id]; t != 0 {
				lat = append(lat, time.Duration(now-t))
				sent[id] = 0
			}
			mu.Unlock()
		}
	}()
	total := int(dur.Seconds() * float64(*qps))
	tick := time.NewTicker(time.Millisecond)
	msg := make([]byte, 0, 512)
	for i := 0; i < total; {
		<-tick.C
		due := int(int64(time.Since(start)) * int64(*qps) / int64(time.Second))
		for ; i < due && i < total; i++ {
			q := queries[i%len(queries)]
			msg = append(msg[:0], q...)
			binary.BigEndian.PutUint16(msg, uint16(i))
			mu.Lock()
			sent[uint16(i)] = int64(time.Since(start)) | 1
			mu.Unlock()
			conn.Write(msg)
		}
	}
	tick.Stop()
	elapsed := time.Since(start)
	time.Sleep(500 * time.Millisecond)
	conn.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(lat) == 0 {
		log.Fatal("no answers")
	}
	slices.Sort(lat)
	p := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))]) / 1e3 }
	fmt.Printf("sent %d answered %d p50_us %.0f p99_us %.0f max_us %.0f rate %.0f\n", total, len(lat), p(0.5), p(0.99), p(1), float64(total)/elapsed.Seconds())
}
