package rtt

import (
	"slices"
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

// Store keeps raw measurements; writers lock it briefly, queries never touch it: they read the
// Matrix compiled from it. It keeps 24 bytes a measurement and remembers which clients changed
// since the matrix last took them (Drain), so that a matrix follows it by the changes alone.
type Store struct {
	// follow makes CompileStore and Update take turns; follower is the data the last
	// CompileStore built, the one Update brings changes to.
	follow   sync.Mutex
	follower *measured

	mu     sync.Mutex
	recs   []record // by record number; one per client
	free   []int32  // records to reuse
	byNet  map[NetKey]int32
	others map[Client]int32 // areas and places
	// otherList holds the clients of areas and places by record.other; otherFree its free places.
	otherList []Client
	otherFree []int32
	// Edge ids are numbered as they come: cells name their edge by number.
	edgeIDs []string
	edgeNum map[string]uint16
	perEdge []int // by edge number: cells held
	cells   int
	gen     uint64
	dirty   []int32 // records changed since the last Drain, each once
	hand    int     // where ExpireSome goes on
	restate int     // where Restate goes on
	durable int     // where the last durable segment's restating ended
	marks   map[string]restateMark
	round   int // rounds of restating completed, durably
	segs    []segment
	segKeys map[string]struct{}
}

type record struct {
	net   NetKey
	other int32  // index of an area's or place's client in otherList; -1 for a network
	cells []cell // at most one per edge
	dirty bool
	used  bool
}

func (s *Store) clientOf(r *record) Client {
	if r.other < 0 {
		return Client{Kind: Net, Net: r.net}
	}
	return s.otherList[r.other]
}

type cell struct {
	at     int64 // Updated, Unix nanoseconds
	millis float64
	count  uint32
	edge   uint16
	origin Origin
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{byNet: make(map[NetKey]int32), others: make(map[Client]int32), edgeNum: make(map[string]uint16), segKeys: make(map[string]struct{}), marks: make(map[string]restateMark)}
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

// Sample is one sample of a client's RTT to an edge, for FoldAll.
type Sample struct {
	Client Client
	Edge   string
	Millis float64
}

// FoldAll returns what the smoothed values become with the samples, in order, at one time: one
// Measurement a sample (a pair sampled twice folds both). It changes nothing: Put the results
// once durable. staged holds values folded before and not yet Put, by (client, edge); FoldAll
// adds its results to it.
func (s *Store) FoldAll(samples []Sample, at time.Time, o Origin, staged map[Pair]Measurement) []Measurement {
	out := make([]Measurement, len(samples))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range samples {
		p := Pair{x.Client, x.Edge}
		var prev *Measurement
		if m, ok := staged[p]; ok {
			prev = &m
		} else if m, ok := s.get(x.Client, x.Edge); ok {
			prev = &m
		}
		out[i] = Fold(prev, x.Client, x.Edge, x.Millis, at, o)
		staged[p] = out[i]
	}
	return out
}

// Pair names the measurement of a client's RTT to an edge.
type Pair struct {
	Client Client
	Edge   string
}

// Get returns the smoothed value for (client, edge).
func (s *Store) Get(c Client, edge string) (Measurement, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(c, edge)
}

func (s *Store) get(c Client, edge string) (Measurement, bool) {
	r := s.lookup(c)
	n, ok := s.edgeNum[edge]
	if r < 0 || !ok {
		return Measurement{}, false
	}
	for _, x := range s.recs[r].cells {
		if x.edge == n {
			return s.measurement(&s.recs[r], x), true
		}
	}
	return Measurement{}, false
}

func (s *Store) measurement(r *record, x cell) Measurement {
	return Measurement{Client: s.clientOf(r), Edge: s.edgeIDs[x.edge], Millis: x.millis, Count: x.count, Updated: time.Unix(0, x.at), Origin: x.origin}
}

// Of returns the measurements of client c, for display.
func (s *Store) Of(c Client) []Measurement {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.lookup(c)
	if r < 0 {
		return nil
	}
	out := make([]Measurement, 0, len(s.recs[r].cells))
	for _, x := range s.recs[r].cells {
		out = append(out, s.measurement(&s.recs[r], x))
	}
	return out
}

func (s *Store) lookup(c Client) int32 {
	var r int32
	var ok bool
	if c.Kind == Net {
		r, ok = s.byNet[c.Net]
	} else {
		r, ok = s.others[c]
	}
	if !ok {
		return -1
	}
	return r
}

// Put sets the smoothed value of m's (client, edge).
func (s *Store) Put(m Measurement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.set(m)
	s.gen++
}

// PutAll is Put of every measurement, in order, under one lock.
func (s *Store) PutAll(ms []Measurement) {
	if len(ms) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range ms {
		s.set(m)
	}
	s.gen++
}

// PutNewer is PutAll keeping, of two values of a pair, the one updated later (on a tie, the
// later in ms): for reading back what a store holds in any order.
func (s *Store) PutNewer(ms []Measurement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range ms {
		if r := s.lookup(m.Client); r >= 0 {
			if n, ok := s.edgeNum[m.Edge]; ok {
				if i := s.recs[r].find(n); i >= 0 && s.recs[r].cells[i].at > m.Updated.UnixNano() {
					continue
				}
			}
		}
		s.set(m)
	}
	s.gen++
}

func (r *record) find(edge uint16) int {
	for i, x := range r.cells {
		if x.edge == edge {
			return i
		}
	}
	return -1
}

func (s *Store) edgeNumber(edge string) uint16 {
	n, ok := s.edgeNum[edge]
	if !ok {
		n = uint16(len(s.edgeIDs))
		for i, c := range s.perEdge { // reuse the number of an edge nothing measures any more
			if c == 0 && s.edgeIDs[i] != "" {
				delete(s.edgeNum, s.edgeIDs[i])
				n = uint16(i)
				break
			}
		}
		if int(n) == len(s.edgeIDs) {
			s.edgeIDs = append(s.edgeIDs, "")
			s.perEdge = append(s.perEdge, 0)
		}
		s.edgeIDs[n] = edge
		s.edgeNum[edge] = n
	}
	return n
}

// set stores m. s.mu is held.
func (s *Store) set(m Measurement) {
	r := s.lookup(m.Client)
	if r < 0 {
		if n := len(s.free); n > 0 {
			r, s.free = s.free[n-1], s.free[:n-1]
		} else {
			r = int32(len(s.recs))
			s.recs = append(s.recs, record{})
		}
		s.recs[r] = record{net: m.Client.Net, other: -1, used: true, cells: make([]cell, 0, 4)}
		if m.Client.Kind == Net {
			s.byNet[m.Client.Net] = r
		} else {
			if n := len(s.otherFree); n > 0 {
				s.recs[r].other, s.otherFree = s.otherFree[n-1], s.otherFree[:n-1]
				s.otherList[s.recs[r].other] = m.Client
			} else {
				s.recs[r].other = int32(len(s.otherList))
				s.otherList = append(s.otherList, m.Client)
			}
			s.others[m.Client] = r
		}
	}
	rec := &s.recs[r]
	n := s.edgeNumber(m.Edge)
	x := cell{at: m.Updated.UnixNano(), millis: m.Millis, count: m.Count, edge: n, origin: m.Origin}
	if i := rec.find(n); i >= 0 {
		rec.cells[i] = x
	} else {
		if len(rec.cells) == cap(rec.cells) { // grow by a few: records hold tens of cells at most
			rec.cells = append(make([]cell, 0, len(rec.cells)+4), rec.cells...)
		}
		rec.cells = append(rec.cells, x)
		s.perEdge[n]++
		s.cells++
	}
	s.touch(r)
}

func (s *Store) touch(r int32) {
	if !s.recs[r].dirty {
		s.recs[r].dirty = true
		s.dirty = append(s.dirty, r)
	}
}

// Measures reports whether any measurement of the edge with that id is held.
func (s *Store) Measures(edge string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.edgeNum[edge]
	return ok && s.perEdge[n] > 0
}

// dropIf drops the cells of record r that drop says to. s.mu is held.
func (s *Store) dropIf(r int32, drop func(cell) bool) int {
	rec := &s.recs[r]
	n := 0
	for i := 0; i < len(rec.cells); {
		if x := rec.cells[i]; drop(x) {
			s.perEdge[x.edge]--
			s.cells--
			rec.cells[i] = rec.cells[len(rec.cells)-1]
			rec.cells = rec.cells[:len(rec.cells)-1]
			n++
			continue
		}
		i++
	}
	if n > 0 {
		s.touch(r)
		if len(rec.cells) == 0 && !rec.dirty {
			s.release(r)
		}
	}
	return n
}

// release frees a record without cells. s.mu is held.
func (s *Store) release(r int32) {
	rec := &s.recs[r]
	if rec.other < 0 {
		delete(s.byNet, rec.net)
	} else {
		delete(s.others, s.otherList[rec.other])
		s.otherList[rec.other] = Client{}
		s.otherFree = append(s.otherFree, rec.other)
	}
	*rec = record{}
	s.free = append(s.free, r)
}

// ReplaceFiles drops every measurement that came from files and adds ms in their place.
func (s *Store) ReplaceFiles(ms []Measurement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for r := range s.recs {
		if s.recs[r].used {
			s.dropIf(int32(r), func(x cell) bool { return x.origin == FromFile })
		}
	}
	for _, m := range ms {
		m.Origin = FromFile
		if m.Count == 0 {
			m.Count = 1
		}
		if r := s.lookup(m.Client); r >= 0 {
			if n, ok := s.edgeNum[m.Edge]; ok {
				if i := s.recs[r].find(n); i >= 0 && s.recs[r].cells[i].origin == FromFile {
					// The same pair twice in the files: average them.
					old := &s.recs[r].cells[i]
					old.millis = (old.millis*float64(old.count) + m.Millis) / float64(old.count+1)
					old.count++
					continue
				}
			}
		}
		s.set(m)
	}
	s.gen++
}

// Expire drops reported and probed measurements not updated since before.
func (s *Store) Expire(before time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.expire(0, len(s.recs), before.UnixNano())
	if n > 0 {
		s.gen++
	}
	return n
}

// ExpireSome is Expire over the next n clients only, going round all of them call after call:
// called every tick with n = clients × tick / period, it expires every measurement within period
// of its time at a cost that follows n.
func (s *Store) ExpireSome(before time.Time, n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hand >= len(s.recs) {
		s.hand = 0
	}
	end := min(len(s.recs), s.hand+n)
	dropped := s.expire(s.hand, end, before.UnixNano())
	s.hand = end
	if dropped > 0 {
		s.gen++
	}
	return dropped
}

func (s *Store) expire(from, to int, before int64) int {
	n := 0
	for r := from; r < to; r++ {
		if s.recs[r].used {
			n += s.dropIf(int32(r), func(x cell) bool { return x.origin != FromFile && x.at < before })
		}
	}
	return n
}

// Clients is how many clients have measurements.
func (s *Store) Clients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byNet) + len(s.others)
}

