//go:build !unix

package geoip

import "os"

// readFile reads the file at path into memory; free is for the unix version's mapping.
func readFile(path string) (mem []byte, free func(), err error) {
	mem, err = os.ReadFile(path)
	return mem, func() {}, err
}
