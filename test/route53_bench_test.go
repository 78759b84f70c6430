package test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/miekg/dns"
)

const (
	benchAWSKeyID  = "AKIAGEOROUTEBENCH001"
	benchAWSSecret = "bench/secret/0123456789abcdefghijABCDEFG"
)

// startRoute53Appliance runs the appliance with a fresh store, the native API and the Route 53
// API, and returns the Route 53 endpoint and the DNS address. Like startAppliance it runs the
// shutdown callbacks when b ends, so that the store and the ports are released.
func startRoute53Appliance(b *testing.B) (endpoint, dnsAddr string) {
	b.Helper()
	os.Setenv("GEOROUTE_API_TOKEN", durableToken)
	os.Setenv("GEOROUTE_BENCH_AWS_KEY", benchAWSKeyID)
	os.Setenv("GEOROUTE_BENCH_AWS_SECRET", benchAWSSecret)
	apiAddr, r53Addr := freeAddrTB(b), freeAddrTB(b)
	corefile := fmt.Sprintf(`.:0 {
		bind 127.0.0.1
		georoute {
			zones ../zones
			config ../georoute.yaml
			store %s
			api %s
			api_token env:GEOROUTE_API_TOKEN write
			route53 %s
			route53_key env:GEOROUTE_BENCH_AWS_KEY env:GEOROUTE_BENCH_AWS_SECRET
			reload 0
		}
	}`, filepath.Join(b.TempDir(), "georoute.db"), apiAddr, r53Addr)
	mu.Lock()
	caddy.Quiet, dnsserver.Quiet = true, true
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	mu.Unlock()
	if err != nil {
		b.Fatalf("start: %v", err)
	}
	b.Cleanup(func() {
		inst.Stop()
		inst.ShutdownCallbacks()
		// Overwrite the stopped instance in caddy's backing array, as startAppliance does.
		mu.Lock()
		defer mu.Unlock()
		if empty, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(".:0 {\n bind 127.0.0.1\n}"), Filepath: "Corefile", ServerTypeName: "dns"}); err == nil {
			empty.Stop()
		}
	})
	return "http://" + r53Addr, inst.Servers()[0].LocalAddr().String()
}

// route53Client is an SDK client of endpoint that does not retry, so that every non-200 is seen.
func route53Client(endpoint string) *route53.Client {
	return route53.New(route53.Options{
		Region:           "eu-central-1",
		Credentials:      credentials.NewStaticCredentialsProvider(benchAWSKeyID, benchAWSSecret, ""),
		BaseEndpoint:     aws.String(endpoint),
		RetryMaxAttempts: 1,
	})
}

