package system

import (
	"fmt"
	"strings"
)

// When an invariant must hold.
const (
	// Always: at every check during a run (every few seconds, faults
	// and all) and at its end.
	Always = "always"
	// AtEnd: once the run is over, every fault healed and the system
	// settled.
	AtEnd = "at_end"
)

// Invariant is a condition on the system's state that must hold, whatever
// the system: "stock never negative", "no order left pending". The harness
// reads rows (a JSON array from an HTTP GET, or a SQL query's rows keyed
// by column) and judges them with exactly one condition:
//
//   - Field with Min and/or Max: every row has Field (a dotted path), a
//     number within them;
//   - None: no row is returned at all.
//
// A check that cannot read its rows (the service is down mid-fault) has
// an unknown outcome, not a broken one.
type Invariant struct {
	Name    string `yaml:"name"`    // how verdicts call it
	Service string `yaml:"service"` // whose state it is
	// Exactly one source.
	HTTP *RowsHTTP  `yaml:"http"`
	SQL  *SQLEffect `yaml:"sql"`
	// The condition.
	Field string   `yaml:"field"`
	Min   *float64 `yaml:"min"`
	Max   *float64 `yaml:"max"`
	None  bool     `yaml:"none"`
	// When is Always (the default) or AtEnd.
	When string `yaml:"when"`
}

// RowsHTTP is a GET returning a JSON array of objects, one per row.
type RowsHTTP struct {
	Service string `yaml:"service"` // default: the invariant's service
	Path    string `yaml:"path"`
	Items   string `yaml:"items"` // dotted path to the array; default: the body
}

// Condition says what inv demands of its rows, in words: "no row",
// "quantity ≥ 0", "0 ≤ lag ≤ 5".
func (inv Invariant) Condition() string {
	if inv.None {
		return "no row"
	}
	switch {
	case inv.Min != nil && inv.Max != nil:
		return fmt.Sprintf("%g ≤ %s ≤ %g", *inv.Min, inv.Field, *inv.Max)
	case inv.Min != nil:
		return fmt.Sprintf("%s ≥ %g", inv.Field, *inv.Min)
	case inv.Max != nil:
		return fmt.Sprintf("%s ≤ %g", inv.Field, *inv.Max)
	}
	return inv.Field
}

// InvariantsWhen lists the invariants to check at a moment: during the
// run (Always), or at its end (every invariant).
func (s *System) InvariantsWhen(when string) []Invariant {
	var out []Invariant
	for _, inv := range s.Invariants {
		if when == AtEnd || inv.When == when {
			out = append(out, inv)
		}
	}
	return out
}

func (s *System) setInvariantDefaults() {
	for i := range s.Invariants {
		inv := &s.Invariants[i]
		if inv.When == "" {
			inv.When = Always
		}
		if inv.HTTP != nil && inv.HTTP.Service == "" {
			inv.HTTP.Service = inv.Service
		}
	}
}

func (s *System) checkInvariants(bad func(string, string, ...any)) {
	names := map[string]bool{}
	for i, inv := range s.Invariants {
		f := fmt.Sprintf("invariants[%d]", i)
		if inv.Name != "" {
			f = fmt.Sprintf("invariants[%s]", inv.Name)
		}
		switch {
		case inv.Name == "":
			bad(f+".name", "missing")
		case names[inv.Name]:
			bad(f+".name", "%q declared twice", inv.Name)
		}
		names[inv.Name] = true
		if s.Service(inv.Service) == nil {
			bad(f+".service", "%q is not a declared service", inv.Service)
		}
		switch {
		case inv.HTTP != nil && inv.SQL != nil, inv.HTTP == nil && inv.SQL == nil:
			bad(f, "set exactly one of http and sql")
		case inv.HTTP != nil:
			if svc := s.Service(inv.HTTP.Service); svc == nil {
				bad(f+".http.service", "%q is not a declared service", inv.HTTP.Service)
			} else if svc.Port == 0 {
				bad(f+".http.service", "%q has no port", inv.HTTP.Service)
			}
			if !strings.HasPrefix(inv.HTTP.Path, "/") {
				bad(f+".http.path", "%q: want a path starting with /", inv.HTTP.Path)
			}
		case inv.SQL != nil:
			if !s.HasDatabase() {
				bad(f+".sql", "the system has no database")
			}
			if strings.TrimSpace(inv.SQL.Query) == "" {
				bad(f+".sql.query", "missing")
			}
		}
		bounded := inv.Min != nil || inv.Max != nil
		switch {
		case inv.None && (inv.Field != "" || bounded):
			bad(f, "set either none or a field with min and/or max, not both")
		case !inv.None && inv.Field == "":
			bad(f, "no condition: set none: true (no row may be returned), or a field with min and/or max")
		case !inv.None && !bounded:
			bad(f+".field", "%q has no bound: set min, max or both", inv.Field)
		case inv.Min != nil && inv.Max != nil && *inv.Min > *inv.Max:
			bad(f+".min", "%g is above max %g", *inv.Min, *inv.Max)
		}
		if inv.When != Always && inv.When != AtEnd {
			bad(f+".when", "%q: want %s or %s", inv.When, Always, AtEnd)
		}
	}
}