// Len is how many measurements are held.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cells
}

// Snapshot copies every measurement and returns the store's generation, which changes on every write.
func (s *Store) Snapshot() ([]Measurement, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Measurement, 0, s.cells)
	for r := range s.recs {
		for _, x := range s.recs[r].cells {
			out = append(out, s.measurement(&s.recs[r], x))
		}
	}
	return out, s.gen
}

// Generation changes on every write.
func (s *Store) Generation() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// Cell is one measurement as a matrix takes it: the edge by id, the time in Unix nanoseconds.
type Cell struct {
	Edge   string
	Millis float64
	At     int64
	Origin Origin
}

// Drain calls fn for every client whose measurements changed since the last Drain (or
// StartOver), with all its measurements now (none: it has none left), and forgets the changes.
// It copies them a few thousand clients at a time and calls fn without the lock; a client
// changed meanwhile is drained again by the next call. The slice is fn's only for the call.
func (s *Store) Drain(fn func(Client, []Cell)) int {
	const batch = 4096
	type taken struct {
		c        Client
		from, to int
	}
	var (
		cells []Cell
		got   []taken
		n     int
		limit = -1 // the clients changed when Drain was called: later ones wait for the next
	)
	for {
		s.mu.Lock()
		if limit < 0 {
			limit = len(s.dirty)
		}
		cells, got = cells[:0], got[:0]
		todo := s.dirty[:min(batch, len(s.dirty), limit-n)]
		for _, r := range todo {
			rec := &s.recs[r]
			rec.dirty = false
			from := len(cells)
			cells = s.cellsOf(rec, cells)
			got = append(got, taken{s.clientOf(rec), from, len(cells)})
			if len(rec.cells) == 0 {
				s.release(r)
			}
		}
		s.dirty = s.dirty[:copy(s.dirty, s.dirty[len(todo):])]
		s.mu.Unlock()
		if len(got) == 0 {
			return n
		}
		for _, t := range got {
			fn(t.c, cells[t.from:t.to:t.to])
		}
		n += len(got)
	}
}

