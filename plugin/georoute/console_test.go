package georoute

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/georoute/appliance/plugin/georoute/events"
	"github.com/miekg/dns"
)

// sseEvent is one event as a client of GET /v1/events reads it.
type sseEvent struct {
	id   uint64
	typ  string
	data events.Event
	at   time.Time // when the client read it
}

// stream opens GET /v1/events with query and hands its events to the returned channel until
// the test ends.
func (s *apiServer) stream(query, token string, header map[string]string) (<-chan sseEvent, *http.Response) {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+"/v1/events"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	ch := make(chan sseEvent, 1024)
	if resp.StatusCode != 200 {
		resp.Body.Close()
		close(ch)
		return ch, resp
	}
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var e sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e.typ != "" {
					e.at = time.Now()
					ch <- e
				}
				e = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				e.id, _ = strconv.ParseUint(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				e.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(line[6:]), &e.data); err != nil {
					s.t.Errorf("event data %q: %v", line, err)
				}
			}
		}
	}()
	return ch, resp
}

// next waits up to wait for an event that match accepts, failing the test after.
func next(t *testing.T, ch <-chan sseEvent, wait time.Duration, what string, match func(sseEvent) bool) sseEvent {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("the stream ended before %s", what)
			}
			if match(e) {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s within %v", what, wait)
		}
	}
}

// TestEventStream: a health change and a name change reach a client of GET /v1/events within
// a second of happening, in the order they happened, numbered; so does a drain; a client
// reconnecting with Last-Event-ID gets what it missed and nothing twice.
func TestEventStream(t *testing.T) {
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))
	defer edge.Close()
	s := startHealthAPI(t, edge.URL)
	s.awaitHealth("fra1", "up")
	live, resp := s.stream("", writeToken, nil)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}

	edge.Close()
	s.awaitHealth("fra1", "down")
	downAt := time.Now()
	s.expect("PUT", "/v1/zones/example.net/names/api1", writeToken, map[string]any{"edge": "iad1"}, 201, "", "")
	putAt := time.Now()
	h := next(t, live, 2*time.Second, "health event", func(e sseEvent) bool { return e.typ == "health" && e.data.State == "down" })
	c := next(t, live, 2*time.Second, "name change event", func(e sseEvent) bool { return e.typ == "change" })
	if h.data.Edge != "fra1" || h.data.State != "down" || h.data.From != "up" || h.data.Reason == "" || h.id != h.data.ID {
		t.Errorf("health event %+v, want fra1 up -> down with its reason", h)
	}
	if c.data.Kind != "names" || c.data.Key != "api1.example.net." || c.data.Op != "put" || c.data.Zone != "example.net." || c.data.Rev == 0 {
		t.Errorf("change event %+v, want the put of api1.example.net.", c.data)
	}
	if h.id >= c.id {
		t.Errorf("health event %d after name change %d: the health change happened first", h.id, c.id)
	}
	// A second from the API showing the health (itself polled every 20 ms) and from the 2xx.
	if d := h.at.Sub(downAt); d > time.Second {
		t.Errorf("the health event arrived %v after the API showed it", d)
	}
	if d := c.at.Sub(putAt); d > time.Second {
		t.Errorf("the change event arrived %v after the write's 201", d)
	}
	t.Logf("health event %v after the API showed it (polled), change event %v after the 201", h.at.Sub(downAt), c.at.Sub(putAt))

	s.expect("PUT", "/v1/edges/iad1/override", writeToken, map[string]any{"state": "down"}, 200, "", "")
	d := next(t, live, time.Second, "drain event", func(e sseEvent) bool { return e.typ == "drain" })
	if d.data.Edge != "iad1" || d.data.State != "down" {
		t.Errorf("drain event %+v", d.data)
	}
	s.expect("DELETE", "/v1/zones/example.net/names/api1", writeToken, nil, 204, "", "")
	del := next(t, live, time.Second, "delete event", func(e sseEvent) bool { return e.typ == "change" })
	if del.data.Op != "delete" || del.data.Key != "api1.example.net." {
		t.Errorf("delete event %+v", del.data)
	}

	// Replay: every kept event in order, from the edges' first states on, drains left out.
	all, _ := s.stream("?since=0&types=health,change", writeToken, nil)
	var got []string
	lastID := uint64(0)
	for {
		e := next(t, all, time.Second, "replayed event", func(sseEvent) bool { return true })
		if e.id <= lastID || e.typ == "drain" {
			t.Errorf("replayed event %d (%s) after %d", e.id, e.typ, lastID)
		}
		lastID = e.id
		got = append(got, fmt.Sprintf("%s %s%s %s", e.typ, e.data.Edge, e.data.Key, e.data.State+e.data.Op))
		if e.id == del.id {
			break
		}
	}
	want := []string{"health fra1 up", "health fra1 down", "change api1.example.net. put", "change api1.example.net. delete"}
	if i := 0; !slices.ContainsFunc(got, func(g string) bool {
		if g == want[i] {
			i++
		}
		return i == len(want)
	}) {
		t.Errorf("replay %q does not hold %q in order", got, want)
	}
	// Reconnecting after the drain: what followed it (its health event, the delete), nothing before.
	again, _ := s.stream("", writeToken, map[string]string{"Last-Event-ID": strconv.FormatUint(d.id, 10)})
	e := next(t, again, time.Second, "missed event", func(sseEvent) bool { return true })
	if e.id != d.id+1 || e.typ != "health" || e.data.Edge != "iad1" || e.data.State != "down" || e.data.Reason != "drained" {
		t.Errorf("after Last-Event-ID %d: event %d %+v, want iad1's health going down, drained", d.id, e.id, e.data)
	}
	if e := next(t, again, time.Second, "missed delete", func(sseEvent) bool { return true }); e.id != del.id {
		t.Errorf("then event %d %+v, want the delete %d", e.id, e.data, del.id)
	}

	for q, code := range map[string]string{"?since=x": "invalid_field", "?types=health,dns": "invalid_field"} {
		s.expect("GET", "/v1/events"+q, writeToken, nil, 400, code, "")
	}
	if _, r := s.stream("", "wrong-token-0123456789", nil); r.StatusCode != 401 {
		t.Errorf("a wrong token: %d", r.StatusCode)
	}
}

