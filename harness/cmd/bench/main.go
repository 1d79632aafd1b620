// Command bench measures the harness itself, with no broker: what a
// history costs (memory and JSON Lines bytes per operation), how long
// mqchaos judge takes over a history of a million operations, and how
// long headless Chromium takes to render the report of a soak and of a
// 100,000-operation history (a safe run's, and a control's that lost
// units), and the report's size. The histories are synthetic, shaped
// like a soak of the reference system (package harness/history/synth).
// It prints tables, pass or FAIL per target, then one JSON line.
//
//	go run ./harness/cmd/bench            # or: make bench-harness
//
// The targets (issue 21): judging 1,000,000 operations in under 10 s; a
// 100,000-operation report rendered in under 2 s from a file under 10 MB.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mqchaos/mqchaos/harness/checker"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/history/synth"
	"github.com/mqchaos/mqchaos/harness/report"
)

func main() {
	judgeUnits := flag.Int("judge", 1_000_000, "units of work in the history judged")
	reportUnits := flag.Int("report", 100_000, "units of work in the large report's history")
	soak := flag.Duration("soak", 10*time.Minute, "the soak whose report is rendered too")
	browser := flag.String("chromium", "", "the browser (default: chromium or chromium-browser on PATH; none: the render is skipped)")
	renders := flag.Int("renders", 3, "renders of each report; the median is kept")
	keep := flag.String("keep", "", "write the histories and reports to this directory instead of a temporary one")
	flag.Parse()
	if err := run(*judgeUnits, *reportUnits, *soak, *browser, *renders, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// row is one history measured.
type row struct {
	Name        string  `json:"name"`
	Units       int     `json:"units"`
	Ops         int     `json:"ops"`
	Samples     int     `json:"samples"`
	MemPerOp    float64 `json:"mem_bytes_per_op"`
	FileBytes   int64   `json:"jsonl_bytes"`
	FilePerOp   float64 `json:"jsonl_bytes_per_op"`
	ReadS       float64 `json:"read_s"`
	JudgeS      float64 `json:"judge_s"`
	RecordedS   float64 `json:"recorded_s"`
	JudgeTotalS float64 `json:"judge_total_s"` // read, judge, recorded and compared: what mqchaos judge does
	Held        bool    `json:"held"`
	// The report, where drawn.
	DrawS     float64 `json:"report_draw_s,omitempty"`
	HTMLBytes int64   `json:"report_bytes,omitempty"`
	DOMS      float64 `json:"chromium_dom_s,omitempty"`            // chromium --dump-dom, less its start on an empty page
	ShotS     float64 `json:"chromium_screenshot_s,omitempty"`     // chromium --screenshot, less the same on an empty page
	DOMRaw    float64 `json:"chromium_dom_raw_s,omitempty"`        // the same, start included
	ShotRaw   float64 `json:"chromium_screenshot_raw_s,omitempty"` // the same, start included
}

func run(judgeUnits, reportUnits int, soak time.Duration, browser string, renders int, keep string) error {
	dir := keep
	if dir == "" {
		d, err := os.MkdirTemp("", "mqchaos-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if browser == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				browser = p
				break
			}
		}
	}
	shapes := []struct {
		name   string
		shape  synth.Shape
		report bool
	}{
		{fmt.Sprintf("soak %s", soak), synth.Soak(soak), true},
		{units(reportUnits), synth.Shape{Units: reportUnits, Length: 10 * time.Minute, Seed: 1}, true},
		// A control's run: every operation of a violated id is listed
		// on the report, so its page is the largest.
		{units(reportUnits) + ", control", synth.Shape{Units: reportUnits, Length: 10 * time.Minute, Seed: 1, Lose: 0.5}, true},
		{units(judgeUnits), synth.Shape{Units: judgeUnits, Length: 10 * time.Minute, Seed: 1}, false},
	}
	var base struct{ dom, shot float64 }
	if browser != "" {
		blank := filepath.Join(dir, "blank.html")
		if err := os.WriteFile(blank, []byte("<!DOCTYPE html><title>blank</title><p>blank</p>"), 0o644); err != nil {
			return err
		}
		var err error
		if base.dom, base.shot, err = render(browser, blank, dir, renders); err != nil {
			return err
		}
	}
	var rows []row
	for _, s := range shapes {
		r, err := measure(s.name, s.shape, dir, s.report, browser, renders, base.dom, base.shot)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		rows = append(rows, r)
		fmt.Fprintf(os.Stderr, "measured %s\n", s.name)
	}
	print(rows, browser, base.dom, base.shot)
	b, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

// measure records a history of shape s, writes it, judges it again from
// its file, and where asked draws its report and renders it.
func measure(name string, s synth.Shape, dir string, drawReport bool, browser string, renders int, baseDOM, baseShot float64) (row, error) {
	r := row{Name: name}
	p := synth.Draw(s)

	// Memory: the live heap the history adds, recorded through its API.
	before := liveHeap()
	rec := &history.History{}
	if err := p.Record(rec); err != nil {
		return r, err
	}
	after := liveHeap()
	r.Ops, r.Samples = len(rec.Ops()), len(rec.Samples())
	r.MemPerOp = float64(after-before) / float64(r.Ops)
	runtime.KeepAlive(rec)
	rec = nil

	h, err := p.History()
	if err != nil {
		return r, err
	}
	for _, op := range h.Ops() {
		if op.IsWork() {
			r.Units++
		}
	}
	slug := report.Slug(name)
	runDir := filepath.Join(dir, slug)
	hist := filepath.Join("histories", slug+".jsonl")
	path := filepath.Join(runDir, hist)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return r, err
	}
	fh, err := os.Create(path)
	if err != nil {
		return r, err
	}
	if err := h.WriteJSONL(fh); err != nil {
		fh.Close()
		return r, err
	}
	if err := fh.Close(); err != nil {
		return r, err
	}
	st, err := os.Stat(path)
	if err != nil {
		return r, err
	}
	r.FileBytes = st.Size()
	r.FilePerOp = float64(r.FileBytes) / float64(r.Ops+r.Samples)
	h = nil
	runtime.GC()

	// mqchaos judge: read the file, judge it, read the recorded verdict
	// and compare.
	t0 := time.Now()
	got, err := history.ReadFile(path)
	if err != nil {
		return r, err
	}
	t1 := time.Now()
	ops := got.Ops()
	judged := checker.Judge(ops)
	t2 := time.Now()
	recorded, ok, err := checker.Recorded(ops)
	if err != nil {
		return r, err
	}
	diffs := checker.Differences(judged, recorded)
	t3 := time.Now()
	if !ok || len(diffs) > 0 {
		return r, fmt.Errorf("judged again, the verdict differs from the one recorded: %v", diffs)
	}
	r.ReadS, r.JudgeS, r.RecordedS, r.JudgeTotalS = t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds(), t3.Sub(t2).Seconds(), t3.Sub(t0).Seconds()
	r.Held = judged.Held()
	if !drawReport {
		return r, nil
	}

	// mqchaos report: figures.json and the history, drawn as HTML.
	side := "safe"
	if s.Lose > 0 {
		side = "control: auto-ack"
	}
	f := report.Figures{Scenario: "soak", Side: side, System: "reference", Input: "order_http+order_amqp", Sent: r.Units,
		Seconds: s.Length.Seconds(), Checks: judged.Checks, Violations: judged.Violations, History: hist}
	if err := report.WriteJSON(filepath.Join(runDir, "figures.json"), []report.Figures{f}); err != nil {
		return r, err
	}
	page := filepath.Join(runDir, "report.html")
	t0 = time.Now()
	figs, err := report.ReadJSON(filepath.Join(runDir, "figures.json"))
	if err != nil {
		return r, err
	}
	runs, err := report.LoadRuns(runDir, figs)
	if err != nil {
		return r, err
	}
	if err := report.WriteHTMLFile(page, runs); err != nil {
		return r, err
	}
	r.DrawS = time.Since(t0).Seconds()
	if st, err = os.Stat(page); err != nil {
		return r, err
	}
	r.HTMLBytes = st.Size()
	if browser == "" {
		return r, nil
	}
	dom, shot, err := render(browser, page, dir, renders)
	if err != nil {
		return r, err
	}
	r.DOMRaw, r.ShotRaw = dom, shot
	r.DOMS, r.ShotS = dom-baseDOM, shot-baseShot
	return r, nil
}

// liveHeap is the bytes of live heap objects after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// render opens page in headless Chromium n times each to dump its DOM
// (parse, style, layout) and to take a screenshot (and paint), and gives
// the median wall time of each, in seconds, start of the browser
// included.
func render(browser, page, dir string, n int) (dom, shot float64, err error) {
	url := "file://" + page
	var doms, shots []float64
	for i := range n {
		d, err := chromium(browser, dir, "--dump-dom", url)
		if err != nil {
			return 0, 0, err
		}
		png := filepath.Join(dir, fmt.Sprintf("shot-%d.png", i))
		s, err := chromium(browser, dir, "--screenshot="+png, "--window-size=1400,2000", "--hide-scrollbars", url)
		if err != nil {
			return 0, 0, err
		}
		os.Remove(png)
		doms, shots = append(doms, d), append(shots, s)
	}
	return median(doms), median(shots), nil
}

// chromium runs the browser headless and offline, as the report's
// browser test does (harness/report/browser_test.go), and gives its wall
// time in seconds.
func chromium(browser, dir string, args ...string) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	profile, err := os.MkdirTemp(dir, "chromium-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(profile)
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir=" + profile, "--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--metrics-recording-only",
		"--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"}
	cmd := exec.CommandContext(ctx, browser, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t0 := time.Now()
	out, err := cmd.Output()
	took := time.Since(t0).Seconds()
	if err != nil {
		return 0, fmt.Errorf("chromium %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if slices.Contains(args, "--dump-dom") && !bytes.Contains(out, []byte("</html>")) {
		return 0, fmt.Errorf("chromium --dump-dom gave no page (%d bytes)", len(out))
	}
	return took, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// print writes the table.
func print(rows []row, browser string, baseDOM, baseShot float64) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "history\tunits\tops\tsamples\tmemory B/op\tJSONL B/op\tJSONL MB\tread s\tjudge s\trecorded s\tmqchaos judge s\t")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%.0f\t%.0f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", r.Name, r.Units, r.Ops, r.Samples, r.MemPerOp, r.FilePerOp,
			float64(r.FileBytes)/1e6, r.ReadS, r.JudgeS, r.RecordedS, r.JudgeTotalS)
	}
	w.Flush()
	fmt.Println()
	w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "report of\tops\tdraw s\tHTML MB\tchromium DOM s\tscreenshot s\tDOM s, start incl.\tscreenshot s, start incl.\t")
	for _, r := range rows {
		if r.HTMLBytes == 0 {
			continue
		}
		fmt.Fprintf(w, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", r.Name, r.Ops, r.DrawS, float64(r.HTMLBytes)/1e6, r.DOMS, r.ShotS, r.DOMRaw, r.ShotRaw)
	}
	w.Flush()
	if browser == "" {
		fmt.Println("chromium: not found, renders skipped (apt-get install -y chromium)")
	} else {
		fmt.Printf("chromium: %s, median of the renders; its start on an empty page (%.2f s to dump, %.2f s to screenshot) taken off\n", browser, baseDOM, baseShot)
	}
	fmt.Println()
	for _, r := range rows {
		switch {
		case r.Ops >= 1_000_000:
			fmt.Printf("%s  mqchaos judge of %d ops in %.2f s (target < 10 s)\n", verdict(r.JudgeTotalS < 10), r.Ops, r.JudgeTotalS)
		case r.Ops >= 100_000 && r.HTMLBytes > 0:
			fmt.Printf("%s  report of %s: %.2f MB (target < 10 MB)\n", verdict(r.HTMLBytes < 10e6), r.Name, float64(r.HTMLBytes)/1e6)
			if browser != "" {
				fmt.Printf("%s  report of %s rendered in %.2f s, screenshot %.2f s (target < 2 s; %.2f s and %.2f s with Chromium's start)\n",
					verdict(max(r.DOMS, r.ShotS) < 2), r.Name, r.DOMS, r.ShotS, r.DOMRaw, r.ShotRaw)
			}
		}
	}
}

// units is "100k units", "1M units" or "6300 units".
func units(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM units", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk units", n/1000)
	}
	return fmt.Sprintf("%d units", n)
}

func verdict(met bool) string {
	if met {
		return "pass"
	}
	return "FAIL"
}