// Pending is how many clients changed since the last Drain.
func (s *Store) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.dirty)
}

func (s *Store) cellsOf(rec *record, buf []Cell) []Cell {
	for _, x := range rec.cells {
		buf = append(buf, Cell{Edge: s.edgeIDs[x.edge], Millis: x.millis, At: x.at, Origin: x.origin})
	}
	return buf
}

// StartOver forgets the changes, for a caller about to read everything (Each).
func (s *Store) StartOver() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.dirty {
		s.recs[r].dirty = false
		if len(s.recs[r].cells) == 0 {
			s.release(r)
		}
	}
	s.dirty = s.dirty[:0]
}

// Each calls fn for every client and its measurements, in the order of clients, locking the
// store for a few thousand clients at a time: a client changed while Each runs is changed
// again after it (Drain has it), whether or not fn saw the change.
func (s *Store) Each(fn func(Client, []Cell)) {
	s.mu.Lock()
	nets := make([]NetKey, 0, len(s.byNet))
	for k := range s.byNet {
		nets = append(nets, k)
	}
	others := make([]Client, 0, len(s.others))
	for c := range s.others {
		others = append(others, c)
	}
	s.mu.Unlock()
	slices.Sort(nets) // nets sort first (Client.Compare), in key order
	slices.SortFunc(others, Client.Compare)
	order := make([]Client, 0, len(nets)+len(others))
	for _, k := range nets {
		order = append(order, Client{Kind: Net, Net: k})
	}
	order = append(order, others...)
	var buf []Cell
	const batch = 4096
	for i := 0; i < len(order); i += batch {
		s.mu.Lock()
		for _, c := range order[i:min(len(order), i+batch)] {
			if r := s.lookup(c); r >= 0 {
				buf = s.cellsOf(&s.recs[r], buf[:0])
				fn(c, buf)
			}
		}
		s.mu.Unlock()
	}
}

