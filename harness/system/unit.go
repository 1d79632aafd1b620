package system

import (
	"math/rand/v2"
	"strings"
	"sync"
	"text/template"
)

// Unit is what an input's templates see: one unit of work.
type Unit struct {
	ID      string // the unit's id, unique in a run: "fanout-safe-0007"
	Seq     int    // 1, 2, ...
	EventID string // a fresh UUID per rendering, for message ids
	Now     string // the time of rendering, RFC 3339 in UTC
	Step    string // the step's name, for an input with steps
}

// UnitFuncs are the functions an input's templates may call, drawing from
// rng (the same seed gives the same choices): pick "a" "b" chooses one of
// its arguments, intn 1 3 an integer from 1 to 3. With a nil rng they
// always pick the first and the lowest (for parsing and checks).
func UnitFuncs(rng *rand.Rand) template.FuncMap {
	return template.FuncMap{
		"pick": func(choices ...string) string {
			if len(choices) == 0 {
				return ""
			}
			if rng == nil {
				return choices[0]
			}
			return choices[rng.IntN(len(choices))]
		},
		"intn": func(lo, hi int) int {
			if rng == nil || hi <= lo {
				return lo
			}
			return lo + rng.IntN(hi-lo+1)
		},
	}
}

// RenderUnit executes an input's template for u, drawing from rng. It is
// safe for concurrent use. Each text is parsed once (unitTemplates) and
// cloned per call to bind rng: parsing was a quarter of a recorded
// publisher's CPU (docs/measurements/2026-12-03-bench.md).
func RenderUnit(text string, u Unit, rng *rand.Rand) (string, error) {
	parsed, ok := unitTemplates.Load(text)
	if !ok {
		t, err := template.New("").Option("missingkey=error").Funcs(UnitFuncs(nil)).Parse(text)
		if err != nil {
			return "", err
		}
		parsed, _ = unitTemplates.LoadOrStore(text, t)
	}
	t, err := parsed.(*template.Template).Clone()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Funcs(UnitFuncs(rng)).Execute(&b, u); err != nil {
		return "", err
	}
	return b.String(), nil
}

// unitTemplates holds the parsed unit templates by their text: the
// inputs' templates of the systems a process loaded, a handful.
var unitTemplates sync.Map
