// Command dnslatency sends the queries of a dnsperf -B file to a server at a fixed rate (an open
// loop: the pace does not wait for answers) over UDP and prints the p50, p99 and largest latency
// and how many queries went unanswered.
//
//	dnslatency -s 127.0.0.1:1053 -f var/bench/mixed.bin -qps 5000 -t 10s
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
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
	sent := make([]time.Time, 65536)
	var lat []time.Duration
	done := make(chan struct{})
	go func() {
		buf := make([]byte, 65535)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(done)
				return
			}
			if n < 2 {
				continue
			}
			id := binary.BigEndian.Uint16(buf)
			mu.Lock()
			if t := sent[id]; !t.IsZero() {
				lat = append(lat, time.Since(t))
				sent[id] = time.Time{}
			}
			mu.Unlock()
		}
	}()
	total := int(dur.Seconds() * float64(*qps))
	start := time.Now()
	msg := make([]byte, 0, 512)
	for i := 0; i < total; i++ {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(*qps))); d > 0 {
			time.Sleep(d)
		}
		q := queries[i%len(queries)]
		msg = append(msg[:0], q...)
		id := uint16(i)
		binary.BigEndian.PutUint16(msg, id)
		mu.Lock()
		sent[id] = time.Now()
		mu.Unlock()
		conn.Write(msg)
	}
	time.Sleep(time.Second)
	conn.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(lat) == 0 {
		log.Fatal("no answers")
	}
	slices.Sort(lat)
	p := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))]) / 1e3 }
	fmt.Printf("sent %d answered %d p50_us %.0f p99_us %.0f max_us %.0f rate %.0f\n", total, len(lat), p(0.5), p(0.99), p(1), float64(total)/time.Since(start).Seconds())
}