// TestEdgeAnswersLastMinute: the edges' answers over the last minute count the routed answers
// that named them.
func TestEdgeAnswersLastMinute(t *testing.T) {
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))
	defer edge.Close()
	s := startHealthAPI(t, edge.URL)
	s.awaitHealth("fra1", "up")
	before := s.expect("GET", "/v1/edges/fra1", writeToken, nil, 200, "", "")["answers_last_minute"].(float64)
	iadBefore := s.expect("GET", "/v1/edges/iad1", writeToken, nil, 200, "", "")["answers_last_minute"].(float64)
	const n = 25
	for range n {
		if got := s.addr("www.example.net.", dns.TypeA); got != "192.0.2.10" { // London: fra1
			t.Fatalf("www from London: %q", got)
		}
	}
	out := s.expect("GET", "/v1/edges/fra1", writeToken, nil, 200, "", "")
	if got := out["answers_last_minute"].(float64) - before; got != n {
		t.Errorf("fra1 answered %v more in the last minute, want %d", got, n)
	}
	if _, ok := out["probe_rtt_ms"].(float64); !ok {
		t.Errorf("fra1 is probed over HTTP and shows no probe RTT: %v", out)
	}
	if iad := s.expect("GET", "/v1/edges/iad1", writeToken, nil, 200, "", ""); iad["answers_last_minute"] != iadBefore {
		t.Errorf("iad1 answered nothing, and its count went from %v to %v", iadBefore, iad["answers_last_minute"])
	}
}

