package catalogue

import (
	"fmt"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/schedule"
)

// Knobs are the sizes a spec lets a replay set: how many units it
// sends, how fast, and how long it holds its fault. A spec exposes a
// size by reading it through T (units, rate, hold) with its own value as
// the default; a run records the sizes each spec used (Result.Knobs), a
// reproduction carries them, and a replay or a shrink sets them again
// (RunOptions.Knobs). A zero field is a size not exposed, or not set.
type Knobs struct {
	Units int               `json:"units,omitempty"`
	Rate  float64           `json:"rate,omitempty"` // units a second
	Hold  schedule.Duration `json:"hold,omitempty"`
}

// Exposed reports whether k holds any size.
func (k Knobs) Exposed() bool { return k != Knobs{} }

func (k Knobs) String() string {
	var parts []string
	if k.Units > 0 {
		parts = append(parts, fmt.Sprintf("%d units", k.Units))
	}
	if k.Rate > 0 {
		parts = append(parts, fmt.Sprintf("%g a second", k.Rate))
	}
	if k.Hold > 0 {
		parts = append(parts, fmt.Sprintf("held %s", time.Duration(k.Hold)))
	}
	if len(parts) == 0 {
		return "no sizes"
	}
	return strings.Join(parts, ", ")
}

// units is the spec's number of units: the run's knob if set, else def.
func (t *T) units(def int) int {
	n := def
	if t.env.Knobs.Units > 0 {
		n = t.env.Knobs.Units
	}
	t.knobs.Units = n
	return n
}

// rate is the spec's units a second: the run's knob if set, else def.
func (t *T) rate(def float64) float64 {
	r := def
	if t.env.Knobs.Rate > 0 {
		r = t.env.Knobs.Rate
	}
	t.knobs.Rate = r
	return r
}

// hold is how long the spec holds its fault: the run's knob if set, else
// def.
func (t *T) hold(def time.Duration) time.Duration {
	h := def
	if t.env.Knobs.Hold > 0 {
		h = time.Duration(t.env.Knobs.Hold)
	}
	t.knobs.Hold = schedule.Duration(h)
	return h
}

// Knobs are the sizes the spec used, of those it exposes.
func (t *T) Knobs() Knobs { return t.knobs }
