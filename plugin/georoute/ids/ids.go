// Package ids is the one rule for what may name an edge or a pool, in a package of its own so
// that pure packages (rtt) can check ids without linking the model's DNS and IDNA code.
package ids

import "regexp"

var pattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9_.-]{0,62})$`)

// Rule says what Valid accepts, for error messages.
const Rule = "lower-case letters, digits, '-', '_' and '.', at most 63 characters, starting with a letter or digit"

// Valid reports whether id may name an edge or a pool (Rule).
func Valid(id string) bool { return pattern.MatchString(id) }
