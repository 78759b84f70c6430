package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/georoute/appliance/plugin/georoute/events"
)

// MaxEventStreams bounds the event streams open at once: each holds a connection.
const MaxEventStreams = 64

// eventPing is how often an idle stream gets a comment, so that proxies and clients see it live.
var eventPing = 15 * time.Second

// events streams the appliance's events as server-sent events (GET /v1/events): with ?since=ID
// (or the Last-Event-ID header of a reconnecting EventSource) first every kept event after ID,
// then each new one as it happens; ?types=health,drain,change keeps only those.
func (h *handler) events(w http.ResponseWriter, r *http.Request) error {
	bus := h.b.Events()
	if bus == nil {
		return NotFound("no event stream here")
	}
	q := r.URL.Query()
	since, replay := uint64(0), false
	for _, s := range []string{q.Get("since"), r.Header.Get("Last-Event-ID")} {
		if s == "" {
			continue
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return Invalid("since", "%q is not an event id (a number; 0 for every event kept)", s)
		}
		since, replay = n, true
		break
	}
	var types []string
	if s := q.Get("types"); s != "" {
		for _, t := range strings.Split(s, ",") {
			if t = strings.TrimSpace(t); t != events.Health && t != events.Drain && t != events.Change {
				return Invalid("types", "%q is not an event type (health, drain, change)", t)
			}
			types = append(types, t)
		}
	}
	if h.streams.Add(1) > MaxEventStreams {
		h.streams.Add(-1)
		w.Header().Set("Retry-After", "10")
		return &Error{Status: http.StatusServiceUnavailable, Code: "too_many_streams", Message: fmt.Sprintf("%d event streams are open already", MaxEventStreams)}
	}
	defer h.streams.Add(-1)

	// A stream lasts: the server's read and write timeouts are for requests, not for it.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	past, sub := bus.Subscribe(since, replay)
	defer sub.Close()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(e events.Event) error {
		if types != nil && !slices.Contains(types, e.Type) {
			return nil
		}
		data, _ := json.Marshal(e)
		_, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data)
		return err
	}
	for _, e := range past {
		if send(e) != nil {
			return nil
		}
	}
	// Replayed or not, the client learns where the stream stands.
	if _, err := fmt.Fprintf(w, ": live after %d\n\n", bus.Last()); err != nil || rc.Flush() != nil {
		return nil
	}
	ping := time.NewTicker(eventPing)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return nil
			}
		case e, ok := <-sub.C():
			if !ok {
				if sub.Lost() {
					// Too slow a reader: it reconnects with Last-Event-ID and misses nothing kept.
					fmt.Fprint(w, "event: lost\ndata: {\"message\":\"this stream fell behind and is closed: reconnect with since=<the last id>\"}\n\n")
				}
				rc.Flush()
				return nil
			}
			if send(e) != nil {
				return nil
			}
			for more := true; more; { // what else is there already goes in the same write
				select {
				case e, ok := <-sub.C():
					if !ok {
						more = false
						break
					}
					if send(e) != nil {
						return nil
					}
				default:
					more = false
				}
			}
		}
		if rc.Flush() != nil {
			return nil
		}
	}
}

// routing answers GET /v1/routing?pool=ID&type=A|AAAA.
func (h *handler) routing(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	pool := strings.ToLower(q.Get("pool"))
	if pool == "" {
		return Invalid("pool", "give ?pool=ID: the routing of which pool")
	}
	qtype := strings.ToUpper(q.Get("type"))
	if qtype == "" {
		qtype = "A"
	}
	if qtype != "A" && qtype != "AAAA" {
		return Invalid("type", "%q: a pool answers A or AAAA", q.Get("type"))
	}
	out, err := h.b.Routing(pool, qtype)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
