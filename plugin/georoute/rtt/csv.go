package rtt

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/georoute/appliance/plugin/georoute/ids"
)

// MaxMillis bounds a plausible round-trip time.
const MaxMillis = 60000

// ReadCSV reads measurements as rows of client,edge,rtt_ms. A first row whose rtt_ms is not a number
// is a header; lines starting with '#' are comments. Errors name the file and line.
func ReadCSV(r io.Reader, name string, at time.Time) ([]Measurement, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []Measurement
	for row := 0; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("%s:%d: %v (want client,edge,rtt_ms)", name, pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		line, _ := cr.FieldPos(0) // only after a record was read: it panics otherwise
		if len(rec) != 3 {
			hint := ""
			if strings.HasPrefix(strings.TrimSpace(rec[0]), "geo:") {
				hint = `; quote a place: "geo:LAT,LON"`
			}
			return nil, fmt.Errorf("%s:%d: %d fields, want client,edge,rtt_ms%s", name, line, len(rec), hint)
		}
		ms, err := strconv.ParseFloat(strings.TrimSpace(rec[2]), 64)
		if _, cerr := ParseClient(rec[0]); err != nil && cerr != nil && row == 0 {
			continue // a header: neither a client nor a number
		}
		if err != nil || math.IsNaN(ms) || ms <= 0 || ms > MaxMillis {
			return nil, fmt.Errorf("%s:%d: rtt_ms %q is not a round-trip time in milliseconds (0 < rtt_ms <= %d)", name, line, rec[2], MaxMillis)
		}
		c, err := ParseClient(rec[0])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: client: %v", name, line, err)
		}
		edge := strings.ToLower(strings.TrimSpace(rec[1]))
		if edge == "" {
			return nil, fmt.Errorf("%s:%d: edge is empty", name, line)
		}
		if !ids.Valid(edge) {
			// No edge can have this name (a quoted field may hold anything, line breaks too).
			return nil, fmt.Errorf("%s:%d: edge %q is not an edge id (%s)", name, line, edge, ids.Rule)
		}
		out = append(out, Measurement{Client: c, Edge: edge, Millis: ms, Count: 1, Updated: at, Origin: FromFile})
	}
}
