package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestReportInChromium opens a report of two runs (one held, one
// violated with the command that replays it, both with a fault band and
// invariant checks) in headless Chromium, checks that the matrix, the
// charts, the command and the links are in the page it rendered, and
// saves a screenshot to reports/browser-test/report.png for a person to
// look at. It needs Debian's chromium package (apt-get install chromium).
func TestReportInChromium(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		t.Skip("chromium is not on PATH: install Debian's chromium package (apt-get install -y chromium) to open the report in a real browser")
	}
	dir := filepath.Join(moduleRoot(t), "reports", "browser-test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "report.html")
	runs := sampleRuns()
	runs[1].Figures.Replay = "mqchaos replay reports/run-20261202T010203Z/repro/broker-restart-control.json"
	var b bytes.Buffer
	if err := WriteHTML(&b, runs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page

	dom := chromium(t, browser, "--dump-dom", url)
	for _, c := range []struct {
		what string
		re   string
		min  int
	}{
		{"charts (one figure per run)", `<svg[ >]`, 2},
		{"the control matrix", `<table class="matrix">`, 1},
		{"matrix links to both runs", `class="verdict (held|violated)" href="#run-broker-restart-`, 2},
		{"a timeline per run", `Operations started per 500ms, by outcome</text>`, 2},
		{"throughput per run", `Throughput: operations completed per second`, 2},
		{"latency per run", `p50 and p99</text>`, 2},
		{"the fault named on each timeline", `> restart rabbitmq</text>`, 2},
		{"the invariant checks charted per run", `Invariants: each check, held or broken</text>`, 2},
		{"the invariants table per run", `<h3>Invariants</h3>`, 2},
		{"fault bands drawn", `fill="#5E35B1" fill-opacity="0.188"|fill-opacity:0.188`, 3},
		{"links from violations to operations", `href="#run-broker-restart-control-transient-queues-op-\d+"`, 10},
		{"the control's replay command under its verdict", `violated</span></h2>\s*<table class="facts">\s*<tbody><tr><th>replay</th><td><code class="replay">mqchaos replay reports/`, 1},
	} {
		if n := len(regexp.MustCompile(c.re).FindAllString(dom, -1)); n < c.min {
			t.Errorf("%s: %d matches of %s in the rendered page, want at least %d", c.what, n, c.re, c.min)
		}
	}
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(dom, -1) {
		ids[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(dom, -1) {
		if !ids[m[1]] {
			t.Errorf("the rendered page links to #%s, which it lacks", m[1])
		}
	}

	shot := filepath.Join(dir, "report.png")
	os.Remove(shot)
	chromium(t, browser, "--screenshot="+shot, "--window-size=1400,2000", "--hide-scrollbars", url)
	if st, err := os.Stat(shot); err != nil || st.Size() < 20_000 {
		t.Fatalf("no screenshot worth the name at %s: %v", shot, err)
	}
	t.Logf("report %s, screenshot %s", page, shot)
}

// chromium runs the browser headless with args, offline: no background
// services, and every request to the network sent to a closed local port.
func chromium(t *testing.T, browser string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir(), "--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--metrics-recording-only",
		"--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"}
	cmd := exec.CommandContext(ctx, browser, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	return stdout.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// moduleRoot is the directory of go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}
