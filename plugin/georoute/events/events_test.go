package events

import (
	"fmt"
	"testing"
	"time"
)

func ids(evs []Event) string {
	s := ""
	for _, e := range evs {
		s += fmt.Sprintf("%d%s ", e.ID, e.Type[:1])
	}
	return s
}

func TestSince(t *testing.T) {
	for _, tc := range []struct {
		name         string
		healthN, chN int
		publish      string // h: health, d: drain, c: change
		since        uint64
		want         string
	}{
		{"empty", 4, 4, "", 0, ""},
		{"all in order across classes", 4, 4, "hcdc", 0, "1h 2c 3d 4c "},
		{"after an id", 4, 4, "hcdc", 2, "3d 4c "},
		{"after the last", 4, 4, "hcdc", 4, ""},
		{"after an id past the last", 4, 4, "hc", 9, ""},
		{"a burst of changes keeps the health history", 2, 3, "hhcccccc", 0, "1h 2h 6c 7c 8c "},
		{"health ring wraps, oldest first", 3, 2, "hhhhh", 0, "3h 4h 5h "},
		{"wrapped, after an id inside", 3, 2, "hhhhhc", 3, "4h 5h 6c "},
		{"wrapped, after an id that is gone", 3, 2, "hhhhhc", 1, "3h 4h 5h 6c "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newAt(tc.healthN, tc.chN, 0)
			for _, c := range tc.publish {
				b.Publish(Event{Type: map[rune]string{'h': Health, 'd': Drain, 'c': Change}[c]})
			}
			if got := ids(b.Since(tc.since)); got != tc.want {
				t.Errorf("Since(%d) = %q, want %q", tc.since, got, tc.want)
			}
		})
	}
}

func TestSubscribe(t *testing.T) {
	b := newAt(8, 8, 0)
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	b.now = func() time.Time { return at }
	b.Publish(Event{Type: Health, Edge: "fra1", State: "down"}, Event{Type: Change, Kind: "names", Key: "www.example.net."})
	past, s := b.Subscribe(1, true)
	if got := ids(past); got != "2c " {
		t.Fatalf("replay after 1: %q", got)
	}
	b.Publish(Event{Type: Drain, Edge: "fra1", State: "down"})
	e := <-s.C()
	if e.ID != 3 || e.Type != Drain || !e.Time.Equal(at) {
		t.Errorf("live event %+v, want id 3, drain, stamped %v", e, at)
	}
	s.Close()
	if _, ok := <-s.C(); ok {
		t.Error("C not closed after Close")
	}
	s.Close() // twice is fine
	if s.Lost() {
		t.Error("Lost after a Close")
	}
	if _, live := b.Subscribe(0, false); len(b.subs) != 1 || live == nil {
		t.Error("a subscription without replay is not registered")
	}
}

// A subscriber that does not read is dropped and told, and the publisher never waits for it.
func TestSlowSubscriberDropped(t *testing.T) {
	b := newAt(4, 4, 0)
	_, slow := b.Subscribe(0, false)
	_, fast := b.Subscribe(0, false)
	done := make(chan int)
	go func() {
		n := 0
		for range fast.C() {
			n++
		}
		done <- n
	}()
	const n = subscriberBuffer + 10
	for range n {
		b.Publish(Event{Type: Change})
	}
	fast.Close()
	got := 0
	for range slow.C() {
		got++
	}
	if !slow.Lost() || got != subscriberBuffer {
		t.Errorf("slow subscriber: lost %v after %d events, want lost after %d", slow.Lost(), got, subscriberBuffer)
	}
	if f := <-done; f < subscriberBuffer {
		t.Errorf("the reading subscriber got %d of %d", f, n)
	}
	if b.Last() != n {
		t.Errorf("Last = %d, want %d", b.Last(), n)
	}
}

func TestCloseAll(t *testing.T) {
	b := New(0, 0)
	_, s := b.Subscribe(0, false)
	b.CloseAll()
	if _, ok := <-s.C(); ok || s.Lost() {
		t.Error("CloseAll: C open or marked lost")
	}
	var nilBus *Bus
	nilBus.Publish(Event{Type: Health}) // a plugin without a bus publishes into nothing
}

// A bus made later numbers its events after every id of an earlier one: a client that
// reconnects across a restart with its last id misses nothing of the new bus.
func TestIDsAcrossBuses(t *testing.T) {
	old := New(4, 4)
	old.Publish(Event{Type: Health}, Event{Type: Change})
	last := old.Last()
	time.Sleep(time.Millisecond)
	b := New(4, 4)
	b.Publish(Event{Type: Health})
	if got := b.Since(last); len(got) != 1 || got[0].ID <= last {
		t.Errorf("since the old bus's last id %d: %+v", last, got)
	}
	if last >= 1<<53 {
		t.Errorf("id %d is past what a JSON number holds exactly", last)
	}
}