// Restate appends to out the reported and probed measurements of the clients after the last
// one restated, going round all of them call after call, until it has appended budget of them
// or reached the last client, but not the pairs skip says (that the caller holds newer values
// of). They go in the segment with key: once it is durable (NoteSegment), the clients count as
// restated; when a round of them all is, segments noted two rounds before are superseded. A
// segment that never becomes durable makes the round go on from the last durable one.
func (s *Store) Restate(budget int, skip func(Pair) bool, key string, out []Measurement) []Measurement {
	s.mu.Lock()
	defer s.mu.Unlock()
	start, from := len(out), s.restate
	r := from
	for ; r < len(s.recs) && len(out)-start < budget; r++ {
		rec := &s.recs[r]
		for _, x := range rec.cells {
			if x.origin != FromFile && (skip == nil || !skip(Pair{s.clientOf(rec), s.edgeIDs[x.edge]})) {
				out = append(out, s.measurement(rec, x))
			}
		}
	}
	mark := restateMark{from: from, to: r}
	if r >= len(s.recs) {
		mark.to, mark.wrap = 0, true
	}
	s.restate = mark.to
	s.marks[key] = mark
	return out
}

// restateMark is what a segment restates: the clients from, up to to (0 with wrap: to the last).
type restateMark struct {
	from, to int
	wrap     bool
}

// restated counts the clients of a durable segment as restated. s.mu is held.
func (s *Store) restated(key string) {
	mark, ok := s.marks[key]
	if !ok {
		return
	}
	delete(s.marks, key)
	if mark.from != s.durable {
		// A segment before it did not become durable: restate from the last that did.
		s.restate = s.durable
		clear(s.marks)
		return
	}
	s.durable = mark.to
	if mark.wrap {
		s.round++
	}
}

type segment struct {
	key   string
	round int
}

// NoteSegment records that the durable store holds measurements under key (a segment, or one
// measurement stored alone as before segments): it is superseded once every client has been
// restated twice since.
func (s *Store) NoteSegment(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.restated(key)
	if _, ok := s.segKeys[key]; ok {
		return
	}
	s.segKeys[key] = struct{}{}
	s.segs = append(s.segs, segment{key, s.round})
}

// DropSegment forgets key: it was deleted.
func (s *Store) DropSegment(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.segKeys, key)
}

// Superseded returns up to max keys of segments that hold nothing newer than what later ones
// hold, and forgets them: the caller deletes them.
func (s *Store) Superseded(max int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for len(s.segs) > 0 && len(out) < max && s.segs[0].round <= s.round-2 {
		k := s.segs[0].key
		s.segs = s.segs[1:]
		if _, ok := s.segKeys[k]; ok {
			delete(s.segKeys, k)
			out = append(out, k)
		}
	}
	return out
}

// Segments is how many segments the durable store is known to hold.
func (s *Store) Segments() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.segKeys)
}
