package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
)

// cmdJudge judges histories again, offline, with the code a run judges
// them with (checker.Judge), prints each verdict, and compares it with
// the verdict the run recorded in the history. It exits 1 when one
// differs, 2 when a history cannot be read; a violation that the run
// recorded too (a control's) is no failure.
func cmdJudge(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("judge", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mqchaos judge HISTORY|DIR...   (a DIR: its histories/*.jsonl, as a run leaves them)")
	}
	if help, err := parseArgs(fs, args); help || err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return cannot("name a history file, or a run's directory")
	}
	var paths []string
	for _, arg := range fs.Args() {
		ps, err := histories(arg)
		if err != nil {
			return usageError{err}
		}
		paths = append(paths, ps...)
	}
	var t tally
	for _, p := range paths {
		if err := judgeFile(p, stdout, &t); err != nil {
			return usageError{err}
		}
	}
	fmt.Fprintf(stdout, "%d histories: %d as their run recorded, %d differ, %d not judgeable offline yet, %d with no verdict recorded\n",
		len(paths), t.agree, len(t.differ), t.offline, t.unrecorded)
	if len(t.differ) > 0 {
		return fmt.Errorf("%w: judged again, %d histories differ from their run's verdict: %s", errViolated, len(t.differ), t.differ[0])
	}
	return nil
}

// parseArgs parses flags followed by positional arguments (fs.Args).
func parseArgs(fs *flag.FlagSet, args []string) (help bool, err error) {
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return true, nil
	case err != nil:
		return false, usageError{err}
	}
	return false, nil
}

// histories is path if it is a file; if a directory, its histories
// (histories/*.jsonl, or *.jsonl in it), sorted.
func histories(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var out []string
	for _, pattern := range []string{filepath.Join(path, "histories", "*.jsonl"), filepath.Join(path, "*.jsonl")} {
		ps, _ := filepath.Glob(pattern) // the patterns are well formed
		out = append(out, ps...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no histories (*.jsonl) in it or in its histories directory", path)
	}
	slices.Sort(out)
	return out, nil
}

// tally counts histories by how their judgement compared.
type tally struct {
	agree, offline, unrecorded int
	differ                     []string // the first difference of each, with its file
}

// judgeFile judges the history at path, writes its verdict to w and
// counts it in t.
func judgeFile(path string, w io.Writer, t *tally) error {
	h, err := history.ReadFile(path)
	if err != nil {
		return err
	}
	ops := h.Ops()
	judged := checker.Judge(ops)
	recorded, ok, err := checker.Recorded(ops)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintln(w, path)
	for _, c := range judged.Checks {
		fmt.Fprintln(w, "  "+c.String())
	}
	for _, d := range judged.DeadLetters {
		fmt.Fprintln(w, "  "+d.String())
	}
	for _, r := range judged.Recovery {
		fmt.Fprintln(w, "  "+r.String())
	}
	for _, b := range judged.Bounds {
		fmt.Fprintln(w, "  "+b.String())
	}
	for _, l := range judged.Unseen {
		fmt.Fprintln(w, "  unseen at the end: "+l.String())
	}
	for _, v := range judged.Violations {
		fmt.Fprintln(w, "  observed by the run: "+v)
	}
	recordedHeld := recorded.Held()
	if judged.Offline != "" {
		// Only the effects' reads can be judged again; a verdict the run
		// drew without them is not compared.
		recorded.Checks = slices.DeleteFunc(recorded.Checks, func(r checker.Result) bool {
			return !slices.ContainsFunc(judged.Checks, func(j checker.Result) bool { return j.Service == r.Service })
		})
	}
	diffs := checker.Differences(judged, recorded)
	switch {
	case !ok && len(judged.Checks) == 0 && len(judged.DeadLetters) == 0:
		t.offline++
		fmt.Fprintln(w, "  not judgeable offline yet: the history holds no final reads of the effects (written before mqchaos recorded them)")
		return nil
	case !ok:
		t.unrecorded++
		fmt.Fprintf(w, "  verdict: %s (the run recorded none to compare with)\n", heldWord(judged.Held()))
		return nil
	case len(diffs) > 0:
		t.differ = append(t.differ, path+": "+diffs[0])
		for _, d := range diffs {
			fmt.Fprintln(w, "  DIFFERS from the run: "+d)
		}
	}
	if judged.Offline != "" {
		t.offline++
		line := fmt.Sprintf("  not judgeable offline yet: %s; the run's own verdict: %s", judged.Offline, heldWord(recordedHeld))
		if len(judged.Checks) > 0 {
			line += " (its effects, judged again above)"
		}
		fmt.Fprintln(w, line)
		return nil
	}
	if len(diffs) == 0 {
		t.agree++
		fmt.Fprintf(w, "  verdict: %s, as the run recorded\n", heldWord(judged.Held()))
		return nil
	}
	fmt.Fprintf(w, "  verdict: %s; the run recorded %s\n", heldWord(judged.Held()), heldWord(recordedHeld))
	return nil
}

func heldWord(held bool) string {
	if held {
		return "held"
	}
	return "VIOLATED"
}
