package georoute

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/georoute/appliance/plugin/georoute/rtt"
	"github.com/georoute/appliance/plugin/georoute/store"
)

// RTT reports are kept in the store as segments (rtt.EncodeSegment): one value per write under
// a key of the store's RTT kind that sorts after every measurement stored alone (as they were
// before segments, "CLIENT|EDGE", still read). A write's segment holds what its reports folded
// and as many current values of other clients again, going round them all, so that once every
// client was restated twice since a segment came, it holds nothing newer than later ones and the
// write deletes it (a few a write): what is kept follows the measurements held, not the reports
// ever made, and expired measurements leave the store as their segments go.

// restateMin is how many measurements a write restates at least.
const restateMin = 1024

// deletesPerWrite bounds the superseded segments one write deletes (a shared store bounds the
// operations of a transaction).
const deletesPerWrite = 32

var (
	segmentNode = newSegmentNode()
	segmentSeq  atomic.Uint64
)

func newSegmentNode() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// segmentKey is a new segment's key: after every key of a measurement stored alone, in the
// order segments are written on this node, apart from other nodes'.
func segmentKey(now time.Time) string {
	return fmt.Sprintf("~%016x-%s-%x", now.UnixNano(), segmentNode, segmentSeq.Add(1))
}

// rttOps is what a write of reports stores: its segment, and deletes of segments superseded.
// staged holds what earlier writes of the commit group folded; rttOps adds its own.
func (g *GeoRoute) rttOps(reps []rttReport, staged map[rtt.Pair]rtt.Measurement, now time.Time) []store.Op {
	samples := make([]rtt.Sample, len(reps))
	for i, r := range reps {
		samples[i] = rtt.Sample{Client: r.client, Edge: r.edge, Millis: r.millis}
	}
	fresh := g.rtts.FoldAll(samples, now, rtt.FromReport, staged)
	key := segmentKey(now)
	restated := g.rtts.Restate(max(len(fresh), restateMin), func(p rtt.Pair) bool { _, ok := staged[p]; return ok }, key, nil)
	ops := []store.Op{{Kind: store.RTT, Key: key, Value: rtt.EncodeSegment(fresh, restated)}}
	for _, k := range g.rtts.Superseded(deletesPerWrite) {
		ops = append(ops, store.Op{Kind: store.RTT, Key: k, Delete: true})
	}
	return ops
}

// applyRTT applies one committed op of the RTT kind: a segment's fresh measurements (what it
// restates is held already), a measurement stored alone, or a delete.
func (g *GeoRoute) applyRTT(op store.Op) error {
	if op.Delete {
		g.rtts.DropSegment(op.Key)
		return nil
	}
	if rtt.IsSegment(op.Value) {
		fresh, _, err := rtt.DecodeSegment(op.Value)
		if err != nil {
			return fmt.Errorf("store: rtt %s: %v", op.Key, err)
		}
		g.rtts.PutAll(fresh)
	} else {
		m, err := decodeMeasurement(op.Value)
		if err != nil {
			return fmt.Errorf("store: rtt %s: %v", op.Key, err)
		}
		g.rtts.Put(m)
	}
	g.rtts.NoteSegment(op.Key)
	return nil
}

// loadRTT reads one stored value of the RTT kind at start: of every value read for a pair, the
// one updated last counts.
func (g *GeoRoute) loadRTT(key string, v []byte) error {
	if rtt.IsSegment(v) {
		fresh, restated, err := rtt.DecodeSegment(v)
		if err != nil {
			return fmt.Errorf("store: rtt %s: %v", key, err)
		}
		g.rtts.PutNewer(append(restated, fresh...))
	} else {
		m, err := decodeMeasurement(v)
		if err != nil {
			return fmt.Errorf("store: rtt %s: %v", key, err)
		}
		g.rtts.PutNewer([]rtt.Measurement{m})
	}
	g.rtts.NoteSegment(key)
	return nil
}

// measurement is how an RTT measurement was kept in the store before segments.
type measurement struct {
	Client  string    `json:"client"`
	Edge    string    `json:"edge"`
	Millis  float64   `json:"rtt_ms"`
	Count   uint32    `json:"count"`
	Updated time.Time `json:"updated"`
}

func encodeMeasurement(m rtt.Measurement) []byte {
	b, _ := json.Marshal(measurement{Client: m.Client.String(), Edge: m.Edge, Millis: m.Millis, Count: m.Count, Updated: m.Updated})
	return b
}

func decodeMeasurement(b []byte) (rtt.Measurement, error) {
	var v measurement
	if err := json.Unmarshal(b, &v); err != nil {
		return rtt.Measurement{}, err
	}
	c, err := rtt.ParseClient(v.Client)
	if err != nil {
		return rtt.Measurement{}, err
	}
	return rtt.Measurement{Client: c, Edge: v.Edge, Millis: v.Millis, Count: v.Count, Updated: v.Updated, Origin: rtt.FromReport}, nil
}

// rttMaxAge is how long reported and probed measurements count (rtt.max_age, 24 h by default).
func rttMaxAge(f *files) time.Duration {
	if d := f.cfg.RTT.MaxAge.D(); d > 0 {
		return d
	}
	return 24 * time.Hour
}

// expireBatch is how many clients each refresh checks for expired measurements: every client
// once in a sweep of a hundredth of the maximum age, between 1 s and a minute, so a measurement
// leaves the answers at most that long after it expired.
func expireBatch(clients int, maxAge time.Duration) int {
	sweep := min(max(maxAge/100, time.Second), time.Minute)
	return int((int64(clients)*int64(matrixRefresh) + int64(sweep) - 1) / int64(sweep))
}

// estimateEvery is how often at most estimates are made again while reports come in: measured
// figures reach the answers at the next refresh, estimates from them within a second, and a
// location's estimate is computed a few times a second at most under a steady stream.
const estimateEvery = 750 * time.Millisecond
