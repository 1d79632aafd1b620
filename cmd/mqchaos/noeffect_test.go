package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

// A run of the no-op build passes when every spec that injects a fault
// failed as no effect; a spec that passed with a fault injected, or
// failed for another reason, is a difference.
func TestHoldNoEffect(t *testing.T) {
	dir := t.TempDir()
	// A history in the run's directory, named as Figures.History names it.
	history1 := func(name string, op history.Op) string {
		h := &history.History{}
		h.Complete(h.Invoke(op.Kind, op.ID), op.Outcome, op.Detail)
		write(t, dir, name, h)
		return filepath.Join("histories", name)
	}
	quiet := history1("quiet.jsonl", history.Op{Kind: "order_http", ID: "u1", Outcome: history.OK})
	faulted := history1("faulted.jsonl", history.Op{Kind: history.KindFault, ID: "kill inventory-1", Outcome: history.OK, Detail: "injected: inventory-1 exited (137)"})
	caught := catalogue.Outcome{Spec: "Broker restart safe", State: catalogue.Failed,
		Message: "Expected success, but got an error:\n    inject restart rabbitmq: fault did not take effect: rabbitmq not restarted: running since 10:00:01\n"}
	noFault := catalogue.Outcome{Spec: "Unroutable safe", State: catalogue.Passed, Figures: []report.Figures{{History: quiet}}}
	skipped := catalogue.Outcome{Spec: "Failpoint safe", State: catalogue.Skipped}

	var out strings.Builder
	if err := holdNoEffect(&out, dir, []catalogue.Outcome{caught, noFault, skipped}); err != nil {
		t.Errorf("as it must be: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "caught     Broker restart safe: inject restart rabbitmq: fault did not take effect") {
		t.Errorf("output does not show the catch:\n%s", out.String())
	}
	for _, tc := range []struct {
		bad  catalogue.Outcome
		says string
	}{
		{catalogue.Outcome{Spec: "Consumer killed safe", State: catalogue.Passed, Figures: []report.Figures{{History: faulted}}}, `DIFFERS Consumer killed safe: passed with "kill inventory-1" injected`},
		{catalogue.Outcome{Spec: "Queue deleted safe", State: catalogue.Failed, Message: "lost 3 of 600"}, "DIFFERS Queue deleted safe: failed, not as no effect: lost 3 of 600"},
	} {
		out.Reset()
		err := holdNoEffect(&out, dir, []catalogue.Outcome{caught, tc.bad})
		if !errors.Is(err, errViolated) || !strings.Contains(out.String(), tc.says) {
			t.Errorf("%s: %v, output:\n%s\nwant %q", tc.bad.Spec, err, out.String(), tc.says)
		}
	}
	out.Reset()
	if err := holdNoEffect(&out, dir, []catalogue.Outcome{noFault}); !errors.Is(err, errViolated) {
		t.Errorf("nothing caught: %v, want a difference (not a run of the no-op build)", err)
	}
}
