package api

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/miekg/dns"
)

// Scope is what a token may do. Each scope includes the ones below it.
type Scope int

// The scopes.
const (
	Read  Scope = iota + 1 // GET
	Write                  // and every change
	Admin                  // and everything a later administrative endpoint adds; never zone-limited
)

// ParseScope reads "read", "write" or "admin".
func ParseScope(s string) (Scope, error) {
	switch strings.ToLower(s) {
	case "read":
		return Read, nil
	case "write":
		return Write, nil
	case "admin":
		return Admin, nil
	}
	return 0, fmt.Errorf("scope %q is not read, write or admin", s)
}

func (s Scope) String() string { return [...]string{"none", "read", "write", "admin"}[s] }

// Token is one bearer token: only its hash is kept, so tokens never reach logs or dumps.
type Token struct {
	hash  [32]byte
	Scope Scope
	Zones []string // nil: every zone
}

// NewToken makes a token of secret with scope, limited to zones when any are given.
func NewToken(secret string, scope Scope, zones []string) (Token, error) {
	if len(secret) < 16 {
		return Token{}, fmt.Errorf("a token must be at least 16 characters long")
	}
	if strings.ContainsAny(secret, " \t\r\n") {
		return Token{}, fmt.Errorf("a token must not contain white space")
	}
	if scope == Admin && len(zones) > 0 {
		return Token{}, fmt.Errorf("an admin token cannot be limited to zones")
	}
	t := Token{hash: sha256.Sum256([]byte(secret)), Scope: scope}
	for _, z := range zones {
		t.Zones = append(t.Zones, dns.CanonicalName(z))
	}
	return t, nil
}

// ReadTokens reads a token file: one token a line, "SECRET SCOPE [ZONE...]"; '#' starts a comment.
func ReadTokens(r io.Reader, name string) ([]Token, error) {
	var out []Token
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return nil, fmt.Errorf("%s:%d: want SECRET SCOPE [ZONE...]", name, line)
		}
		scope, err := ParseScope(f[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		t, err := NewToken(f[0], scope, f[2:])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		out = append(out, t)
	}
	return out, sc.Err()
}

// Auth checks bearer tokens.
type Auth struct {
	tokens []Token
}

// NewAuth returns an Auth that accepts tokens.
func NewAuth(tokens []Token) *Auth { return &Auth{tokens: tokens} }

// Len is how many tokens are accepted.
func (a *Auth) Len() int { return len(a.tokens) }

// token finds the token of r: every token is compared, in constant time, whatever matches.
func (a *Auth) token(r *http.Request) (*Token, *Error) {
	h := r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || secret == "" {
		return nil, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "send Authorization: Bearer <token>"}
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(secret)))
	var found *Token
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].hash[:]) == 1 {
			found = &a.tokens[i]
		}
	}
	if found == nil {
		return nil, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "the token is not valid"}
	}
	return found, nil
}

// allows reports whether t may act with scope on zone ("" for objects outside zones).
func (t *Token) allows(scope Scope, zone string) *Error {
	if t.Scope < scope {
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf("this token's scope is %s; this needs %s", t.Scope, scope)}
	}
	if t.Zones == nil {
		return nil
	}
	if zone == "" {
		if scope == Read {
			return nil
		}
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf("this token is limited to zones %s; edges, pools and RTT reports need a token for every zone", strings.Join(t.Zones, " "))}
	}
	for _, z := range t.Zones {
		if z == zone {
			return nil
		}
	}
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf("this token is limited to zones %s", strings.Join(t.Zones, " "))}
}
