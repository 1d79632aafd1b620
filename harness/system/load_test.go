package system_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/system"
)

func TestTheShippedDescriptionsLoad(t *testing.T) {
	paths, _ := filepath.Glob("../../systems/*/system.yaml")
	if len(paths) == 0 {
		t.Fatal("no description found under systems/")
	}
	for _, p := range paths {
		s, err := system.Load(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if len(s.Services) == 0 || len(s.Effects) == 0 {
			t.Errorf("%s: loaded empty", p)
		}
	}
}

const minimal = `
name: shop
services:
  - name: worker
    image: shop/worker:1
    port: 8080
    ready: {http: /health}
    consumes: [{queue: jobs, dead_letter: jobs.dlq}]
inputs:
  job:
    amqp: {exchange: "", routing_key: jobs, body: '{"id": "{{.ID}}"}', queues: [jobs]}
effects:
  - service: worker
    log: {pattern: 'done (\S+)'}
`

func TestMinimalDescriptionGetsDefaults(t *testing.T) {
	s, err := system.Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if s.Database != "none" || s.Services[0].Replicas != 1 || s.Inputs["job"].AMQP.MessageID != "{{.EventID}}" || s.Effects[0].Log.Service != "worker" {
		t.Errorf("defaults not set: %+v", s)
	}
}

// Every malformed description is refused with the field and what is wrong.
func TestMalformedDescriptionsNameTheField(t *testing.T) {
	cases := []struct {
		name, from, to string
		want           []string
	}{
		{"no name", "name: shop", "", []string{"name: missing"}},
		{"bad database", "name: shop", "name: shop\ndatabase: mysql", []string{`database: "mysql": want postgres or none`}},
		{"service without image", "image: shop/worker:1", "", []string{"services[worker].image: missing"}},
		{"bad service name", "name: worker", "name: Worker_1", []string{`services[Worker_1].name: "Worker_1": want lowercase`}},
		{"negative replicas", "port: 8080", "port: 8080\n    replicas: -1", []string{"services[worker].replicas: -1: want 1 or more"}},
		{"unknown ulimit", "port: 8080", "port: 8080\n    ulimits: {files: 1024, nofile: 0}", []string{"services[worker].ulimits.files: not a limit Docker knows: want one of core,", "services[worker].ulimits.nofile: 0: want 1 or more"}},
		{"ready path without port", "    port: 8080\n", "", []string{"services[worker].ready.http: needs the service's port"}},
		{"two readiness checks", "ready: {http: /health}", "ready: {http: /health, tcp: 8080}", []string{"services[worker].ready: set one of http, tcp and log"}},
		{"bad env template", "port: 8080", "port: 8080\n    env: {URL: '{{.Nope}}'}", []string{"services[worker].env.URL:"}},
		{"input without id", `'{"id": "{{.ID}}"}'`, `'{}'`, []string{"inputs.job.amqp.body: the id appears nowhere"}},
		{"input to an unconsumed queue", "queues: [jobs]", "queues: [other]", []string{`inputs.job.amqp.queues: "other" is consumed by no declared service`}},
		{"input with both kinds", "amqp: {", "http: {service: worker, path: /x, body: '{{.ID}}'}\n    amqp: {", []string{"inputs.job: set only one of http and amqp"}},
		{"bad body template", `'{"id": "{{.ID}}"}'`, `'{{.ID'`, []string{"inputs.job.amqp.body:"}},
		{"effect of an unknown service", "  - service: worker\n    log", "  - service: ghost\n    log", []string{`effects[0].service: "ghost" is not a declared service`}},
		{"effect pattern without group", `'done (\S+)'`, `'done'`, []string{`effects[0].log.pattern: "done" has no group`}},
		{"effect with no source", "    log: {pattern: 'done (\\S+)'}\n", "", []string{"effects[0]: set exactly one of http, log and sql"}},
		{"sql effect without database", "    log: {pattern: 'done (\\S+)'}\n", "    sql: {query: select id from done}\n", []string{"effects[0].sql: the system has no database"}},
		{"conflicts without a source", "name: shop", "name: shop\nconflicts: {service: worker}", []string{"conflicts: set exactly one of http, log and sql"}},
		{"unknown field", "name: shop", "name: shop\nbrokers: 3", []string{"field brokers not found"}},
		{"control for an unknown service", "name: shop", "name: shop\ncontrols: {auto-ack: {env: {ghost: {X: '1'}}}}", []string{`controls.auto-ack.env: "ghost" is not a declared service`}},
		{"invariant without name or source", "name: shop", "name: shop\ninvariants: [{service: worker, field: n, min: 0}]", []string{"invariants[0].name: missing", "invariants[0]: set exactly one of http and sql"}},
		{"invariant of an unknown service", "name: shop", "name: shop\ninvariants: [{name: x, service: ghost, http: {path: /x}, none: true}]", []string{`invariants[x].service: "ghost" is not a declared service`, `invariants[x].http.service: "ghost" is not a declared service`}},
		{"invariant with a bad path", "name: shop", "name: shop\ninvariants: [{name: x, service: worker, http: {path: x}, none: true}]", []string{`invariants[x].http.path: "x": want a path starting with /`}},
		{"invariant with two sources", "name: shop", "name: shop\ninvariants: [{name: x, service: worker, http: {path: /x}, sql: {query: select 1}, none: true}]", []string{"invariants[x]: set exactly one of http and sql"}},
		{"sql invariant without database", "name: shop", "name: shop\ninvariants: [{name: x, service: worker, sql: {query: select 1}, none: true}]", []string{"invariants[x].sql: the system has no database"}},
		{"invariant without condition", "name: shop", "name: shop\ninvariants: [{name: x, service: worker, http: {path: /x}}]", []string{"invariants[x]: no condition"}},
		{"invariant field without bound", "name: shop", "name: shop\ninvariants: [{name: x, service: worker, http: {path: /x}, field: n}]", []string{`invariants[x].field: "n" has no bound`}},
		{"invariant with both conditions", "name: shop", "name: shop\ninvariants: [{name: x, service: worker, http: {path: /x}, field: n, min: 0, none: true}]", []string{"invariants[x]: set either none or a field"}},
		{"invariant min above max", "name: shop", "name: shop\ninvariants: [{name: x, service: worker, http: {path: /x}, field: n, min: 5, max: 1}]", []string{"invariants[x].min: 5 is above max 1"}},
		{"invariant at a bad time", "name: shop", "name: shop\ninvariants: [{name: x, service: worker, http: {path: /x}, none: true, when: sometimes}]", []string{`invariants[x].when: "sometimes": want always or at_end`}},
		{"build source outside the context", "    port: 8080\n", "    port: 8080\n    build: {context: ., sources: [go.mod, ../lib/**, /etc/x, 'a/[']}\n", []string{`services[worker].build.sources[1]: "../lib/**": want a clean path`, `services[worker].build.sources[2]: "/etc/x": want a path relative`, `services[worker].build.sources[3]: "a/[": malformed glob`}},
		{"empty control", "name: shop", "name: shop\ncontrols: {no-acks: {description: x}}", []string{"controls.no-acks: empty: set env, image or command"}},
		{"control image for every service", "name: shop", "name: shop\ncontrols: {no-acks: {image: {'*': shop/worker:unsafe}}}", []string{`controls.no-acks.image.*: "*": name each service`}},
		{"control image of an unknown service", "name: shop", "name: shop\ncontrols: {no-acks: {image: {ghost: shop/worker:unsafe}}}", []string{`controls.no-acks.image.ghost: "ghost" is not a declared service`}},
		{"control with an empty image", "name: shop", "name: shop\ncontrols: {no-acks: {image: {worker: ''}}}", []string{"controls.no-acks.image.worker: empty: want an image name"}},
		{"control with an empty command", "name: shop", "name: shop\ncontrols: {no-acks: {command: {worker: []}}}", []string{"controls.no-acks.command.worker: empty: want the command"}},
		{"control build without its image", "name: shop", "name: shop\ncontrols: {no-acks: {command: {worker: [x]}, build: {worker: {context: ., sources: [../x]}}}}", []string{"controls.no-acks.build.worker: builds no image: set controls.no-acks.image.worker", `controls.no-acks.build.worker.sources[0]: "../x": want a clean path`}},
		{"control build without context", "name: shop", "name: shop\ncontrols: {no-acks: {image: {worker: a}, build: {worker: {dockerfile: D}}}}", []string{"controls.no-acks.build.worker.context: missing"}},
		{"unknown delivery", "  - service: worker\n", "  - service: worker\n    delivery: maybe-once\n", []string{`effects[0].delivery: "maybe-once": want exactly-once or at-least-once`}},
		{"unknown replicas", "    log: {pattern: 'done (\\S+)'}\n", "    http: {path: /done, replicas: all}\n", []string{`effects[0].http.replicas: "all": want shared`, "or each (each shows its own)"}},
		{"id list with fields", "    log: {pattern: 'done (\\S+)'}\n", "    http: {path: /done, where: {k: v}, at: t}\n", []string{"effects[0].http.where: needs id", "effects[0].http.at: needs id"}},
		{"one step", `queues: [jobs]}`, `queues: [jobs], steps: [{name: a}]}`, []string{"inputs.job.amqp.steps: one step"}},
		{"steps without names or ids", `body: '{"id": "{{.ID}}"}', queues: [jobs]}`, `body: '{}', queues: [jobs], steps: [{name: a}, {body: '{{.ID}}'}, {name: a, body: '{{.ID}}'}]}`, []string{"inputs.job.amqp.steps[0].body: the id appears nowhere", "inputs.job.amqp.steps[1].name: missing", `inputs.job.amqp.steps[2].name: "a" is another step's name too`}},
		{"order of a log", "    log: {pattern: 'done (\\S+)'}\n", "    log: {pattern: 'done (\\S+)'}\n    order: [a, b]\n", []string{"effects[0].order: needs an http or sql source"}},
		{"order without inputs with steps", "  - service: worker\n", "  - service: worker\n    order: [a, b]\n", []string{"effects[0].inputs: missing"}},
		{"order of an input without steps", "  - service: worker\n", "  - service: worker\n    inputs: [job]\n    order: [a, b]\n", []string{`effects[0].inputs: "job" has no steps`}},
		{"order without step", "    log: {pattern: 'done (\\S+)'}\n", "    http: {path: /done, id: id}\n    order: [a, a]\n", []string{`effects[0].order: "a": want distinct`, "effects[0].http.step: missing"}},
		{"order of each replica", "    log: {pattern: 'done (\\S+)'}\n", "    http: {path: /done, id: id, step: s, replicas: each}\n    order: [a, b]\n", []string{"effects[0].order: needs one list in the order applied"}},
		{"step without order", "    log: {pattern: 'done (\\S+)'}\n", "    http: {path: /done, id: id, step: s}\n", []string{"effects[0].http.step: without order"}},
		{"recovery of an unknown fault", "name: shop", "name: shop\nrecovery: {meteor: {ready: 10s}}", []string{"recovery.meteor: not a kind of fault with a recovery budget: want one of consumer-timeout, half-open"}},
		{"recovery with a bad duration", "name: shop", "name: shop\nrecovery: {half-open: {ready: soon, drained: -5s}}", []string{`recovery.half-open.ready: "soon": want a duration such as 30s or 2m`, `recovery.half-open.drained: "-5s": want more than 0`}},
		{"empty recovery budget", "name: shop", "name: shop\nrecovery: {half-open: {}}", []string{"recovery.half-open: empty: set ready, drained or both"}},
		{"invariant named twice", "name: shop", "name: shop\ninvariants: [{name: x, service: worker, http: {path: /x}, none: true}, {name: x, service: worker, http: {path: /y}, none: true}]", []string{`invariants[x].name: "x" declared twice`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := strings.Replace(minimal, c.from, c.to, 1)
			if text == minimal {
				t.Fatalf("the case changed nothing: %q not found", c.from)
			}
			_, err := system.Parse([]byte(text))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "system.yaml")
	if err := os.WriteFile(p, []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := system.Load(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "services: none declared") {
		t.Errorf("got %v", err)
	}
}

func TestUnitTemplatesDrawFromTheSeed(t *testing.T) {
	u := system.Unit{ID: "a-1"}
	text := `{{.ID}} {{pick "x" "y" "z"}} {{intn 1 9}}`
	a, err := system.RenderUnit(text, u, newRand(7))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := system.RenderUnit(text, u, newRand(7))
	if a != b || !strings.HasPrefix(a, "a-1 ") {
		t.Errorf("same seed gave %q and %q", a, b)
	}
}

// A template is parsed once and cached: each rendering must still draw
// from its own rng, also when rendered concurrently.
func TestUnitTemplatesDrawFromEachCallsRng(t *testing.T) {
	text := `{{.ID}} {{pick "x" "y" "z"}} {{intn 1 1000}}`
	want := map[uint64]string{}
	for seed := range uint64(20) {
		want[seed], _ = system.RenderUnit(text, system.Unit{ID: "a-1"}, newRand(seed))
	}
	distinct := map[string]bool{}
	for _, v := range want {
		distinct[v] = true
	}
	if len(distinct) < 10 {
		t.Fatalf("20 seeds rendered only %d distinct units: %v", len(distinct), want)
	}
	var wg sync.WaitGroup
	for seed := range uint64(20) {
		wg.Go(func() {
			for range 50 {
				if got, err := system.RenderUnit(text, system.Unit{ID: "a-1"}, newRand(seed)); err != nil || got != want[seed] {
					t.Errorf("seed %d rendered %q (%v) concurrently, %q alone", seed, got, err, want[seed])
					return
				}
			}
		})
	}
	wg.Wait()
	if _, err := system.RenderUnit(`{{.Missing}}`, system.Unit{}, nil); err == nil {
		t.Fatal("a missing key rendered")
	}
}

func TestInvariantsGetDefaultsAndSayTheirCondition(t *testing.T) {
	text := strings.Replace(minimal, "name: shop", `name: shop
invariants:
  - {name: stock never negative, service: worker, http: {path: /stock}, field: level.quantity, min: 0}
  - {name: nothing pending, service: worker, http: {service: worker, path: "/jobs?status=pending", items: jobs}, none: true, when: at_end}
  - {name: lag bounded, service: worker, http: {path: /lag}, field: lag, min: 0, max: 5}`, 1)
	s, err := system.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	inv := s.Invariants
	if len(inv) != 3 || inv[0].When != system.Always || inv[0].HTTP.Service != "worker" || inv[1].When != system.AtEnd || inv[1].HTTP.Items != "jobs" {
		t.Fatalf("invariants %+v", inv)
	}
	for i, want := range []string{"level.quantity ≥ 0", "no row", "0 ≤ lag ≤ 5"} {
		if got := inv[i].Condition(); got != want {
			t.Errorf("%s: condition %q, want %q", inv[i].Name, got, want)
		}
	}
	var during, atEnd []string
	for _, i := range s.InvariantsWhen(system.Always) {
		during = append(during, i.Name)
	}
	for _, i := range s.InvariantsWhen(system.AtEnd) {
		atEnd = append(atEnd, i.Name)
	}
	if strings.Join(during, ",") != "stock never negative,lag bounded" || len(atEnd) != 3 {
		t.Errorf("checked during the run %v, at the end %v", during, atEnd)
	}
}

func TestBuildSourcesAreParsed(t *testing.T) {
	text := strings.Replace(minimal, "    port: 8080\n", "    port: 8080\n    build: {context: ., sources: ['services/**', go.mod]}\n", 1)
	s, err := system.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Services[0].Build.Sources; len(got) != 2 || got[0] != "services/**" || got[1] != "go.mod" {
		t.Errorf("sources: %q", got)
	}
}

func TestControlsEffectsAndDeliveryParse(t *testing.T) {
	text := strings.Replace(minimal, "    log: {pattern: 'done (\\S+)'}\n", `    delivery: at-least-once
    http: {path: /done}
controls:
  no-acks:
    description: the worker acks before it processes
    image: {worker: shop/worker:unsafe}
    build: {worker: {context: unsafe}}
    command: {worker: [python3, worker.py, --ack-early]}
    env: {"*": {ACK: early}}
  env-only: {env: {worker: {X: "1"}}}
`, 1)
	s, err := system.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	c := s.Controls["no-acks"]
	if c.Image["worker"] != "shop/worker:unsafe" || c.Build["worker"].Dockerfile != "Dockerfile" || strings.Join(c.Command["worker"], " ") != "python3 worker.py --ack-early" || c.Env["*"]["ACK"] != "early" {
		t.Errorf("control %+v", c)
	}
	e := s.Effects[0]
	if !e.AllowsDuplicates() || e.HTTP.ID != "" || e.HTTP.Service != "worker" || e.HTTP.Replicas != system.ReplicasShared {
		t.Errorf("effect %+v %+v", e, e.HTTP)
	}
	if s, err := system.Parse([]byte(minimal)); err != nil || s.Effects[0].Delivery != system.ExactlyOnce || s.Effects[0].AllowsDuplicates() {
		t.Errorf("default delivery: %v %v", s, err)
	}
}

// An HTTP effect whose replicas each show their own work says so.
func TestHTTPEffectReadFromEachReplicaParses(t *testing.T) {
	text := strings.Replace(minimal, "    log: {pattern: 'done (\\S+)'}\n", "    http: {path: /done, id: id, replicas: each}\n", 1)
	s, err := system.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Effects[0].HTTP.Replicas; r != system.ReplicasEach {
		t.Errorf("replicas %q, want %q", r, system.ReplicasEach)
	}
}

// Load puts the file before each problem, one a line, like a compiler.
func TestLoadPrefixesEveryProblemWithTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "system.yaml")
	text := strings.Replace(minimal, "name: shop", "name: shop\ncontrols: {no-acks: {image: {ghost: x, worker: ''}}}", 1)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := system.Load(p)
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{p + `: controls.no-acks.image.ghost: "ghost" is not a declared service`, p + ": controls.no-acks.image.worker: empty: want an image name"}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

// A step of an ordered input is the input with the step's fields over
// its own; the steps' names keep their order.
func TestAStepIsTheInputWithItsFieldsOver(t *testing.T) {
	a := system.AMQPInput{Exchange: "x", RoutingKey: "k", Type: "T", Body: "b {{.ID}}", Queues: []string{"q"},
		Steps: []system.Step{{Name: "placed"}, {Name: "cancelled", RoutingKey: "k2", Type: "T2", Body: "c {{.ID}}"}}}
	first, second := a.Step(0), a.Step(1)
	if first.RoutingKey != "k" || first.Type != "T" || first.Body != "b {{.ID}}" || first.Exchange != "x" || len(first.Steps) != 0 {
		t.Errorf("step 0: %+v", first)
	}
	if second.RoutingKey != "k2" || second.Type != "T2" || second.Body != "c {{.ID}}" || second.Exchange != "x" || second.Queues[0] != "q" {
		t.Errorf("step 1: %+v", second)
	}
	if names := a.StepNames(); len(names) != 2 || names[0] != "placed" || names[1] != "cancelled" {
		t.Errorf("names %v", names)
	}
	if none := (system.AMQPInput{Body: "b"}).Step(0); none.Body != "b" {
		t.Errorf("an input without steps: %+v", none)
	}
}

// A recovery budget left out, wholly or in part, is the default's.
func TestRecoveryBudgetDefaults(t *testing.T) {
	s, err := system.Parse([]byte(minimal + "recovery: {half-open: {drained: 40s}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ready, drained := s.RecoveryBudget("half-open"); ready != time.Minute || drained != 40*time.Second {
		t.Errorf("half-open: ready %s, drained %s; want 1m0s (the default) and 40s", ready, drained)
	}
	if ready, drained := s.RecoveryBudget("consumer-timeout"); ready != time.Minute || drained != 2*time.Minute {
		t.Errorf("consumer-timeout: ready %s, drained %s; want the default 1m0s and 2m0s", ready, drained)
	}
}
