package rtt

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// FuzzReadCSV reads arbitrary bytes as an RTT file: no panic, and every row accepted reads back
// the same when written out again.
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"client,edge,rtt_ms\n203.0.113.9,fra1,12.5\n",
		"# comment\n2001:db8::1,IAD1,80\n198.51.100.0/22,fra1,30\n\"geo:52.5,13.4\",fra1,9\n",
		"203.0.113.0/24, fra1 , 1e3\n",
		"::ffff:192.0.2.1,fra1,5\n::ffff:192.0.2.0/120,fra1,5\n",
		"0.0.0.0/0,fra1,5\n",
		"geo:91,0,fra1,5\n",
		"203.0.113.9,fra1,NaN\n203.0.113.9,fra1,-1\n203.0.113.9,fra1,60000.0001\n",
		"203.0.113.9,,5\n",
		"fe80::1%eth0,fra1,5\n",
		"203.0.113.9,fra1,0x1p-2\n",
	} {
		f.Add([]byte(s))
	}
	at := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadCSV(bytes.NewReader(data), "rtt.csv", at)
		if err != nil {
			return
		}
		var out bytes.Buffer
		w := csv.NewWriter(&out)
		for _, m := range got {
			w.Write([]string{m.Client.String(), m.Edge, strconv.FormatFloat(m.Millis, 'g', -1, 64)})
		}
		w.Flush()
		again, err := ReadCSV(bytes.NewReader(out.Bytes()), "again.csv", at)
		if err != nil {
			t.Fatalf("accepted rows do not read back: %v\n%s", err, out.Bytes())
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("rows change when written out and read again:\n%+v\n%+v\n%s", got, again, out.Bytes())
		}
	})
}

// FuzzDecodeSegment: a stored value that is not a segment as written is refused, never a panic;
// one that decodes encodes back to the same measurements.
func FuzzDecodeSegment(f *testing.F) {
	c, _ := ParseClient("192.0.2.0/24")
	a, _ := ParseClient("10.0.0.0/8")
	p, _ := ParseClient("geo:1.5,-2")
	at := time.Unix(0, 1700000000123456789)
	f.Add(EncodeSegment([]Measurement{{Client: c, Edge: "fra1", Millis: 12.5, Count: 3, Updated: at, Origin: FromReport}}, []Measurement{{Client: a, Edge: "iad1", Millis: 80, Count: 1, Updated: at, Origin: FromReport}, {Client: p, Edge: "fra1", Millis: 9, Count: 2, Updated: at, Origin: FromProbe}}))
	f.Add([]byte("S\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, v []byte) {
		fresh, restated, err := DecodeSegment(v)
		if err != nil {
			return
		}
		again, rest2, err := DecodeSegment(EncodeSegment(fresh, restated))
		if err != nil || !reflect.DeepEqual(again, fresh) && len(again)+len(fresh) > 0 || !reflect.DeepEqual(rest2, restated) && len(rest2)+len(restated) > 0 {
			t.Fatalf("%q: %+v %+v, encoded again %+v %+v (%v)", v, fresh, restated, again, rest2, err)
		}
	})
}
