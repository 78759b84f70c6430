// Command soakwriter is bench/soak's API load and its final check.
//
//	soakwriter -mode write  -api 127.0.0.1:25380 -token-file T -d 10m -log acks.log -status status
//	soakwriter -mode verify -api 127.0.0.1:25380 -token-file T -dns 127.0.0.1:25353 -log acks.log
//
// write: about -rate changes a second to the names sNNNN.t of the zone, each pinned to one of
// -edges: PUTs, DELETEs of names that exist, and now and then a batch. Each worker owns its own
// names, so one name's writes never overlap and the order of its acknowledgements is the order
// they were applied. Every acknowledged (2xx) write is appended to -log as
// "UNIXNANO NAME EDGE" ("-" for deleted); a request that got no answer makes its names
// uncertain ("UNIXNANO NAME ?"). Every second -status gets "requests ok non2xx transport codes".
//
// verify: replays -log to each name's last acknowledged state, GETs every name (present with
// that edge, or 404), and asks -dns for a sample of the present ones (the edge's IPv4 address).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

var (
	mode    = flag.String("mode", "write", "write or verify")
	apiAddr = flag.String("api", "127.0.0.1:25380", "the native API's address")
	tokFile = flag.String("token-file", "", "file holding the API token")
	zone    = flag.String("zone", "example.net", "zone")
	edgesF  = flag.String("edges", "fra1,lhr1,iad1,sfo1,gru1,sin1,nrt1,syd1", "edges names are pinned to")
	nNames  = flag.Int("names", 2000, "how many names")
	rate    = flag.Int("rate", 1000, "requests a second")
	workers = flag.Int("workers", 32, "concurrent writers")
	dur     = flag.Duration("d", time.Minute, "how long to write")
	logF    = flag.String("log", "acks.log", "the acknowledged writes")
	statusF = flag.String("status", "", "file rewritten every second with the counts")
	dnsAddr = flag.String("dns", "127.0.0.1:25353", "DNS server (verify)")
	sample  = flag.Int("sample", 500, "names checked through DNS (verify)")
)

var (
	token  string
	client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
)

