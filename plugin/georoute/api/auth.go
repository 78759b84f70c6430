package api

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"slices"
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
	hash   [32]byte
	origin string // file:line, for errors
	Scope  Scope
	Zones  []string // nil: every zone
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
// Its errors name the file and line, never what the line holds: a mistyped line may hold a secret.
func ReadTokens(r io.Reader, name string) ([]Token, error) {
	var out []Token
	seen := map[[32]byte]int{} // hash: line
	sc := bufio.NewScanner(r)
	line := 1
	for ; sc.Scan(); line++ {
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
			if _, swapped := ParseScope(f[0]); swapped == nil {
				return nil, fmt.Errorf("%s:%d: the scope comes first: want SECRET SCOPE [ZONE...]", name, line)
			}
			return nil, fmt.Errorf("%s:%d: the second column is not read, write or admin: want SECRET SCOPE [ZONE...]", name, line)
		}
		for i, z := range f[2:] {
			if _, isScope := ParseScope(z); isScope == nil {
				return nil, fmt.Errorf("%s:%d: column %d is a scope, not a zone: one token a line", name, line, i+3)
			}
			if _, ok := dns.IsDomainName(z); !ok {
				return nil, fmt.Errorf("%s:%d: column %d is not a zone name", name, line, i+3)
			}
		}
		t, err := NewToken(f[0], scope, f[2:])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		if first, dup := seen[t.hash]; dup {
			return nil, fmt.Errorf("%s:%d: the same secret as line %d: list each token once", name, line, first)
		}
		seen[t.hash] = line
		t.origin = fmt.Sprintf("%s:%d", name, line)
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %v", name, line, err)
	}
	return out, nil
}

// CheckTokens reports two tokens with the same secret (from a file and an api_token, say):
// which of them a request gets would be a guess.
func CheckTokens(tokens []Token) error {
	for i := range tokens {
		for j := range i {
			if tokens[i].hash == tokens[j].hash {
				return fmt.Errorf("%s and %s have the same secret: list each token once", tokens[j].describe(), tokens[i].describe())
			}
		}
	}
	return nil
}

func (t *Token) describe() string {
	if t.origin == "" {
		return "an api_token"
	}
	return t.origin
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
// The scheme is case-insensitive (RFC 7235) and may be followed by more than one space.
func (a *Auth) token(r *http.Request) (*Token, *Error) {
	f := strings.Fields(r.Header.Get("Authorization"))
	if len(f) != 2 || !strings.EqualFold(f[0], "Bearer") {
		return nil, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "send Authorization: Bearer <token>"}
	}
	sum := sha256.Sum256([]byte(f[1]))
	var found *Token
	ambiguous := false
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].hash[:]) == 1 {
			ambiguous = ambiguous || found != nil && (found.Scope != a.tokens[i].Scope || !slices.Equal(found.Zones, a.tokens[i].Zones))
			found = &a.tokens[i]
		}
	}
	if found == nil {
		return nil, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "the token is not valid"}
	}
	if ambiguous { // CheckTokens refuses this at start-up; fail closed if it was not called
		return nil, &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "the token is configured twice with different rights"}
	}
	return found, nil
}

// allows reports whether t may act with scope on zone. A zone-limited token reads and changes
// only its zones; zone "" is an object of no zone (edges, pools, RTT), which it may read only.
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
	if !t.inZones(zone) {
		return t.outside()
	}
	return nil
}

// outside is the error of a zone-limited token asking for another zone.
func (t *Token) outside() *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf("this token is limited to zones %s", strings.Join(t.Zones, " "))}
}

// inZones reports whether t may see zone: a token for every zone sees every zone, even "".
func (t *Token) inZones(zone string) bool {
	return t.Zones == nil || slices.Contains(t.Zones, zone)
}
