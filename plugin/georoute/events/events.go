// Package events keeps what happened to the appliance lately, in memory, for the console and
// for scripts (GET /v1/events): edges' health transitions, operators' drains and the catalog's
// changes. A Bus numbers events in the order they are published, keeps the latest of each class
// in a ring of its own (so that a burst of catalog changes does not push the health history of
// the last hours out) and hands every new event to its subscribers without ever blocking the
// publisher: a subscriber that falls behind is told so and dropped.
package events

import (
	"slices"
	"sync"
	"time"
)

// Types of events.
const (
	Health = "health" // an edge's health state changed
	Drain  = "drain"  // an operator's override of an edge changed (down: drained)
	Change = "change" // an object of the catalog was put or deleted
)

// Event is one thing that happened. Fields that do not apply to its Type are empty.
type Event struct {
	ID   uint64    `json:"id"`
	Time time.Time `json:"time"`
	Type string    `json:"type"`

	Edge   string `json:"edge,omitempty"`   // health, drain
	State  string `json:"state,omitempty"`  // health: up, down, unknown; drain: down, up, auto
	From   string `json:"from,omitempty"`   // health: the state before
	Reason string `json:"reason,omitempty"` // health: why, as the checks say

	Rev  int64  `json:"rev,omitempty"`  // change, drain: the store revision that made it
	Kind string `json:"kind,omitempty"` // change: names, edges, pools, zones, ...
	Key  string `json:"key,omitempty"`  // change: the object's id, a name as a domain name
	Op   string `json:"op,omitempty"`   // change: put or delete
	Zone string `json:"zone,omitempty"` // change of a name: its zone
}

// Defaults of New.
const (
	DefaultHealthRing = 8192 // health transitions and drains kept
	DefaultChangeRing = 4096 // catalog changes kept
	subscriberBuffer  = 1024
)

// ring holds the latest events of one class, oldest first once full.
type ring struct {
	buf  []Event
	next int // where the next event goes
	full bool
}

func (r *ring) add(e Event) {
	r.buf[r.next] = e
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// since appends the events of r after id to out, oldest first.
func (r *ring) since(id uint64, out []Event) []Event {
	if r.full {
		out = appendAfter(out, r.buf[r.next:], id)
	}
	return appendAfter(out, r.buf[:r.next], id)
}

func appendAfter(out, evs []Event, id uint64) []Event {
	i, _ := slices.BinarySearchFunc(evs, id+1, func(e Event, id uint64) int {
		switch {
		case e.ID < id:
			return -1
		case e.ID > id:
			return 1
		}
		return 0
	})
	return append(out, evs[i:]...)
}

// Bus numbers, keeps and hands out events. Its zero value is not usable: call New.
type Bus struct {
	mu     sync.Mutex
	last   uint64
	health ring // Health and Drain
	change ring // Change
	subs   map[*Subscription]struct{}
	now    func() time.Time
}

// New returns a bus keeping up to healthN health transitions and drains and changeN catalog
// changes (0: the defaults). Its ids start from the clock in microseconds, so that a client
// reconnecting with the last id it saw from an earlier bus (before a restart or a Corefile
// reload) gets every event of this one rather than waiting for the count to catch up.
func New(healthN, changeN int) *Bus {
	return newAt(healthN, changeN, uint64(time.Now().UnixMicro()))
}

// newAt is New with the ids counted from base.
func newAt(healthN, changeN int, base uint64) *Bus {
	if healthN <= 0 {
		healthN = DefaultHealthRing
	}
	if changeN <= 0 {
		changeN = DefaultChangeRing
	}
	return &Bus{last: base, health: ring{buf: make([]Event, healthN)}, change: ring{buf: make([]Event, changeN)},
		subs: map[*Subscription]struct{}{}, now: time.Now}
}

// Publish numbers evs in order, stamps those without a time, keeps them and hands them to the
// subscribers. It never blocks on a subscriber.
func (b *Bus) Publish(evs ...Event) {
	if b == nil || len(evs) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	for _, e := range evs {
		b.last++
		e.ID = b.last
		if e.Time.IsZero() {
			e.Time = now
		}
		if e.Type == Change {
			b.change.add(e)
		} else {
			b.health.add(e)
		}
		for s := range b.subs {
			select {
			case s.c <- e:
			default:
				s.lost = true
				b.drop(s)
			}
		}
	}
}

// Last is the id of the latest event published (the base before any).
func (b *Bus) Last() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// Since returns the kept events after id, in the order they were published.
func (b *Bus) Since(id uint64) []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.since(id)
}

func (b *Bus) since(id uint64) []Event {
	hs := b.health.since(id, nil)
	cs := b.change.since(id, nil)
	out := make([]Event, 0, len(hs)+len(cs))
	for len(hs) > 0 && len(cs) > 0 {
		if hs[0].ID < cs[0].ID {
			out, hs = append(out, hs[0]), hs[1:]
		} else {
			out, cs = append(out, cs[0]), cs[1:]
		}
	}
	return append(append(out, hs...), cs...)
}

// Subscription receives the events published after it was made.
type Subscription struct {
	b    *Bus
	c    chan Event
	lost bool // dropped for falling behind (set before c is closed)
	once sync.Once
}

// Subscribe returns the kept events after id (none when since is false) and a subscription to
// every later one, atomically: no event is in both or in neither.
func (b *Bus) Subscribe(id uint64, since bool) ([]Event, *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := &Subscription{b: b, c: make(chan Event, subscriberBuffer)}
	b.subs[s] = struct{}{}
	if !since {
		return nil, s
	}
	return b.since(id), s
}

// C delivers the events; it is closed when the subscription ends.
func (s *Subscription) C() <-chan Event { return s.c }

// Lost reports whether the subscription ended because its reader fell behind. Read it once C
// is closed.
func (s *Subscription) Lost() bool {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	return s.lost
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.drop(s)
}

// CloseAll ends every subscription (the server is shutting down).
func (b *Bus) CloseAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		b.drop(s)
	}
}

// drop ends s; b.mu is held.
func (b *Bus) drop(s *Subscription) {
	s.once.Do(func() {
		delete(b.subs, s)
		close(s.c)
	})
}
