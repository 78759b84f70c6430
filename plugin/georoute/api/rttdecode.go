package api

import "strconv"

// decodeReports reads a body of RTT reports written the common way, at a tenth of the cost of
// the checked decoding: an array of objects whose keys are "client" and "edge" with plain string
// values and "rtt_ms" with a number, each at most once, with the white space JSON allows. It
// reports false for anything else (escapes, other bytes than ASCII, other keys or types,
// numbers that do not fit): decodeBytes then reads the body and says what is wrong. What it
// reads is what decodeBytes reads.
func decodeReports(body []byte, out *[]RTTReport) bool {
	p := reportParser{b: body}
	p.space()
	if !p.take('[') {
		return false
	}
	reports := make([]RTTReport, 0, len(body)/64)
	p.space()
	if !p.take(']') {
		for {
			r, ok := p.report()
			if !ok {
				return false
			}
			reports = append(reports, r)
			p.space()
			if p.take(']') {
				break
			}
			if !p.take(',') {
				return false
			}
			p.space()
		}
	}
	p.space()
	if p.i != len(p.b) {
		return false
	}
	*out = reports
	return true
}

type reportParser struct {
	b []byte
	i int
}

func (p *reportParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *reportParser) take(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without escapes.
func (p *reportParser) str() (string, bool) {
	if !p.take('"') {
		return "", false
	}
	start := p.i
	for ; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '"':
			p.i++
			return string(p.b[start : p.i-1]), true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return "", false
		}
	}
	return "", false
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *reportParser) number() (float64, bool) {
	start := p.i
	p.take('-')
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.take('0') {
		if p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			return 0, false
		}
	} else if digits() == 0 {
		return 0, false
	}
	if p.take('.') && digits() == 0 {
		return 0, false
	}
	if p.take('e') || p.take('E') {
		if !p.take('+') {
			p.take('-')
		}
		if digits() == 0 {
			return 0, false
		}
	}
	v, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	return v, err == nil
}

func (p *reportParser) report() (RTTReport, bool) {
	var r RTTReport
	if !p.take('{') {
		return r, false
	}
	var seen [3]bool
	p.space()
	if p.take('}') {
		return r, true
	}
	for {
		key, ok := p.str()
		if !ok {
			return r, false
		}
		p.space()
		if !p.take(':') {
			return r, false
		}
		p.space()
		var field int
		switch key {
		case "client":
			r.Client, ok = p.str()
		case "edge":
			field = 1
			r.Edge, ok = p.str()
		case "rtt_ms":
			field = 2
			r.Millis, ok = p.number()
		default:
			return r, false
		}
		if !ok || seen[field] {
			return r, false
		}
		seen[field] = true
		p.space()
		if p.take('}') {
			return r, true
		}
		if !p.take(',') {
			return r, false
		}
		p.space()
	}
}
