package store

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// The change log holds one entry per committed transaction: under its revision (8 bytes, big
// endian, so that the log is in revision order), its ops as
// uvarint(count), then for each op uvarint(len(kind)) kind uvarint(len(key)) key flag, and for a
// put (flag 0) uvarint(len(value)) value; a delete (flag 1) has no value.

const (
	opPut    = 0
	opDelete = 1
)

var errBadEntry = errors.New("store: corrupt change log entry")

func revKey(rev int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(rev)) }

func keyRev(k []byte) int64 { return int64(binary.BigEndian.Uint64(k)) }

// encodeOps is the log entry of ops.
func encodeOps(ops []Op) []byte {
	n := binary.MaxVarintLen64
	for _, op := range ops {
		n += 3*binary.MaxVarintLen64 + 1 + len(op.Kind) + len(op.Key) + len(op.Value)
	}
	b := binary.AppendUvarint(make([]byte, 0, n), uint64(len(ops)))
	for _, op := range ops {
		b = binary.AppendUvarint(b, uint64(len(op.Kind)))
		b = append(b, op.Kind...)
		b = binary.AppendUvarint(b, uint64(len(op.Key)))
		b = append(b, op.Key...)
		if op.Delete {
			b = append(b, opDelete)
			continue
		}
		b = append(b, opPut)
		b = binary.AppendUvarint(b, uint64(len(op.Value)))
		b = append(b, op.Value...)
	}
	return b
}

// decodeOps is the inverse of encodeOps. The values share b's memory.
func decodeOps(b []byte) ([]Op, error) {
	n, b, ok := uvarint(b)
	if !ok || n > uint64(len(b)) {
		return nil, errBadEntry
	}
	ops := make([]Op, n)
	for i := range ops {
		var kind, key []byte
		if kind, b, ok = lengthPrefixed(b); !ok {
			return nil, errBadEntry
		}
		if key, b, ok = lengthPrefixed(b); !ok || len(b) == 0 {
			return nil, errBadEntry
		}
		ops[i].Kind, ops[i].Key = knownKind(kind), string(key)
		flag := b[0]
		b = b[1:]
		switch flag {
		case opDelete:
			ops[i].Delete = true
		case opPut:
			if ops[i].Value, b, ok = lengthPrefixed(b); !ok {
				return nil, errBadEntry
			}
		default:
			return nil, errBadEntry
		}
	}
	if len(b) != 0 {
		return nil, errBadEntry
	}
	return ops, nil
}

func uvarint(b []byte) (uint64, []byte, bool) {
	n, size := binary.Uvarint(b)
	if size <= 0 {
		return 0, nil, false
	}
	return n, b[size:], true
}

func lengthPrefixed(b []byte) (field, rest []byte, ok bool) {
	n, b, ok := uvarint(b)
	if !ok || n > uint64(len(b)) {
		return nil, nil, false
	}
	return b[:n:n], b[n:], true
}

// knownKind is kind as one of the Kinds constants, so that decoding does not allocate it.
func knownKind(kind []byte) Kind {
	for _, k := range Kinds {
		if string(kind) == string(k) {
			return k
		}
	}
	return Kind(kind)
}

// changed is what the revisions after lo changed, for checking conditions: each kind's latest
// revision and each key's, the keys also in order for prefix reads.
type changed struct {
	lo    int64
	kinds map[Kind]*kindChanged
}

type kindChanged struct {
	rev    int64
	keys   map[string]int64
	sorted []string
}

func newChanged(lo int64) *changed { return &changed{lo: lo, kinds: map[Kind]*kindChanged{}} }

// note records that rev changed ops. Unless inOrder, the caller sorts the keys afterwards.
func (c *changed) note(rev int64, ops []Op, inOrder bool) {
	for _, op := range ops {
		kc := c.kinds[op.Kind]
		if kc == nil {
			kc = &kindChanged{keys: map[string]int64{}}
			c.kinds[op.Kind] = kc
		}
		kc.rev = max(kc.rev, rev)
		old, ok := kc.keys[op.Key]
		if rev > old {
			kc.keys[op.Key] = rev
		}
		switch {
		case ok:
		case inOrder:
			i, _ := slices.BinarySearch(kc.sorted, op.Key)
			kc.sorted = slices.Insert(kc.sorted, i, op.Key)
		default:
			kc.sorted = append(kc.sorted, op.Key)
		}
	}
}

// extend notes the log entries after rev up to lo, so that c covers the revisions after rev.
func (c *changed) extend(log *bolt.Bucket, rev int64) error {
	cur := log.Cursor()
	for k, v := cur.Seek(revKey(rev + 1)); k != nil && keyRev(k) <= c.lo; k, v = cur.Next() {
		ops, err := decodeOps(v)
		if err != nil {
			return err
		}
		c.note(keyRev(k), ops, false) // sorted once below: there may be many
	}
	for _, kc := range c.kinds {
		slices.Sort(kc.sorted)
	}
	c.lo = rev
	return nil
}

// since reports whether a revision after rev (no earlier than c.lo) changed one of reads.
func (c *changed) since(rev int64, reads []Read) bool {
	for _, r := range reads {
		kc := c.kinds[r.Kind]
		switch {
		case kc == nil || kc.rev <= rev:
		case r.Prefix && r.Key == "":
			return true
		case r.Prefix:
			i, _ := slices.BinarySearch(kc.sorted, r.Key)
			for ; i < len(kc.sorted) && strings.HasPrefix(kc.sorted[i], r.Key); i++ {
				if kc.keys[kc.sorted[i]] > rev {
					return true
				}
			}
		case kc.keys[r.Key] > rev:
			return true
		}
	}
	return false
}
