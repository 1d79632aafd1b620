package suite

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

func spec(state types.SpecState, labels ...string) types.SpecReport {
	return types.SpecReport{LeafNodeType: types.NodeTypeIt, State: state, ContainerHierarchyLabels: [][]string{labels}}
}

// The shared broker is started during the set-up only when a spec that
// will run needs it.
func TestSharedInfraStartsOnlyForASpecThatRunsOnIt(t *testing.T) {
	const shared = "infra:shared"
	cases := []struct {
		name  string
		specs []types.SpecReport
		want  bool
	}{
		{"a shared spec will run", []types.SpecReport{spec(types.SpecStateSkipped, shared), spec(types.SpecStatePassed, shared)}, true},
		{"only specs with a broker of their own run", []types.SpecReport{spec(types.SpecStatePassed, "fault:broker"), spec(types.SpecStateSkipped, shared)}, false},
		{"nothing runs", []types.SpecReport{spec(types.SpecStateSkipped, shared), spec(types.SpecStatePending, shared)}, false},
	}
	for _, c := range cases {
		if got := sharedInfraWillRun(types.Report{SpecReports: c.specs}); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// The summary has a line per spec that ran, from this process's entries
// and from another process's, sent as JSON.
func TestSummaryHasALinePerSpecFromEveryProcess(t *testing.T) {
	own := spec(types.SpecStatePassed)
	own.RunTime = 20 * time.Second
	own.ReportEntries = types.ReportEntries{
		{Name: catalogue.TimeEntry, Value: types.WrapEntryValue(catalogue.SpecTime{Total: 19, Setup: 6, Run: 10, Settle: 2.5, Check: 0.5})},
		{Name: catalogue.FiguresEntry, Value: types.WrapEntryValue(report.Figures{Scenario: "broker restart", Side: "safe"})},
	}
	other := spec(types.SpecStatePassed)
	other.RunTime = 12 * time.Second
	tj, _ := json.Marshal(catalogue.SpecTime{Total: 11, Setup: 1, Run: 8, Settle: 2, Check: 0})
	fj, _ := json.Marshal(report.Figures{Scenario: "broker restart", Side: "control: transient-queues"})
	other.ReportEntries = types.ReportEntries{
		{Name: catalogue.TimeEntry, Value: types.ReportEntryValue{AsJSON: string(tj)}},
		{Name: catalogue.FiguresEntry, Value: types.ReportEntryValue{AsJSON: string(fj)}},
	}
	failed := spec(types.SpecStateFailed)
	failed.LeafNodeText = "holds"
	failed.RunTime = 3 * time.Second
	var b strings.Builder
	catalogue.Summarize(&b, nil, results(types.Report{SpecReports: []types.SpecReport{own, other, failed, spec(types.SpecStateSkipped)}}), catalogue.SetupTimes{Total: 900 * time.Millisecond})
	got := b.String()
	for _, want := range []string{
		"set-up 0.9s",
		"  broker restart (safe): 19.0s: set-up 6.0s, load and faults 10.0s, settle 2.5s, check 0.5s, teardown 1.0s\n",
		"  broker restart (control: transient-queues): 11.0s: set-up 1.0s, load and faults 8.0s, settle 2.0s, check 0.0s, teardown 1.0s\n",
		"  holds: 3.0s, failed before any verdict\n",
		"scenarios: 2 passed, 1 failed, 1 skipped\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
}
