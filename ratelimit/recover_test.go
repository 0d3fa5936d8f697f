package ratelimit

import (
	"fmt"
	"strings"
	"testing"
)

// TestFactorOverTime follows the pace factor through a sequence of answers:
// 'x' a 429 that counts (Slowed), '.' an answer without one (Climb).
func TestFactorOverTime(t *testing.T) {
	tests := []struct {
		name  string
		steps string
		want  string // the factor after each step
	}{
		{"clean at full pace stays", "...", "1 1 1"},
		{"one 429 then back in 8 answers", "x........", "0.8 0.8 0.85 0.85 0.9 0.9 0.95 0.95 1"},
		{"no higher than the configured pace", "x..........", "0.8 0.8 0.85 0.85 0.9 0.9 0.95 0.95 1 1 1"},
		{"a 429 mid-climb restarts the count", "x...x..", "0.8 0.8 0.85 0.85 0.68 0.68 0.73"},
		{"two 429s in a row", "xx....", "0.8 0.64 0.64 0.69 0.69 0.74"},
		{"never below a quarter", "xxxxxxxx..", "0.8 0.64 0.512 0.4096 0.32768 0.262144 0.25 0.25 0.25 0.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clean := 1.0, 0
			var got []string
			for _, s := range tt.steps {
				switch s {
				case 'x':
					f, clean = Slowed(f), 0
				case '.':
					f, clean = Climb(f, clean)
				}
				got = append(got, fmt.Sprint(roundFactor(f)))
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("factors after %q:\n got %s\nwant %s", tt.steps, g, tt.want)
			}
		})
	}
}
