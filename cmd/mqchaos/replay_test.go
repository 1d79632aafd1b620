package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/schedule"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

// A failed spec's reproduction carries what replay needs (description
// and its digest, spec, side, seed, images) and what the run saw (its
// faults and the work it sent), read from the spec's history.
func TestAReproductionCarriesTheRunAndItsFaults(t *testing.T) {
	dir := t.TempDir()
	desc := filepath.Join(dir, "system.yaml")
	os.WriteFile(desc, []byte("name: shop\n"), 0o644)
	h := &history.History{}
	op := h.Invoke("order_http", "u-1")
	h.Complete(op, history.OK, "201")
	f := h.Invoke(history.KindFault, "kill orders-1")
	h.Complete(f, history.OK, "injected")
	os.MkdirAll(filepath.Join(dir, "histories"), 0o755)
	hf, _ := os.Create(filepath.Join(dir, "histories", "h.jsonl"))
	if err := h.WriteJSONL(hf); err != nil {
		t.Fatal(err)
	}
	hf.Close()
	sc := catalogue.All()[0]
	res := catalogue.Result{Spec: sc.Specs[0].FullText(sc), State: catalogue.Failed, Message: "lost 3",
		Figures: []report.Figures{{Scenario: "fanout", Side: "safe", History: "histories/h.jsonl"}}}

	base, err := newReproduction(runConfig{system: desc, seed: 42}, stack.Images{RabbitMQ: "rmq:1", Postgres: "pg:1"})
	if err != nil {
		t.Fatal(err)
	}
	path, err := base.write(dir, res, "lost 3")
	if err != nil {
		t.Fatal(err)
	}
	var r reproduction
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Spec != res.Spec || r.Side != "safe" || r.Seed != 42 || r.System != desc || len(r.SystemSHA256) != 64 || r.RabbitMQ != "rmq:1" || r.Verdict != "lost 3" {
		t.Errorf("reproduction %+v does not carry the run", r)
	}
	if len(r.Faults) != 1 || !strings.HasPrefix(r.Faults[0], "kill orders-1 injected at +") || r.Sent["order_http"] != 1 {
		t.Errorf("faults %q, sent %v: want the kill and 1 unit of order_http", r.Faults, r.Sent)
	}
}

// replay and shrink refuse, with one line and exit 2, what would not be
// the same run: a description changed since, a spec this mqchaos does not
// have, a schedule that cannot run; shrink also what it cannot cut.
func TestReplayRefusesWhatWouldNotBeTheSameRun(t *testing.T) {
	dir := t.TempDir()
	desc := filepath.Join(dir, "system.yaml")
	os.WriteFile(desc, []byte("name: shop\n"), 0o644)
	sc := catalogue.All()[0]
	write := func(name string, r reproduction) string {
		p := filepath.Join(dir, name)
		b, _ := json.Marshal(r)
		os.WriteFile(p, b, 0o644)
		return p
	}
	changed := write("changed.json", reproduction{System: desc, SystemSHA256: strings.Repeat("0", 64), Spec: sc.Specs[0].FullText(sc)})
	good := func(spec string) reproduction {
		b, _ := os.ReadFile(desc)
		r := reproduction{System: desc, Spec: spec}
		r.SystemSHA256 = sha(b)
		return r
	}
	unknown := write("unknown.json", good("No such scenario holds"))
	scenario := write("scenario.json", good(sc.Specs[0].FullText(sc)))
	soak := good(sc.Specs[0].FullText(sc))
	soak.Soak = &schedule.Schedule{Seed: 1, Length: schedule.Duration(time.Minute)}
	soak.Broken = []report.Broken{{Kind: "lost at inventory: stock reserved"}}
	named := write("soak.json", soak)
	soak.Soak.Length = 0
	badSoak := write("bad-soak.json", soak)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"replay"}, "want one reproduction file"},
		{[]string{"replay", filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{"replay", changed}, "changed since the run"},
		{[]string{"replay", unknown}, `has no spec "No such scenario holds"`},
		{[]string{"shrink", changed}, "changed since the run"},
		{[]string{"shrink", scenario}, "exposes no sizes (units, rate, hold) and is no soak"},
		{[]string{"shrink", "-violation", "lost at order", named}, `no violation "lost at order"; it names "lost at inventory: stock reserved"`},
		{[]string{"shrink", badSoak}, "soak: length 0s"},
		{[]string{"shrink", "-confirm", "0", named}, "want -confirm 1 or more"},
	} {
		var out, errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		code := mainArgs(ctx, c.args, &out, &errb)
		cancel()
		if code != exitCannot || !strings.Contains(errb.String(), c.want) || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line with %q", c.args, code, errb.String(), c.want)
		}
	}
}

