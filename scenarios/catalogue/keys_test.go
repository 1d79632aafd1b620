package catalogue

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mqchaos/mqchaos/harness/report"
)

// Every spec has a key known before it runs, no two specs share one, and
// each key's scenario name is a string the catalogue's code passes to its
// verdict: a table can name a spec that ended without figures.
func TestEverySpecHasAKeyOfItsOwn(t *testing.T) {
	var src strings.Builder
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") && f != "keys.go" {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
	}
	seen := map[Key]string{}
	for _, sc := range All() {
		for _, sp := range sc.Specs {
			k, ok := SpecKey(sc, sp)
			if !ok {
				t.Errorf("%q: no key (figureNames lacks its scenario and case)", sp.FullText(sc))
				continue
			}
			if other, dup := seen[k]; dup {
				t.Errorf("%s: the key of %q and of %q", k, other, sp.FullText(sc))
			}
			seen[k] = sp.FullText(sc)
			if !strings.Contains(src.String(), strconv.Quote(k.Scenario)) {
				t.Errorf("%s: the catalogue's code never names the scenario %q", k, k.Scenario)
			}
		}
	}
}

// A result's key is its figures' when it has figures, the catalogue's
// when it has none, and none for a spec the catalogue does not know.
func TestKeyOfAResult(t *testing.T) {
	sc := All()[0]
	spec := sc.Specs[1].FullText(sc)
	if k, ok := KeyOf(Result{Spec: spec, State: Skipped}); !ok || k != (Key{"fanout", "control: shared-queue"}) {
		t.Errorf("skipped control: %v %v", k, ok)
	}
	if k, _ := KeyOf(Result{Spec: spec, Figures: []report.Figures{{Scenario: "x", Side: "y"}}}); k != (Key{"x", "y"}) {
		t.Errorf("from figures: %v", k)
	}
	if _, ok := KeyOf(Result{Spec: "no such spec"}); ok {
		t.Error("a key for an unknown spec")
	}
}