// BenchmarkRoute53Batches creates the hosted zone bench.example. through the Route 53 API, then
// for 10 s has 16 SDK clients each send ChangeResourceRecordSets batches of 100 UPSERTs of new A
// record sets (TTL 60, one value). Reports batches/s, changes/s, the p50/p99 of a batch, and the
// time from a batch's 200 to the first DNS answer (UDP) that shows one of its names, for every
// 10th batch (visible-p50/p99-ms; a change is applied before its 200, so ~0, and stale counts
// first answers that did not show it), and the errors (any non-200). idle-query-ms is the p50 of
// a query for a written name once the writers have stopped, the floor of visible-p50-ms.
// Run with -benchtime 1x.
func BenchmarkRoute53Batches(b *testing.B) {
	if testing.Short() {
		b.Skip("writes for 10 s")
	}
	const (
		clients    = 16
		batchSize  = 100
		window     = 10 * time.Second
		checkEvery = 10
		visibleMax = 2 * time.Second // a name not answered by then is an error
	)
	endpoint, dnsAddr := startRoute53Appliance(b)
	created, err := route53Client(endpoint).CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name: aws.String("bench.example."), CallerReference: aws.String("bench-" + b.Name())})
	if err != nil {
		b.Fatalf("CreateHostedZone: %v", err)
	}
	zoneID := created.HostedZone.Id

	var round int // distinct names across b.Loop iterations
	for b.Loop() {
		round++
		var mu sync.Mutex
		var lat, visible []time.Duration
		var failed, unseen, stale atomic.Int64
		codes := map[int]int{} // status of each failed batch, 0 when there was none
		began := time.Now()
		stop := began.Add(window)
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r53 := route53Client(endpoint)
				dc := &dns.Client{Timeout: time.Second}
				conn, err := dc.Dial(dnsAddr)
				if err != nil {
					b.Error(err)
					return
				}
				defer conn.Close()
				var mine, seen []time.Duration
				changes := make([]types.Change, batchSize)
				for i := 0; time.Now().Before(stop); i++ {
					name := func(j int) string { return fmt.Sprintf("r%d-c%02d-b%06d-%03d.bench.example.", round, c, i, j) }
					for j := range changes {
						changes[j] = types.Change{Action: types.ChangeActionUpsert, ResourceRecordSet: &types.ResourceRecordSet{
							Name: aws.String(name(j)), Type: types.RRTypeA, TTL: aws.Int64(60),
							ResourceRecords: []types.ResourceRecord{{Value: aws.String(fmt.Sprintf("198.51.100.%d", 1+j))}}}}
					}
					callCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					t0 := time.Now()
					_, err := r53.ChangeResourceRecordSets(callCtx, &route53.ChangeResourceRecordSetsInput{
						HostedZoneId: zoneID, ChangeBatch: &types.ChangeBatch{Changes: changes}})
					acked := time.Now()
					cancel()
					if err != nil {
						status := 0
						var re *awshttp.ResponseError
						if errors.As(err, &re) {
							status = re.HTTPStatusCode()
						}
						mu.Lock()
						codes[status]++
						mu.Unlock()
						if failed.Add(1) <= 5 {
							b.Logf("client %d batch %d: %v", c, i, err)
						}
						continue
					}
					mine = append(mine, acked.Sub(t0))
					if i%checkEvery != c%checkEvery {
						continue
					}
					probe, want := name(i%batchSize), fmt.Sprintf("198.51.100.%d", 1+i%batchSize)
					for first := true; ; first = false {
						addr, _, err := answerA(dc, conn, probe)
						if err == nil && addr == want {
							seen = append(seen, time.Since(acked))
							break
						}
						if first {
							stale.Add(1)
						}
						if time.Since(acked) > visibleMax {
							if unseen.Add(1) <= 5 {
								b.Logf("%s not answered %s after its 200 (%q, %v)", probe, visibleMax, addr, err)
							}
							break
						}
					}
				}
				mu.Lock()
				lat, visible = append(lat, mine...), append(visible, seen...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		took := time.Since(began)
		idle := idleQueries(b, dnsAddr, func(i int) string {
			return fmt.Sprintf("r%d-c%02d-b%06d-%03d.bench.example.", round, i%clients, 0, i%batchSize)
		})
		if len(lat) == 0 {
			b.Fatalf("no batch succeeded (%d failed, by status %v)", failed.Load(), codes)
		}
		if len(codes) > 0 {
			b.Logf("failed batches by HTTP status (0: none): %v", codes)
		}
		b.ReportMetric(float64(len(lat))/took.Seconds(), "batches/s")
		b.ReportMetric(float64(len(lat)*batchSize)/took.Seconds(), "changes/s")
		b.ReportMetric(pct(lat, 0.5), "p50-ms")
		b.ReportMetric(pct(lat, 0.99), "p99-ms")
		if len(visible) > 0 {
			b.ReportMetric(pct(visible, 0.5), "visible-p50-ms")
			b.ReportMetric(pct(visible, 0.99), "visible-p99-ms")
		}
		b.ReportMetric(idle, "idle-query-ms")
		b.ReportMetric(float64(len(visible)), "checked")
		b.ReportMetric(float64(stale.Load()), "stale")
		b.ReportMetric(float64(unseen.Load()), "unseen")
		b.ReportMetric(float64(failed.Load()), "errors")
	}
}

// idleQueries returns the p50, in ms, of 200 queries for name(i) on one connection.
func idleQueries(b *testing.B, dnsAddr string, name func(i int) string) float64 {
	dc := &dns.Client{Timeout: time.Second}
	conn, err := dc.Dial(dnsAddr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	var took []time.Duration
	for i := range 200 {
		t0 := time.Now()
		if addr, _, err := answerA(dc, conn, name(i)); err != nil || addr == "" {
			b.Logf("%s: %q %v", name(i), addr, err)
			continue
		}
		took = append(took, time.Since(t0))
	}
	if len(took) == 0 {
		return 0
	}
	return pct(took, 0.5)
}
