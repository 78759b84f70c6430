// Command rttload reports RTTs of many client networks to an appliance's POST /v1/rtt, as edges
// with a real-user-measurement feed would, then waits until the last report is in the answers.
//
//	GEOROUTE_TOKEN=... go run ./bench/cmd/rttload -api 127.0.0.1:8053 -nets 1000000 -edges fra1,iad1
//
// Network i is the /24 (i × 2654435761 mod 2^24) of the IPv4 space, so they spread over it; every
// network is measured by every edge. It prints the measurements sent and the rate.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

type report struct {
	Client string  `json:"client"`
	Edge   string  `json:"edge"`
	Millis float64 `json:"rtt_ms"`
}

func main() {
	api := flag.String("api", "127.0.0.1:8053", "the appliance's API address")
	nets := flag.Int("nets", 1000000, "client networks to measure")
	edgeList := flag.String("edges", "", "edge ids, comma-separated")
	batch := flag.Int("batch", 10000, "measurements a report")
	senders := flag.Int("senders", 4, "reports sent at once")
	flag.Parse()
	edges := strings.Split(*edgeList, ",")
	token := os.Getenv("GEOROUTE_TOKEN")
	if *edgeList == "" || token == "" {
		log.Fatal("give -edges and GEOROUTE_TOKEN")
	}
	post := func(body []byte) {
		req, _ := http.NewRequest("POST", "http://"+*api+"/v1/rtt", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			log.Fatalf("POST /v1/rtt: %d %s", resp.StatusCode, msg)
		}
	}
	bodies := make(chan []byte, *senders)
	var wg sync.WaitGroup
	for range *senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range bodies {
				post(b)
			}
		}()
	}
	start := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	var last report
	sent := 0
	var buf []report
	for i := range *nets {
		x := uint32(i) * 2654435761 & 0xFFFFFF
		client := fmt.Sprintf("%d.%d.%d.0/24", x>>16, x>>8&255, x&255)
		for _, e := range edges {
			last = report{client, e, 5 + 250*rng.Float64()}
			buf = append(buf, last)
			if len(buf) == *batch {
				b, _ := json.Marshal(buf)
				bodies <- b
				sent += len(buf)
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		b, _ := json.Marshal(buf)
		bodies <- b
		sent += len(buf)
	}
	close(bodies)
	wg.Wait()
	took := time.Since(start)
	for !applied(*api, token, last) {
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("%d measurements in %.1f s: %.0f/s; in the answers %.1f s after the last 202\n", sent, took.Seconds(), float64(sent)/took.Seconds(), time.Since(start.Add(took)).Seconds())
}

// applied says whether GET /v1/rtt shows m in the matrix that answers.
func applied(api, token string, m report) bool {
	req, _ := http.NewRequest("GET", "http://"+api+"/v1/rtt?client="+strings.TrimSuffix(m.Client, "/24"), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Edges []struct {
			Edge     string
			Measured *struct{ Applied bool }
		}
	}
	json.NewDecoder(resp.Body).Decode(&v)
	for _, e := range v.Edges {
		if e.Edge == m.Edge && e.Measured != nil {
			return e.Measured.Applied
		}
	}
	return false
}
