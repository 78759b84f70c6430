package route53

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/georoute/appliance/plugin/georoute/api/sigv4"
)

// minSecret bounds a secret's length from below: AWS's secrets have 40 characters.
const minSecret = 16

// NewKey checks an access key pair, limited to zones when any are given.
func NewKey(accessKeyID, secret string, zones []string) (sigv4.Key, error) {
	switch {
	case accessKeyID == "":
		return sigv4.Key{}, fmt.Errorf("an access key id is needed")
	case len(secret) < minSecret:
		return sigv4.Key{}, fmt.Errorf("the secret of access key %s must be at least %d characters long", accessKeyID, minSecret)
	case strings.ContainsAny(secret, " \t\r\n"):
		return sigv4.Key{}, fmt.Errorf("the secret of access key %s must not contain white space", accessKeyID)
	}
	k := sigv4.Key{AccessKeyID: accessKeyID, Secret: secret}
	for _, z := range zones {
		origin, err := zoneName(z)
		if err != nil {
			return sigv4.Key{}, fmt.Errorf("access key %s: zone %q is not a domain name", accessKeyID, z)
		}
		k.Zones = append(k.Zones, origin)
	}
	return k, nil
}

// ReadKeys reads a key file: one key a line, "ACCESS_KEY_ID SECRET [ZONE...]"; '#' starts a comment.
func ReadKeys(r io.Reader, name string) ([]sigv4.Key, error) {
	var out []sigv4.Key
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("%s:%d: want ACCESS_KEY_ID SECRET [ZONE...]", name, line)
		}
		k, err := NewKey(f[0], f[1], f[2:])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		out = append(out, k)
	}
	return out, sc.Err()
}