// The figures and the report a run writes come after its reproductions:
// the figures of a result that left one carry the command that replays
// it, and the report, as the run draws it and as `mqchaos report` redraws
// it, shows that command in the run's section; a result that left none
// carries none.
func TestTheReportShowsTheCommandThatReplaysARun(t *testing.T) {
	dir := t.TempDir()
	desc := filepath.Join(dir, "system.yaml")
	os.WriteFile(desc, []byte("name: shop\n"), 0o644)
	out := filepath.Join(dir, "run")
	os.MkdirAll(filepath.Join(out, "histories"), 0o755)
	h := &history.History{}
	h.Complete(h.Invoke("order_http", "u-1"), history.OK, "201")
	hf, _ := os.Create(filepath.Join(out, "histories", "h.jsonl"))
	if err := h.WriteJSONL(hf); err != nil {
		t.Fatal(err)
	}
	hf.Close()
	sc := catalogue.All()[0]
	failed := catalogue.Result{Spec: sc.Specs[0].FullText(sc), State: catalogue.Failed, Message: "lost 3",
		Figures: []report.Figures{{Scenario: "fanout", Side: "safe", System: "shop", History: "histories/h.jsonl", Violations: []string{"lost 3"}}}}
	passed := catalogue.Result{Spec: "Another spec holds", State: catalogue.Passed,
		Figures: []report.Figures{{Scenario: "fanout", Side: "control: shared-queue", System: "shop", Violations: []string{"lost 1"}}}}

	var stdout, stderr bytes.Buffer
	rep := writeResults(out, runConfig{system: desc, seed: 42}, stack.Images{}, []catalogue.Result{failed, passed}, map[string]string{failed.Spec: "lost 3"}, false, &stdout, &stderr)
	if stderr.Len() > 0 {
		t.Fatalf("stderr: %s", stderr.String())
	}
	want := "mqchaos replay " + filepath.Join(out, "repro", report.Slug(failed.Spec)+".json")
	if got := rep.command(failed); got != want {
		t.Fatalf("command %q, want %q", got, want)
	}
	figs, err := report.ReadJSON(filepath.Join(out, "figures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var replays []string
	for _, f := range figs {
		replays = append(replays, f.Replay)
	}
	if len(figs) != 2 || figs[0].Replay != want || figs[1].Replay != "" {
		t.Fatalf("figures.json's replays %q; want the failed run's %q and none on the other", replays, want)
	}
	redrawn := filepath.Join(dir, "redrawn.html")
	if _, err := drawReport([]string{out}, redrawn, &stderr); err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{filepath.Join(out, "report.html"), redrawn} {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		safe, control, ok := strings.Cut(string(b), `id="run-fanout-control-shared-queue"`)
		if !ok || !strings.Contains(safe, `<code class="replay">`+want+`</code>`) || strings.Contains(control, "mqchaos replay") {
			t.Errorf("%s: want %q in the failed run's section and no command in the other's", page, want)
		}
	}
}

// A scenario's spec that exposes its sizes leaves them in its
// reproduction, and its replay runs with them; a control that caught its
// violation leaves a reproduction too when its spec exposes sizes (for
// shrink), and one that exposes none, or a safe side that held, does not.
func TestAReproductionCarriesTheSizesItsSpecExposed(t *testing.T) {
	dir := t.TempDir()
	desc := filepath.Join(dir, "system.yaml")
	os.WriteFile(desc, []byte("name: shop\n"), 0o644)
	knobs := catalogue.Knobs{Units: 50, Rate: 40, Hold: schedule.Duration(5 * time.Second)}
	lost := report.Figures{Scenario: "database paused", Side: "control: auto-ack", Violations: []string{"lost at inventory: u-1"}}
	caught := catalogue.Result{Spec: "caught with sizes", State: catalogue.Passed, Figures: []report.Figures{lost}, Knobs: knobs}
	noSizes := catalogue.Result{Spec: "caught without sizes", State: catalogue.Passed, Figures: []report.Figures{lost}}
	held := catalogue.Result{Spec: "held with sizes", State: catalogue.Passed, Figures: []report.Figures{{Scenario: "database paused", Side: "safe"}}, Knobs: knobs}

	kept := withCaught([]catalogue.Result{caught, noSizes, held}, map[string]string{"failed": "lost 3"})
	if _, ok := kept[caught.Spec]; !ok || len(kept) != 2 || kept["failed"] != "lost 3" {
		t.Fatalf("kept %v: want the failed spec and the control caught with sizes", kept)
	}
	base, err := newReproduction(runConfig{system: desc, seed: 42}, stack.Images{})
	if err != nil {
		t.Fatal(err)
	}
	path, err := base.write(dir, caught, kept[caught.Spec])
	if err != nil {
		t.Fatal(err)
	}
	var r reproduction
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.Knobs == nil || *r.Knobs != knobs {
		t.Fatalf("knobs %v, want %v", r.Knobs, knobs)
	}
	c := r.runConfig("")
	if c.knobs != knobs {
		t.Errorf("the replay runs with %v, want %v", c.knobs, knobs)
	}
	if p, err := c.platform(context.Background()); p != nil || err != nil {
		t.Errorf("the replay runs on %v (%v), want the local Docker engine", p, err)
	}
}
