package ids

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"fra1", true},
		{"eu-west.edge_2", true},
		{"0", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"Fra1", false},
		{"-fra1", false},
		{".fra1", false},
		{"fra 1", false},
		{"fra1\n", false},
		{"\"fra1\"", false},
		{"frä1", false},
	} {
		if got := Valid(tc.id); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}
