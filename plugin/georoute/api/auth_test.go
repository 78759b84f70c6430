package api

import (
	"strings"
	"testing"
)

const secret = "s3cr3t-0123456789abcdef"

// TestReadTokensNeverQuotesSecrets: a mistyped token file is a start-up error that names the
// file and line, never what the line holds.
func TestReadTokensNeverQuotesSecrets(t *testing.T) {
	tests := []struct {
		name, file, want string
	}{
		{"columns swapped", "read " + secret, "tokens:1: the scope comes first"},
		{"not a scope", "# comment\n" + secret + " wirte", "tokens:2: the second column is not read, write or admin"},
		{"no scope", secret, "tokens:1: want SECRET SCOPE"},
		{"twice, other scope", secret + " read\n\n" + secret + " write", "tokens:3: the same secret as line 1"},
		{"twice, same scope", secret + " read\n" + secret + " read example.org", "tokens:2: the same secret as line 1"},
		{"two on a line", "o-0123456789abcdef0123 read " + secret + " write", "tokens:1: column 4 is a scope, not a zone"},
		{"not a zone", secret + " read example..org", "tokens:1: column 3 is not a zone name"},
		{"short", "s3cr3t read", "tokens:1: a token must be at least 16 characters long"},
		{"admin limited", secret + " admin example.org", "tokens:1: an admin token cannot be limited to zones"},
		{"line too long", secret + " read " + strings.Repeat("a", 70000), "tokens:1: bufio.Scanner: token too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTokens(strings.NewReader(tc.file), "tokens")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q", err, tc.want)
			}
			for _, s := range []string{secret, "s3cr3t", "0123456789abcdef"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q holds the secret", err)
				}
			}
		})
	}
}

func TestReadTokens(t *testing.T) {
	ts, err := ReadTokens(strings.NewReader("# tokens\n"+secret+" READ  # read-only\n\nw-0123456789abcdef0123 write example.org Example.NET.\n"), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 || ts[0].Scope != Read || ts[0].Zones != nil || ts[1].Scope != Write || strings.Join(ts[1].Zones, " ") != "example.org. example.net." {
		t.Errorf("tokens %+v", ts)
	}
}

// TestCheckTokens: the same secret from a file and from an api_token is a start-up error.
func TestCheckTokens(t *testing.T) {
	file, err := ReadTokens(strings.NewReader("w-0123456789abcdef0123 write\n"+secret+" read\n"), "tokens")
	if err != nil {
		t.Fatal(err)
	}
	env, _ := NewToken(secret, Write, nil)
	if err := CheckTokens(file); err != nil {
		t.Errorf("distinct tokens: %v", err)
	}
	err = CheckTokens(append(file, env))
	if err == nil || err.Error() != "tokens:2 and an api_token have the same secret: list each token once" {
		t.Errorf("error %v", err)
	}
}