// TestRoutingView: what GET /v1/routing says each country's clients get is what DNS answers a
// client of the country's sample network.
func TestRoutingView(t *testing.T) {
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))
	defer edge.Close()
	s := startHealthAPI(t, edge.URL)
	s.awaitHealth("fra1", "up")
	out := s.expect("GET", "/v1/routing?pool=web", writeToken, nil, 200, "", "")
	if !slices.Equal(anyStrings(out["edges"]), []string{"fra1", "iad1"}) || out["type"] != "A" {
		t.Fatalf("routing of web: %v", out)
	}
	countries, _ := out["countries"].([]any)
	first := map[string]string{}
	for _, c := range countries {
		c := c.(map[string]any)
		cc, net := c["country"].(string), c["network"].(string)
		edges := anyStrings(c["answer_edges"])
		first[cc] = edges[0]
		// DNS for a client of the network, as a resolver sends it.
		addr, bits, _ := strings.Cut(net, "/")
		b, _ := strconv.Atoi(bits)
		m := withECS(new(dns.Msg).SetQuestion("www.example.net.", dns.TypeA), addr, uint8(min(b, 24)))
		r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(m, s.dns)
		if err != nil {
			t.Fatal(err)
		}
		var dig []string
		for _, rr := range r.Answer {
			dig = append(dig, rr.(*dns.A).A.String())
		}
		if !slices.Equal(dig, anyStrings(c["answer"])) {
			t.Errorf("%s (%s): the routing view says %v, DNS answers %v", cc, net, c["answer"], dig)
		}
		rtts, _ := c["rtt"].([]any)
		if len(rtts) != 2 || rtts[0].(map[string]any)["rtt_ms"] == nil || rtts[0].(map[string]any)["measured"] != false {
			t.Errorf("%s: rtt %v, want an estimate for each of two edges", cc, rtts)
		}
	}
	// The fixture's countries: Europe nearest Frankfurt, the Americas and the Pacific Ashburn.
	for cc, want := range map[string]string{"GB": "fra1", "DE": "fra1", "US": "iad1", "BR": "iad1", "ZA": "fra1"} {
		if first[cc] != want {
			t.Errorf("%s's clients get %q, want %s (all: %v)", cc, first[cc], want, first)
		}
	}
	// Drained, fra1 answers no one.
	s.expect("PUT", "/v1/edges/fra1/override", writeToken, map[string]any{"state": "down"}, 200, "", "")
	out = s.expect("GET", "/v1/routing?pool=web&type=A", writeToken, nil, 200, "", "")
	for _, c := range out["countries"].([]any) {
		if e := anyStrings(c.(map[string]any)["answer_edges"]); len(e) != 1 || e[0] != "iad1" {
			t.Errorf("fra1 drained: %v gets %v", c.(map[string]any)["country"], e)
		}
	}
	s.expect("GET", "/v1/routing?pool=nope", writeToken, nil, 404, "not_found", "")
	s.expect("GET", "/v1/routing", writeToken, nil, 400, "invalid_field", "pool")
	s.expect("GET", "/v1/routing?pool=web&type=MX", writeToken, nil, 400, "invalid_field", "type")
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestNamesSearch: ?q= lists the names holding the text, a page at a time.
func TestNamesSearch(t *testing.T) {
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))
	defer edge.Close()
	s := startHealthAPI(t, edge.URL)
	put := map[string]any{}
	for i := range 30 {
		put[fmt.Sprintf("shop%02d", i)] = map[string]any{"edge": "fra1"}
		put[fmt.Sprintf("api%02d", i)] = map[string]any{"edge": "iad1"}
	}
	s.expect("POST", "/v1/zones/example.net/batch", writeToken, map[string]any{"put": put}, 200, "", "")
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		out := s.expect("GET", "/v1/zones/example.net/names?limit=7&q=SHOP1&cursor="+cursor, writeToken, nil, 200, "", "")
		for _, n := range out["names"].([]any) {
			got = append(got, n.(map[string]any)["name"].(string))
		}
		if cursor, _ = out["next"].(string); cursor == "" || pages > 5 {
			break
		}
	}
	var want []string
	for i := 10; i < 20; i++ {
		want = append(want, fmt.Sprintf("shop%d.example.net.", i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("q=SHOP1 in pages of 7: %v, want %v", got, want)
	}
	s.expect("GET", "/v1/zones/example.net/names?after=shop01", writeToken, nil, 400, "invalid_field", "after")
}

// TestConsoleServed: the console's page needs no token, carries a policy that allows nothing
// from elsewhere, and the API beside it still needs one.
func TestConsoleServed(t *testing.T) {
	edge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))
	defer edge.Close()
	s := startHealthAPI(t, edge.URL)
	resp, body := s.send("GET", "/ui/", nil, "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "<html") {
		t.Fatalf("GET /ui/: %d %s %.80q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	tag := resp.Header.Get("ETag")
	if r, _ := s.send("GET", "/ui/", map[string]string{"If-None-Match": tag}, ""); tag == "" || r.StatusCode != 304 {
		t.Errorf("revalidating with ETag %q: %d, want 304", tag, r.StatusCode)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if r, err := noRedirect.Get(s.base + "/ui"); err != nil || r.StatusCode != 301 || r.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /ui: %v %v", r, err)
	}
	if r, _ := s.send("POST", "/ui/", nil, "x"); r.StatusCode != 405 {
		t.Errorf("POST /ui/: %d", r.StatusCode)
	}
	if r, _ := s.send("GET", "/ui/../v1/edges", nil, ""); r.StatusCode == 200 {
		t.Errorf("GET /ui/../v1/edges without a token: %d", r.StatusCode)
	}
	if r, _ := s.send("GET", "/v1/edges", nil, ""); r.StatusCode != 401 {
		t.Errorf("GET /v1/edges without a token: %d", r.StatusCode)
	}
}
