package route53

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Names come in Route 53's form: any case, the trailing dot optional, and any character other
// than a-z, 0-9, '-' and '_' as a three-digit octal escape ("\052" for '*'). The appliance keeps
// them lower case, fully qualified and in DNS presentation format, as miekg/dns unpacks a
// question name (so that the query path finds them): special characters escaped with a
// backslash, unprintable ones as \DDD in decimal.

// canonicalName turns a Route 53 name into the form the appliance keeps.
func canonicalName(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("the name is empty")
	}
	if s == "." {
		return ".", nil
	}
	var b strings.Builder
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return "", fmt.Errorf("%q has an empty label", s)
			}
			b.WriteByte('.')
			label = 0
			continue
		case c == '\\':
			if i+4 > len(s) {
				return "", fmt.Errorf("%q has an escape that is not \\ and three octal digits", s)
			}
			n, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
			if err != nil {
				return "", fmt.Errorf("%q has an escape that is not \\ and three octal digits", s)
			}
			c = byte(n)
			i += 3
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		label++
		if label > 63 {
			return "", fmt.Errorf("%q has a label longer than 63 characters", s)
		}
		switch {
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		case c == '.', c == ' ', c == '\'', c == '@', c == ';', c == '(', c == ')', c == '"', c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	if label > 0 {
		b.WriteByte('.')
	}
	out := b.String()
	if len(out) > 255 {
		return "", fmt.Errorf("%q is longer than 255 characters", s)
	}
	return out, nil
}

// displayName turns a name as the appliance keeps it into Route 53's form: lower case, fully
// qualified, and every character other than a-z, 0-9, '-' and '_' an octal escape.
func displayName(name string) string {
	if name == "." || name == "" {
		return "."
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			b.WriteByte('.')
			continue
		case c == '\\' && i+3 < len(name) && isDigit(name[i+1]) && isDigit(name[i+2]) && isDigit(name[i+3]):
			n, _ := strconv.Atoi(name[i+1 : i+4])
			c = byte(n)
			i += 3
		case c == '\\' && i+1 < len(name):
			i++
			c = name[i]
		}
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	if !strings.HasSuffix(name, ".") {
		b.WriteByte('.')
	}
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// reversedKey is the key Route 53 sorts names by: the labels reversed, with the trailing dot
// ("com.example.www."), of the name in Route 53's form.
func reversedKey(display string) string {
	labels := strings.Split(strings.TrimSuffix(display, "."), ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".") + "."
}

// inZone reports whether name (as the appliance keeps it) is origin or below it.
func inZone(name, origin string) bool {
	return origin == "." || name == origin || strings.HasSuffix(name, "."+origin)
}

// Ids. A zone's id is derived from its origin, so that every node and every restart gives the
// same one. A change's id holds the revision it committed at and when, with a check sum, so
// that GetChange needs no table of changes and can tell an id no change could have.

const (
	zonePrefix   = "/hostedzone/"
	changePrefix = "/change/"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// ZoneID is the hosted zone id of origin (lower case, fully qualified): "Z" and 20 characters.
func ZoneID(origin string) string {
	sum := sha256.Sum256([]byte(origin))
	return "Z" + b32.EncodeToString(sum[:13])[:20]
}

// bareID strips an id's prefix ("/hostedzone/", "hostedzone/") when it has one.
func bareID(id, prefix string) string {
	id = strings.TrimPrefix(id, prefix)
	return strings.TrimPrefix(id, strings.TrimPrefix(prefix, "/"))
}

// changeID is the id of the change committed at rev at time at: "C" and 24 characters.
func changeID(rev int64, at time.Time) string {
	var p [15]byte
	binary.BigEndian.PutUint64(p[0:8], uint64(rev)<<16) // 6 bytes of revision
	secs := uint64(at.Unix())
	for i := 0; i < 5; i++ {
		p[6+i] = byte(secs >> (8 * (4 - i)))
	}
	sum := sha256.Sum256(append([]byte("georoute change "), p[:11]...))
	copy(p[11:], sum[:4])
	return "C" + b32.EncodeToString(p[:])
}

// parseChangeID reads a change id (with or without "/change/"): false when no change has it.
func parseChangeID(id string) (rev int64, at time.Time, ok bool) {
	id = strings.ToUpper(bareID(id, changePrefix))
	if len(id) != 25 || id[0] != 'C' {
		return 0, time.Time{}, false
	}
	p, err := b32.DecodeString(id[1:])
	if err != nil || len(p) != 15 {
		return 0, time.Time{}, false
	}
	sum := sha256.Sum256(append([]byte("georoute change "), p[:11]...))
	if string(sum[:4]) != string(p[11:]) {
		return 0, time.Time{}, false
	}
	var r [8]byte
	copy(r[2:], p[:6])
	var secs uint64
	for i := 0; i < 5; i++ {
		secs = secs<<8 | uint64(p[6+i])
	}
	rev = int64(binary.BigEndian.Uint64(r[:]))
	return rev, time.Unix(int64(secs), 0).UTC(), rev > 0
}
