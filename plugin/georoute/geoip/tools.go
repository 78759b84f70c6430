//go:build tools

package geoip

// The fixture generator (../testdata/mkmmdb) lives under testdata, which the go tool ignores; this
// keeps its module required so that `go run ./plugin/georoute/testdata/mkmmdb` works.
import (
	_ "github.com/maxmind/mmdbwriter"
	_ "github.com/maxmind/mmdbwriter/mmdbtype"
)