func do(method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+*apiAddr+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func main() {
	flag.Parse()
	b, err := os.ReadFile(*tokFile)
	if err != nil {
		log.Fatal(err)
	}
	token = strings.TrimSpace(string(b))
	switch *mode {
	case "write":
		write()
	case "verify":
		os.Exit(verify())
	default:
		log.Fatalf("mode %q is not write or verify", *mode)
	}
}

func name(i int) string { return fmt.Sprintf("s%04d.t", i) }

func write() {
	edges := strings.Split(*edgesF, ",")
	lf, err := os.Create(*logF)
	if err != nil {
		log.Fatal(err)
	}
	lw := bufio.NewWriterSize(lf, 1<<20)
	var lmu sync.Mutex
	ack := func(entries ...string) { // "NAME EDGE" pairs
		now := time.Now().UnixNano()
		lmu.Lock()
		for _, e := range entries {
			fmt.Fprintf(lw, "%d %s\n", now, e)
		}
		lmu.Unlock()
	}
	var reqs, ok, non2xx, transport atomic.Int64
	var cmu sync.Mutex
	codes := map[int]int{}

	tokens := make(chan struct{}, *rate)
	stop := make(chan struct{})
	go func() { // paces the requests: rate/100 every 10 ms
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		per, carry := *rate/100, *rate%100
		acc := 0
		for {
			select {
			case <-stop:
				close(tokens)
				return
			case <-t.C:
				n := per
				if acc += carry; acc >= 100 {
					acc -= 100
					n++
				}
				for i := 0; i < n; i++ {
					select {
					case tokens <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	writeStatus := func() {
		if *statusF == "" {
			return
		}
		cmu.Lock()
		var cs []string
		for c, n := range codes {
			cs = append(cs, fmt.Sprintf("%d:%d", c, n))
		}
		cmu.Unlock()
		sort.Strings(cs)
		c := strings.Join(cs, ",")
		if c == "" {
			c = "-"
		}
		s := fmt.Sprintf("%d %d %d %d %s\n", reqs.Load(), ok.Load(), non2xx.Load(), transport.Load(), c)
		_ = os.WriteFile(*statusF+".tmp", []byte(s), 0o644)
		_ = os.Rename(*statusF+".tmp", *statusF)
	}
	go func() {
		for range time.Tick(time.Second) {
			writeStatus()
		}
	}()

	zp := "/v1/zones/" + *zone
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var mine []int
			for i := w; i < *nNames; i += *workers {
				mine = append(mine, i)
			}
			present := map[int]bool{}
			for range tokens {
				reqs.Add(1)
				var code int
				var err error
				var entries []string
				var apply func()
				if rng.IntN(50) == 0 { // a batch: a few puts and deletes of distinct names
					put := map[string]any{}
					var del []string
					puts, dels := map[int]string{}, map[int]bool{}
					for _, k := range rng.Perm(len(mine))[:min(len(mine), 2+rng.IntN(8))] {
						i := mine[k]
						if present[i] && rng.IntN(3) == 0 {
							del = append(del, name(i))
							dels[i] = true
							entries = append(entries, name(i)+" -")
						} else {
							e := edges[rng.IntN(len(edges))]
							put[name(i)] = map[string]any{"edge": e, "ttl": 10}
							puts[i] = e
							entries = append(entries, name(i)+" "+e)
						}
					}
					code, _, err = do("POST", zp+"/batch", map[string]any{"put": put, "delete": del})
					apply = func() {
						for i := range puts {
							present[i] = true
						}
						for i := range dels {
							delete(present, i)
						}
					}
				} else {
					i := mine[rng.IntN(len(mine))]
					if present[i] && rng.IntN(5) < 2 {
						code, _, err = do("DELETE", zp+"/names/"+name(i), nil)
						entries = []string{name(i) + " -"}
						apply = func() { delete(present, i) }
					} else {
						e := edges[rng.IntN(len(edges))]
						code, _, err = do("PUT", zp+"/names/"+name(i), map[string]any{"edge": e, "ttl": 10})
						entries = []string{name(i) + " " + e}
						apply = func() { present[i] = true }
					}
				}
				switch {
				case err != nil: // unknown whether it applied
					transport.Add(1)
					for k, e := range entries {
						entries[k] = strings.Fields(e)[0] + " ?"
					}
					ack(entries...)
				case code/100 == 2:
					ok.Add(1)
					apply()
					ack(entries...)
				default:
					non2xx.Add(1)
					cmu.Lock()
					codes[code]++
					cmu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(*dur)
	close(stop)
	wg.Wait()
	lmu.Lock()
	if err := lw.Flush(); err != nil {
		log.Fatal(err)
	}
	lf.Close()
	lmu.Unlock()
	writeStatus()
}

func verify() int {
	f, err := os.Open(*logF)
	if err != nil {
		log.Fatal(err)
	}
	last := map[string]string{}
	writes := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 3 {
			last[fs[1]] = fs[2]
			writes++
		}
	}
	f.Close()
	// the edges' IPv4 addresses, from the API
	code, body, err := do("GET", "/v1/edges", nil)
	if err != nil || code != 200 {
		log.Fatalf("GET /v1/edges: %d %v", code, err)
	}
	addr := map[string]string{}
	var list any
	_ = json.Unmarshal(body, &list)
	var walk func(any)
	walk = func(v any) { // tolerant of {"edges": [...]} or [...]
		switch t := v.(type) {
		case []any:
			for _, x := range t {
				walk(x)
			}
		case map[string]any:
			if id, ok := t["id"].(string); ok {
				if as, ok := t["addresses"].([]any); ok {
					for _, a := range as {
						if s, _ := a.(string); s != "" && !strings.Contains(s, ":") {
							addr[id] = s
							break
						}
					}
				}
				return
			}
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(list)

	names := make([]string, 0, len(last))
	for n := range last {
		names = append(names, n)
	}
	sort.Strings(names)
	var mu sync.Mutex
	var bad []string
	present, deleted, uncertain := 0, 0, 0
	ch := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range ch {
				want := last[n]
				code, body, err := do("GET", "/v1/zones/"+*zone+"/names/"+n, nil)
				var got struct{ Edge string }
				_ = json.Unmarshal(body, &got)
				mu.Lock()
				switch {
				case err != nil:
					bad = append(bad, fmt.Sprintf("%s: GET: %v", n, err))
				case want == "?":
					uncertain++
				case want == "-" && code == 404:
					deleted++
				case want != "-" && code == 200 && got.Edge == want:
					present++
				default:
					bad = append(bad, fmt.Sprintf("%s: acknowledged %s, API says %d %s", n, want, code, strings.Join(strings.Fields(string(body)), " ")))
				}
				mu.Unlock()
			}
		}()
	}
	for _, n := range names {
		ch <- n
	}
	close(ch)
	wg.Wait()

	// DNS: a sample of the present names answers its edge's address.
	var pinned []string
	for _, n := range names {
		if w := last[n]; w != "-" && w != "?" {
			pinned = append(pinned, n)
		}
	}
	rand.Shuffle(len(pinned), func(i, j int) { pinned[i], pinned[j] = pinned[j], pinned[i] })
	pinned = pinned[:min(len(pinned), *sample)]
	dnsOK, dnsBad := 0, 0
	c := &dns.Client{Timeout: 2 * time.Second}
	for _, n := range pinned {
		q := new(dns.Msg).SetQuestion(dns.Fqdn(n+"."+*zone), dns.TypeA)
		var r *dns.Msg
		for try := 0; try < 3; try++ { // the server is idle now; a retry only covers a lost UDP packet
			if r, _, err = c.Exchange(q, *dnsAddr); err == nil {
				break
			}
		}
		var got []string
		if r != nil {
			for _, rr := range r.Answer {
				if a, ok := rr.(*dns.A); ok {
					got = append(got, a.A.String())
				}
			}
		}
		if err == nil && r.Rcode == dns.RcodeSuccess && len(got) == 1 && got[0] == addr[last[n]] {
			dnsOK++
		} else {
			dnsBad++
			if len(bad) < 1000 {
				bad = append(bad, fmt.Sprintf("%s: DNS: want %s (%s), got %v err %v", n, addr[last[n]], last[n], got, err))
			}
		}
	}
	fmt.Printf("verify: %d acknowledged writes to %d names: API %d present with their edge, %d deleted (404), %d uncertain (no answer), %d wrong; DNS %d/%d sampled names answer their edge\n",
		writes, len(names), present, deleted, uncertain, len(bad)-dnsBad, dnsOK, dnsOK+dnsBad)
	for i, b := range bad {
		if i == 20 {
			fmt.Printf("  ... and %d more\n", len(bad)-20)
			break
		}
		fmt.Println("  " + b)
	}
	if len(bad) > 0 || writes == 0 {
		return 1
	}
	return 0
}
