package catalogue

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mqchaos/mqchaos/harness/system"
)

// Every spec of the catalogue is a side that can run: it has a body, a
// timeout, a name no other spec has, and is the safe side or a control
// (the soak, the one spec that is either by its settings, aside).
func TestEverySpecIsASideThatCanRun(t *testing.T) {
	seen := map[string]bool{}
	n := 0
	for _, sc := range All() {
		if sc.Name == "" || len(sc.Specs) == 0 {
			t.Errorf("scenario %q has no name or no spec", sc.Name)
		}
		for _, sp := range sc.Specs {
			n++
			name := sp.FullText(sc)
			if sp.Run == nil || sp.Timeout <= 0 {
				t.Errorf("%s: no body or no timeout", name)
			}
			if seen[name] {
				t.Errorf("%s: declared twice", name)
			}
			seen[name] = true
			labels := sp.AllLabels(sc)
			if !slices.Contains(labels, "safe") && !slices.Contains(labels, "unsafe") && !slices.Contains(labels, "soak") {
				t.Errorf("%s: neither safe nor unsafe", name)
			}
		}
	}
	if n < 50 {
		t.Errorf("%d specs, want the catalogue's 50 and more", n)
	}
}

// A run picks specs by their full text and by a label filter, as ginkgo's
// --focus and --label-filter do.
func TestSelectByNameAndLabels(t *testing.T) {
	all := All()
	got, err := Select(all, regexp.MustCompile(`^Broker restart`), "safe")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Scenario.Name[:14] != "Broker restart" || !slices.Contains(got[0].Spec.Labels, "safe") {
		t.Errorf("picked %+v, want broker restart's safe side alone", got)
	}
	every, _ := Select(all, nil, "")
	noCluster, _ := Select(all, nil, "!soak && !cluster")
	if len(noCluster) >= len(every) || len(noCluster) == 0 {
		t.Errorf("the filter kept %d of %d", len(noCluster), len(every))
	}
	if _, err := Select(all, nil, "safe &&"); err == nil {
		t.Error("a bad label filter was accepted")
	}
}

// A spec's name says the control it asks the system for, so the list of
// controls the catalogue asks for (ControlsAsked) is read from the names:
// planned against the reference system, each spec asks for exactly the
// controls its name gives.
func TestEachSpecNamesTheControlItAsksFor(t *testing.T) {
	sys, err := system.Load("../../systems/reference/system.yaml")
	if err != nil {
		t.Fatal(err)
	}
	all := All()
	picked, _ := Select(all, nil, "")
	for _, p := range CheckAll(sys, picked) {
		named := controls(Scenario{Specs: []Spec{p.Spec}})
		if !slices.Equal(named, p.Controls) {
			t.Errorf("%s: named %v, asked for %v", p.Spec.FullText(p.Scenario), named, p.Controls)
		}
	}
	if asked := ControlsAsked(all); len(asked) < 15 {
		t.Errorf("controls asked: %v", asked)
	}
}

// docs/catalogue.md is the page the scenarios write: when a scenario
// changes, `mqchaos catalogue > docs/catalogue.md` writes it anew.
func TestCataloguePageIsCurrent(t *testing.T) {
	committed, err := os.ReadFile("../../docs/catalogue.md")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	WritePage(&b, All())
	if b.String() != string(committed) {
		t.Errorf("docs/catalogue.md is stale: run `go run ./cmd/mqchaos catalogue > docs/catalogue.md`")
	}
}

// The scenarios that time a service's notice of a broken link by its
// readiness going false skip, saying why, a service whose readiness is a
// log line; with it over HTTP they run.
func TestReadinessByLogLineSkipsWhatTimesItsDrop(t *testing.T) {
	sys, err := system.Load("../../systems/reference/system.yaml")
	if err != nil {
		t.Fatal(err)
	}
	picked, _ := Select(All(), regexp.MustCompile(`half-open|Connections reset while publishing`), "")
	if len(picked) < 3 {
		t.Fatalf("picked %d specs", len(picked))
	}
	for _, p := range CheckAll(sys, picked) {
		if !p.Runs {
			t.Errorf("%s, readiness over HTTP: skipped (%s)", p.Spec.FullText(p.Scenario), p.Reason)
		}
	}
	for i := range sys.Services {
		sys.Services[i].Ready = system.Ready{Log: "started"}
	}
	for _, p := range CheckAll(sys, picked) {
		if p.Runs || !strings.Contains(p.Reason, "readiness is a log line, which cannot go false") {
			t.Errorf("%s, readiness by a log line: runs %t (%s)", p.Spec.FullText(p.Scenario), p.Runs, p.Reason)
		}
	}
}
