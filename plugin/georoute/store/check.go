package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
)

// A damaged bbolt file crashes the process: bbolt reads it through a memory map, so a file
// shorter than its pages faults (SIGBUS/SIGSEGV), and garbage in a page panics, sometimes in a
// goroutine bbolt starts itself where nothing can recover. So the file is checked before bbolt
// opens it (its meta pages and its length), every read of it runs where a fault becomes an
// error (protect), and the whole tree is read once (LoadAll, at start-up) before the first write
// has bbolt walk it in its own goroutine.

// damaged is the error for a store file that cannot be trusted.
func damaged(path string, why string) error {
	return fmt.Errorf("store %s is damaged (%s): nothing was read from it. Restore the last good copy "+
		"of the file (copy it while the server is stopped), or move it away to start with an empty store "+
		"and write the zones, edges, pools and names again", path, why)
}

// bbolt's meta page, as laid out after a page header of 16 bytes.
const (
	boltMagic   = 0xED0CDAED
	boltVersion = 2
	pageHeader  = 16
	metaSize    = 64 // magic, version, pageSize, flags, root (16), freelist, pgid, txid, checksum
)

type boltMeta struct {
	pageSize uint32
	pgid     uint64 // the high-water mark: pages 0..pgid-1 are in the file
	txid     uint64
}

// readMeta decodes a meta page, or reports why it is not one.
func readMeta(b []byte) (boltMeta, error) {
	if len(b) < pageHeader+metaSize {
		return boltMeta{}, errors.New("short meta page")
	}
	m := b[pageHeader : pageHeader+metaSize]
	le := binary.LittleEndian
	if le.Uint32(m[0:]) != boltMagic {
		return boltMeta{}, errors.New("not a bbolt file")
	}
	if le.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, fmt.Errorf("bbolt version %d", le.Uint32(m[4:]))
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != le.Uint64(m[56:]) {
		return boltMeta{}, errors.New("meta page checksum mismatch")
	}
	return boltMeta{pageSize: le.Uint32(m[8:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}, nil
}

// checkFile refuses a store file that bbolt would crash on or misread: empty, without a valid
// meta page, or shorter than its meta says. A missing file is fine: it is created.
func checkFile(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("store %s: %v", path, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("store %s is not a regular file", path)
	case fi.Size() == 0:
		return damaged(path, "it is empty, 0 bytes, though georoute never leaves a store empty: it was truncated")
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store %s: %v", path, err)
	}
	defer f.Close()
	first := make([]byte, pageHeader+metaSize)
	if _, err := io.ReadFull(f, first); err != nil {
		return damaged(path, fmt.Sprintf("%d bytes, shorter than a meta page", fi.Size()))
	}
	m0, err0 := readMeta(first)
	size := uint32(os.Getpagesize())
	if err0 == nil {
		size = m0.pageSize
	}
	second := make([]byte, pageHeader+metaSize)
	_, err1 := f.ReadAt(second, int64(size))
	var m1 boltMeta
	if err1 == nil {
		m1, err1 = readMeta(second)
	}
	var m boltMeta
	switch {
	case err0 != nil && err1 != nil:
		return damaged(path, fmt.Sprintf("no valid meta page: %v; %v", err0, err1))
	case err1 != nil || err0 == nil && m0.txid >= m1.txid:
		m = m0
	default:
		m = m1
	}
	if m.pageSize < 512 || m.pageSize > 1<<20 {
		return damaged(path, fmt.Sprintf("a page size of %d", m.pageSize))
	}
	if need := int64(m.pgid) * int64(m.pageSize); need > fi.Size() {
		return damaged(path, fmt.Sprintf("%d bytes where its pages need %d: it was truncated", fi.Size(), need))
	}
	return nil
}

// protect runs f where a fault reading the mapped file, or a panic in bbolt, becomes an error.
func protect(path string, f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if rec := recover(); rec != nil {
			err = damaged(path, fmt.Sprint(rec))
		}
	}()
	return f()
}
