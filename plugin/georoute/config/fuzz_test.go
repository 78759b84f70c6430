package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode reads arbitrary bytes as a YAML config file: no panic, an error names the file, and
// what decodes validates without a panic.
func FuzzDecode(f *testing.F) {
	example, err := os.ReadFile("../testdata/georoute.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		good,
		string(example),
		"",
		"edges: [\n",
		"names:\n  www.example.net: {}\n",
		"edges: {a: {addresses: [192.0.2.1], location: {lat: 91, lon: 0}}}\n",
		"a: &a [1, 2]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\nedges: *c\n",
		"defaults: {ttl: !!binary aGVsbG8=}\n",
		"names: {www.example.net: {pool: web}, www.example.net.: {edge: x}}\n",
		"pools: {p: {policy: latency, edges: [x], answers: -1}}\n",
		"rtt: {files: [/etc/passwd, ../x.csv], max_age: 1y}\n",
		"? [a, b]\n: c\n",
		"edges:\n  x:\n    checks: [{type: http, interval: 0s, timeout: -1s, rise: 99999999999999999999}]\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "georoute.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Decode(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			_ = InFile(path, err).Error()
		}
	})
}
