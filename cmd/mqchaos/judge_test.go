package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// judged is a run's history as a scenario leaves it: units, final reads,
// and the verdict it drew, changed by lie before it is recorded.
func judged(t *testing.T, dir, name string, lie func(*checker.Verdict)) string {
	t.Helper()
	h := &history.History{}
	h.Complete(h.Invoke("order_amqp", "a-1"), history.OK, "confirmed")
	h.Complete(h.Invoke("order_amqp", "a-2"), history.OK, "confirmed")
	now := time.Now()
	h.Read("inventory: stock reserved", []string{"a-1", "a-1"}, history.Judged{Inputs: []string{"order_amqp"}}, now, now)
	v := checker.Judge(h.Ops())
	if lie != nil {
		lie(&v)
	}
	if err := checker.Record(h, v); err != nil {
		t.Fatal(err)
	}
	return write(t, dir, name, h)
}

func write(t *testing.T, dir, name string, h *history.History) string {
	t.Helper()
	path := filepath.Join(dir, "histories", name)
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := h.WriteJSONL(f); err != nil {
		t.Fatal(err)
	}
	return path
}

func judge(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = mainArgs(context.Background(), append([]string{"judge"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// A history judged again gives the verdict its run recorded, a violation
// (here a loss and a duplicate) included: exit 0.
func TestJudgeAgreesWithTheRun(t *testing.T) {
	dir := t.TempDir()
	judged(t, dir, "a.jsonl", nil)
	code, out, errs := judge(dir)
	if code != exitHeld {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	for _, want := range []string{
		"inventory: stock reserved VIOLATED: attempted 2, accepted 2, unknown 0, processed 1 (2 effects), lost 1, duplicated 1,",
		"verdict: VIOLATED, as the run recorded",
		"1 histories: 1 as their run recorded, 0 differ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

// A history whose recorded verdict it does not give again is reported,
// and mqchaos judge exits 1.
func TestJudgeReportsADisagreement(t *testing.T) {
	dir := t.TempDir()
	judged(t, dir, "ok.jsonl", nil)
	path := judged(t, dir, "lied.jsonl", func(v *checker.Verdict) { v.Checks[0].Lost = nil })
	code, out, errs := judge(filepath.Join(dir, "histories", "ok.jsonl"), path)
	if code != exitViolated {
		t.Fatalf("exit %d, want 1: %s%s", code, out, errs)
	}
	for _, want := range []string{"DIFFERS from the run: inventory: stock reserved: lost 1 judged, 0 recorded", "2 histories: 1 as their run recorded, 1 differ"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "lied.jsonl") || strings.Count(errs, "\n") != 1 {
		t.Errorf("stderr %q: want one line naming the history", errs)
	}
}

// A history written before reads were recorded, and one whose verdict
// its scenario drew outside the checker, are not judged: they say so.
func TestJudgeSaysWhatItCannotJudge(t *testing.T) {
	dir := t.TempDir()
	old := &history.History{}
	old.Complete(old.Invoke("order_amqp", "a-1"), history.OK, "confirmed")
	write(t, dir, "old.jsonl", old)
	cluster := &history.History{}
	cluster.Complete(cluster.Invoke("enqueue", "e-1"), history.OK, "confirmed")
	checker.Record(cluster, checker.Verdict{Checks: []checker.Result{{Service: "queue q (total-queue)", Lost: []string{"e-1"}}}, Offline: "drawn by clusterLoad.record"})
	write(t, dir, "cluster.jsonl", cluster)
	code, out, errs := judge(dir)
	if code != exitHeld {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	for _, want := range []string{
		"not judgeable offline yet: the history holds no final reads",
		"not judgeable offline yet: drawn by clusterLoad.record; the run's own verdict: VIOLATED",
		"2 not judgeable offline yet",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}

// A history it cannot read is exit 2, with one line saying which and
// where.
func TestJudgeExitsTwoOnABadHistory(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"kind":"a","id":"1","outcome":"ok","invoked":"2026-11-24T03:00:00Z"}`+"\nnot json\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{bad}, "bad.jsonl: read history line 2"},
		{[]string{filepath.Join(dir, "missing.jsonl")}, "missing.jsonl"},
		{[]string{t.TempDir()}, "no histories"},
		{nil, "name a history file"},
	} {
		code, _, errs := judge(c.args...)
		if code != exitCannot || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line with %q", c.args, code, errs, c.want)
		}
	}
}
