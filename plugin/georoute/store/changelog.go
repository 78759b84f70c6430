package store

import (
	"encoding/binary"
	"errors"
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

// EncodeOps is the change log entry of ops (the etcd store keeps the same).
func EncodeOps(ops []Op) []byte {
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

// DecodeOps is the inverse of EncodeOps. The values share b's memory.
func DecodeOps(b []byte) ([]Op, error) {
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
