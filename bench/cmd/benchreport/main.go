// Command benchreport reads the results bench/run writes (one line a measurement: server,
// workload, round, queries/s, CPU µs a query, p50 and p99 latency in µs at a fixed rate, queries
// lost) and prints the medians over the rounds as a table, with the ratios the targets name.
// Lines "paired SERVER WORKLOAD ROUND.WINDOW P50 P99" are the latency runs with two servers at
// once (dnslatency with two servers): their medians make a second table, the latency target is
// judged on them, and the windows in which each server had the lower p99 are counted.
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
	pairs := map[key][2][]float64{}
	windows := map[key]map[string]float64{} // p99 by window
	var order, pairOrder []key
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) == 6 && fs[0] == "paired" {
			k := key{fs[1], fs[2]}
			c, seen := pairs[k]
			if !seen {
				pairOrder = append(pairOrder, k)
			}
			for i := 0; i < 2; i++ {
				v, _ := strconv.ParseFloat(fs[4+i], 64)
				c[i] = append(c[i], v)
			}
			pairs[k] = c
			if windows[k] == nil {
				windows[k] = map[string]float64{}
			}
			windows[k][fs[3]] = c[1][len(c[1])-1]
			continue
		}
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
	fmt.Printf("| server | workload | queries/s | CPU µs/query | p50 µs @5k q/s alone | p99 µs @5k q/s alone | lost | rounds |\n")
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
		// The same ratio by the servers' CPU time a query: on a machine shared with other work,
		// steadier than queries/s.
		byCPU := ""
		if ca := med(a, 1); ca > 0 {
			byCPU = fmt.Sprintf("; by CPU time a query %.2f×", med(b, 1)/ca)
		}
		if target == 0 {
			fmt.Printf("- %s: %.2f× (for information%s)\n", what, r, byCPU)
			return
		}
		verdict := "met"
		if r < target {
			verdict = "NOT met"
		}
		fmt.Printf("- %s: %.2f× (target ≥ %.1f×: %s%s)\n", what, r, target, verdict, byCPU)
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
	deployed := key{"georoute-deployed", "routed"}
	ratio("georoute corefile.example routed / stock CoreDNS errors+file+prometheus static", deployed, key{"coredns-efp", "static"}, 1.0)
	ratio("georoute corefile.example routed / stock CoreDNS file static", deployed, key{"coredns-file", "static"}, 1.0)
	ratio("stock CoreDNS errors+file+prometheus / file, static", key{"coredns-efp", "static"}, key{"coredns-file", "static"}, 0)
	if two := (key{"georoute-deployed-2s", "routed"}); len(cols[deployed][1]) > 0 && len(cols[two][1]) > 0 {
		// The server's CPU time a routed answer, one socket against two (multisocket) on the
		// same CPU: a second socket must not make an answer dearer, so that a machine of many
		// cores scales by sockets. Within 5%: the figures of one round move by that much.
		one, both := med(deployed, 1), med(two, 1)
		verdict := "met"
		if both > one*1.05 {
			verdict = "NOT met"
		}
		fmt.Printf("- CPU µs a routed answer, corefile.example: one socket %.1f, two sockets %.1f (target: no more with two, within 5%%: %s)\n", one, both, verdict)
	}
	if len(pairOrder) > 0 {
		fmt.Println()
		fmt.Println("Latency at 5,000 q/s, this appliance and stock CoreDNS file running at once (both on one CPU),")
		fmt.Println("each sent its queries in step with the other's, replies timed by the kernel (medians over")
		fmt.Println("windows of 3 s, each server listed first in every other window):")
		fmt.Println()
		fmt.Printf("| server | workload | p50 µs | p99 µs | windows |\n")
		fmt.Printf("| --- | --- | ---: | ---: | ---: |\n")
		for _, k := range pairOrder {
			fmt.Printf("| %s | %s | %.0f | %.0f | %d |\n", k.server, k.workload, median(pairs[k][0]), median(pairs[k][1]), len(pairs[k][0]))
		}
		fmt.Println()
	}
	po, okO := pairs[ours]
	pf, okF := pairs[key{"coredns-file", "static"}]
	if okO && okF {
		verdict := "met"
		if median(po[1]) > median(pf[1]) {
			verdict = "NOT met"
		}
		fmt.Printf("- p99 at 5,000 q/s, at once: georoute routed %.0f µs, stock CoreDNS file static %.0f µs (target: no worse: %s)%s\n", median(po[1]), median(pf[1]), verdict, wins(windows[ours], windows[key{"coredns-file", "static"}]))
	}
	po, okO = pairs[key{"georoute", "mixed"}]
	pf, okF = pairs[key{"coredns-file", "mixed"}]
	if okO && okF {
		fmt.Printf("- p99 at 5,000 q/s, at once: georoute mixed %.0f µs, stock CoreDNS file mixed %.0f µs (for information)%s\n", median(po[1]), median(pf[1]), wins(windows[key{"georoute", "mixed"}], windows[key{"coredns-file", "mixed"}]))
	}
}

// wins says in how many of the windows both a and b were measured a had the lower p99.
func wins(a, b map[string]float64) string {
	n, w := 0, 0
	for k, va := range a {
		if vb, ok := b[k]; ok {
			n++
			if va <= vb {
				w++
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; georoute's p99 the lower in %d of %d windows", w, n)
}
