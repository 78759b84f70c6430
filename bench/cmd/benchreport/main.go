// Command benchreport reads the results bench/run writes (one line a measurement: server,
// workload, round, queries/s, CPU µs a query, p50 and p99 latency in µs at a fixed rate, queries
// lost) and prints the medians over the rounds as a table, with the ratios the targets name.
package main

import (
	"bufio"
	"fmt"
	"log"
	"os"
	"slices"
	"strconv"
	"strings"
)

type key struct{ server, workload string }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: benchreport RESULTS.tsv")
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	cols := map[key][5][]float64{}
	var order []key
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 8 || strings.HasPrefix(fs[0], "#") {
			continue
		}
		k := key{fs[0], fs[1]}
		c, seen := cols[k]
		if !seen {
			order = append(order, k)
		}
		for i := 0; i < 5; i++ {
			v, _ := strconv.ParseFloat(fs[3+i], 64)
			c[i] = append(c[i], v)
		}
		cols[k] = c
	}
	med := func(k key, i int) float64 { return median(cols[k][i]) }
	fmt.Printf("| server | workload | queries/s | CPU µs/query | p50 µs @5k q/s | p99 µs @5k q/s | lost | rounds |\n")
	fmt.Printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, k := range order {
		fmt.Printf("| %s | %s | %.0f | %.1f | %.0f | %.0f | %.0f | %d |\n", k.server, k.workload, med(k, 0), med(k, 1), med(k, 2), med(k, 3), med(k, 4), len(cols[k][0]))
	}
	ratio := func(what string, a, b key, target float64) {
		if _, ok := cols[a]; !ok {
			return
		}
		if _, ok := cols[b]; !ok {
			return
		}
		r := med(a, 0) / med(b, 0)
		if target == 0 {
			fmt.Printf("- %s: %.2f× (for information)\n", what, r)
			return
		}
		verdict := "met"
		if r < target {
			verdict = "NOT met"
		}
		fmt.Printf("- %s: %.2f× (target ≥ %.1f×: %s)\n", what, r, target, verdict)
	}
	fmt.Println()
	fmt.Println("Ratios of queries/s (medians):")
	ours := key{"georoute", "routed"}
	ratio("georoute routed / stock CoreDNS file static", ours, key{"coredns-file", "static"}, 1.0)
	ratio("georoute routed / stock CoreDNS geoip+view routed", ours, key{"coredns-view", "routed"}, 3.0)
	ratio("georoute routed / PowerDNS LUA routed", ours, key{"pdns-lua", "routed"}, 10.0)
	ratio("georoute routed / PowerDNS LUA (shared) routed", ours, key{"pdns-lua-shared", "routed"}, 0)
	ratio("georoute routed / PowerDNS geoip backend routed", ours, key{"pdns-geoip", "routed"}, 0)
	ratio("georoute routed / gdnsd routed", ours, key{"gdnsd", "routed"}, 0)
	ratio("georoute mixed / stock CoreDNS file mixed", key{"georoute", "mixed"}, key{"coredns-file", "mixed"}, 0)
	if f, ok := cols[key{"coredns-file", "static"}]; ok {
		if o, ok := cols[ours]; ok {
			verdict := "met"
			if median(o[3]) > median(f[3]) {
				verdict = "NOT met"
			}
			fmt.Printf("- p99 at 5,000 q/s: georoute routed %.0f µs, stock CoreDNS file static %.0f µs (target: no worse: %s)\n", median(o[3]), median(f[3]), verdict)
		}
	}
}
