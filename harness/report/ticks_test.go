package report

import (
	"slices"
	"testing"
)

// TestPlainTicksReadAsWritten: the readiness chart's axis (0 to 1.3) was
// labelled "1.2000000000000002"; a label is the tick's value as a person
// writes it, and no label is lost.
func TestPlainTicksReadAsWritten(t *testing.T) {
	for _, c := range []struct {
		min, max float64
		want     []string
	}{
		{0, 1.3, []string{"0", "0.4", "0.8", "1.2"}},
		{0, 5400, []string{"0", "2500", "5000"}},
		{0, 125, []string{"0", "40", "80", "120"}},
	} {
		var got []string
		for _, tk := range (plainTicks{}).Ticks(c.min, c.max) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("ticks of %g to %g labelled %q, want %q", c.min, c.max, got, c.want)
		}
	}
}
