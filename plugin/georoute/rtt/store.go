package rtt

import (
	"sync"
	"time"
)

// Origin says where a measurement came from.
type Origin uint8

// Where measurements come from.
const (
	// FromFile is an imported matrix (CSV); it lasts until the file changes.
	FromFile Origin = iota + 1
	// FromReport is an edge reporting what it saw of its clients (the API); it expires.
	FromReport
	// FromProbe is this appliance's own probe of an edge; it expires.
	FromProbe
)

func (o Origin) String() string {
	switch o {
	case FromFile:
		return "file"
	case FromReport:
		return "report"
	case FromProbe:
		return "probe"
	}
	return "unknown"
}

// Measurement is the smoothed RTT from one client to one edge.
type Measurement struct {
	Client  Client
	Edge    string
	Millis  float64
	Count   uint32
	Updated time.Time
	Origin  Origin
}

// smoothing is the EWMA weight of a new sample.
const smoothing = 0.3

type sampleKey struct {
	client Client
	edge   string
}

// Store keeps raw measurements; writers lock it briefly, queries never touch it: they read the
// Matrix compiled from it.
type Store struct {
	mu      sync.Mutex
	samples map[sampleKey]*Measurement
	perEdge map[string]int // measurements held by edge id
	gen     uint64
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{samples: make(map[sampleKey]*Measurement), perEdge: make(map[string]int)}
}

// Add folds one sample into the smoothed value for (client, edge).
func (s *Store) Add(c Client, edge string, millis float64, at time.Time, o Origin) {
	s.Put(s.Fold(c, edge, millis, at, o))
}

// Fold returns what the smoothed value for (client, edge) becomes with one more sample, without
// changing the store: a caller that must make it durable first Puts it after.
func (s *Store) Fold(c Client, edge string, millis float64, at time.Time, o Origin) Measurement {
	prev, ok := s.Get(c, edge)
	if !ok {
		return Fold(nil, c, edge, millis, at, o)
	}
	return Fold(&prev, c, edge, millis, at, o)
}

// Fold is one more sample folded into prev (nil: the first sample).
func Fold(prev *Measurement, c Client, edge string, millis float64, at time.Time, o Origin) Measurement {
	if prev == nil {
		return Measurement{Client: c, Edge: edge, Millis: millis, Count: 1, Updated: at, Origin: o}
	}
	n := *prev
	n.Millis += smoothing * (millis - n.Millis)
	n.Count++
	n.Updated, n.Origin = at, o
	return n
}

// Get returns the smoothed value for (client, edge).
func (s *Store) Get(c Client, edge string) (Measurement, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.samples[sampleKey{c, edge}]
	if m == nil {
		return Measurement{}, false
	}
	return *m, true
}

// Put sets the smoothed value of m's (client, edge).
func (s *Store) Put(m Measurement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set(sampleKey{m.Client, m.Edge}, &m)
	s.gen++
}

// Measures reports whether any measurement of the edge with that id is held.
func (s *Store) Measures(edge string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perEdge[edge] > 0
}

func (s *Store) set(k sampleKey, m *Measurement) {
	if s.samples[k] == nil {
		s.perEdge[k.edge]++
	}
	s.samples[k] = m
}

func (s *Store) drop(k sampleKey) {
	delete(s.samples, k)
	if s.perEdge[k.edge]--; s.perEdge[k.edge] <= 0 {
		delete(s.perEdge, k.edge)
	}
}

// ReplaceFiles drops every measurement that came from files and adds ms in their place.
func (s *Store) ReplaceFiles(ms []Measurement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, m := range s.samples {
		if m.Origin == FromFile {
			s.drop(k)
		}
	}
	for _, m := range ms {
		m := m
		m.Origin = FromFile
		if m.Count == 0 {
			m.Count = 1
		}
		k := sampleKey{m.Client, m.Edge}
		if old := s.samples[k]; old != nil && old.Origin == FromFile {
			// The same pair twice in the files: average them.
			old.Millis = (old.Millis*float64(old.Count) + m.Millis) / float64(old.Count+1)
			old.Count++
			continue
		}
		s.set(k, &m)
	}
	s.gen++
}

// Expire drops reported and probed measurements not updated since before.
func (s *Store) Expire(before time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, m := range s.samples {
		if m.Origin != FromFile && m.Updated.Before(before) {
			s.drop(k)
			n++
		}
	}
	if n > 0 {
		s.gen++
	}
	return n
}

// Snapshot copies every measurement and returns the store's generation, which changes on every write.
func (s *Store) Snapshot() ([]Measurement, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Measurement, 0, len(s.samples))
	for _, m := range s.samples {
		out = append(out, *m)
	}
	return out, s.gen
}

// Generation changes on every write.
func (s *Store) Generation() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}
