package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

// lines is a run's progress as plain lines, for CI logs: a line as each
// spec starts, at each step, and its verdict with its figures. On a
// terminal the steps share one status line that is rewritten instead.
type lines struct {
	w        io.Writer
	began    time.Time
	terminal bool
	status   bool // a status line is showing
}

func newLines(w io.Writer) *lines {
	l := &lines{w: w, began: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 && getenv("TERM") != "dumb" {
			l.terminal = true
		}
	}
	return l
}

func (l *lines) prefix(i, n int) string {
	return fmt.Sprintf("[%d/%d %s]", i, n, time.Since(l.began).Round(time.Second))
}

func (l *lines) clear() {
	if l.status {
		fmt.Fprint(l.w, "\r\033[K")
		l.status = false
	}
}

func (l *lines) Started(i, n int, spec string) {
	l.clear()
	fmt.Fprintf(l.w, "%s %s\n", l.prefix(i, n), spec)
}

func (l *lines) Step(i, n int, step string) {
	if !l.terminal {
		fmt.Fprintf(l.w, "    %s %s\n", l.prefix(i, n), step)
		return
	}
	l.clear()
	line := fmt.Sprintf("    %s %s", l.prefix(i, n), step)
	if len(line) > 118 {
		line = line[:117] + "…"
	}
	fmt.Fprint(l.w, line)
	l.status = true
}

func (l *lines) Ended(i, n int, r catalogue.Result) {
	l.clear()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s\n", l.prefix(i, n), verdictWord(r.State), r.Spec)
	if r.State != catalogue.Passed && r.Message != "" {
		fmt.Fprintf(&b, "    %s\n", r.Headline())
	}
	for _, f := range r.Figures {
		fmt.Fprintf(&b, "    %s\n", f.String())
	}
	fmt.Fprint(l.w, b.String())
}

func verdictWord(s catalogue.State) string {
	switch s {
	case catalogue.Passed:
		return "as it must be"
	case catalogue.Failed:
		return "NOT AS IT MUST BE"
	}
	return string(s)
}
