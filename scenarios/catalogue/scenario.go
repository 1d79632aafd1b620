package catalogue

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Scenario is one guarantee of the catalogue as a plain value: its name
// states the guarantee, its labels say what it proves and needs, and its
// specs are the safe side and the controls, each a function that runs
// against a described system and ends with a verdict. A front end runs
// them: Run (the mqchaos command) or the Ginkgo suite in scenarios/.
type Scenario struct {
	Name string
	// Doc says how the scenario goes and what its control breaks.
	Doc string
	// Needs says what a system must have for the scenario to run; a
	// system without it has the scenario skipped, with the reason.
	Needs  string
	Labels []string
	// Serial specs run alone, never beside another spec.
	Serial bool
	Specs  []Spec
}

// Spec is one side of a scenario (the safe side, or a control that must
// be caught), under an optional case (When).
type Spec struct {
	When    string
	Text    string
	Labels  []string // its own; AllLabels adds the scenario's
	Timeout time.Duration
	Run     func(ctx context.Context, t *T)
}

// FullText is the spec's name under its scenario: "Name When Text", as
// Ginkgo writes it.
func (s Spec) FullText(sc Scenario) string {
	return strings.Join(slices.DeleteFunc([]string{sc.Name, s.When, s.Text}, func(p string) bool { return p == "" }), " ")
}

// AllLabels is the spec's labels and its scenario's.
func (s Spec) AllLabels(sc Scenario) []string {
	return append(slices.Clone(sc.Labels), s.Labels...)
}

// Labels are a scenario's or a spec's labels (label sets, as Ginkgo's).
type Labels []string

// Label makes Labels.
func Label(l ...string) Labels { return Labels(l) }

// doc is a scenario's Doc.
type doc string

// Doc says how a scenario goes.
func Doc(s string) doc { return doc(s) }

// needs is a scenario's Needs.
type needs string

// Needs says what a system must have for a scenario to run.
func Needs(s string) needs { return needs(s) }

// specTimeout is how long a spec may run.
type specTimeout time.Duration

// SpecTimeout bounds a spec.
func SpecTimeout(d time.Duration) specTimeout { return specTimeout(d) }

// serial marks a scenario whose specs run alone.
type serial struct{}

// Serial marks a scenario whose specs run alone.
var Serial = serial{}

// decl collects the scenarios as the catalogue's files declare them, in
// the nesting Ginkgo users know: a scenario, cases in it, specs.
type decl struct {
	all  []Scenario
	cur  *Scenario
	when string
}

// Scenario declares a scenario; body declares its specs.
func (d *decl) Scenario(name string, args ...any) {
	sc := Scenario{Name: name}
	var body func()
	for _, a := range args {
		switch v := a.(type) {
		case Labels:
			sc.Labels = append(sc.Labels, v...)
		case serial:
			sc.Serial = true
		case doc:
			sc.Doc = string(v)
		case needs:
			sc.Needs = string(v)
		case func():
			body = v
		}
	}
	d.cur = &sc
	if body != nil {
		body()
	}
	d.all = append(d.all, sc)
	d.cur = nil
}

// When declares a case of the current scenario; body declares its specs.
func (d *decl) When(text string, body func()) {
	d.when = text
	body()
	d.when = ""
}

// It declares a spec of the current scenario (and case).
func (d *decl) It(text string, args ...any) {
	s := Spec{When: d.when, Text: text, Timeout: 5 * time.Minute}
	for _, a := range args {
		switch v := a.(type) {
		case Labels:
			s.Labels = append(s.Labels, v...)
		case specTimeout:
			s.Timeout = time.Duration(v)
		case func(context.Context, *T):
			s.Run = v
		}
	}
	d.cur.Specs = append(d.cur.Specs, s)
}

// All is every scenario of the catalogue, in the catalogue's order. Each
// call makes them anew.
func All() []Scenario {
	d := &decl{}
	for _, declare := range []func(*decl){
		fanout, competingConsumers, duplicateDelivery, poisonMessages, consumerKilled,
		brokerRestart, backlogDrain, networkPartition, connectionsClosed, dependencyOutage,
		longOutage, publisherCrash, halfOpen, brokerAlarm, publishReset, consumerTimeout,
		queueDeleted, unroutable, topologyDrift, httpIdempotency, degradedNetwork, hostileClients,
		orderPerKey, sensitivity, clusterQueue, clusterPartition, clusterServices, soak,
	} {
		declare(d)
	}
	return d.all
}
