package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The command as a team runs it: the binary, built, run from a directory
// outside the repository against a description there (the reference
// system on its images, built beforehand by make images), on one
// scenario. Its exit status, JUnit, report and, under GitHub Actions, its
// annotations and step summary are what CI reads. Run by make e2e
// (MQCHAOS_E2E=1); it needs Docker and the images.
func TestEndToEnd(t *testing.T) {
	if os.Getenv("MQCHAOS_E2E") != "1" {
		t.Skip("set MQCHAOS_E2E=1 (make e2e): it runs the system in Docker")
	}
	work := t.TempDir()
	bin := filepath.Join(work, "mqchaos")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	desc := withoutBuilds(t, "../../systems/reference/system.yaml")
	os.WriteFile(filepath.Join(work, "system.yaml"), desc, 0o644)
	// A control that switches nothing off: its violation cannot show.
	broken := bytes.Replace(desc, []byte("UNSAFE_SHARED_QUEUE"), []byte("NOT_A_SWITCH"), 1)
	os.WriteFile(filepath.Join(work, "broken-control.yaml"), broken, 0o644)
	os.WriteFile(filepath.Join(work, "bad.yaml"), []byte("name: x\nservices: [{name: a, port: nope}]\n"), 0o644)

	mqchaos := func(env []string, args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("mqchaos %s: exit %d\n%s", strings.Join(args, " "), code, out)
		return code, string(out)
	}

	if code, out := mqchaos(nil, "check", "-system", "bad.yaml"); code != 2 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "bad.yaml") {
		t.Errorf("a bad description: exit %d, want 2 with one line naming it", code)
	}
	if code, out := mqchaos(nil, "check", "-system", "system.yaml"); code != 0 || !strings.Contains(out, "runs     holds with one queue per consuming service") {
		t.Errorf("check: exit %d", code)
	}

	code, out := mqchaos(nil, "run", "-system", "system.yaml", "-scenario", "^Multi-service fanout", "-procs", "1", "-out", "held")
	if code != 0 || !strings.Contains(out, "scenarios: 2 passed, 0 failed, 0 skipped") {
		t.Errorf("run: exit %d, want 0 and two specs as they must be", code)
	}
	s := readJUnit(t, filepath.Join(work, "held", "junit.xml"))
	if s.Tests != 2 || s.Failures != 0 || s.Skipped != 0 {
		t.Errorf("junit: %d tests, %d failures, %d skipped; want 2, 0, 0", s.Tests, s.Failures, s.Skipped)
	}
	for _, f := range []string{"report.html", "figures.json"} {
		if b, err := os.ReadFile(filepath.Join(work, "held", f)); err != nil || !bytes.Contains(b, []byte("fanout")) {
			t.Errorf("%s: %v", f, err)
		}
	}
	if hs, _ := filepath.Glob(filepath.Join(work, "held", "histories", "*.jsonl")); len(hs) != 2 {
		t.Errorf("histories: %v, want one per side", hs)
	}

	summary := filepath.Join(work, "step-summary.md")
	code, out = mqchaos([]string{"GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY=" + summary},
		"run", "-system", "broken-control.yaml", "-scenario", "^Multi-service fanout.*control shared-queue", "-procs", "1", "-out", "violated")
	if code != 1 {
		t.Errorf("a control that is not caught: exit %d, want 1", code)
	}
	repros, _ := filepath.Glob(filepath.Join(work, "violated", "repro", "*.json"))
	if len(repros) != 1 {
		t.Fatalf("reproductions: %v, want one for the failed spec", repros)
	}
	repro, _ := filepath.Rel(work, repros[0])
	if !strings.Contains(out, "::error title=mqchaos%3A Multi-service fanout") || !strings.Contains(out, "reproduce: mqchaos replay "+repro) {
		t.Errorf("no annotation with the command that reproduces it (mqchaos replay %s)", repro)
	}
	// The failure, replayed with one command, fails the same way; a
	// description changed since is refused.
	if code, out := mqchaos(nil, "replay", "-out", "replayed", repro); code != 1 || !strings.Contains(out, "scenarios: 0 passed, 1 failed") || !strings.Contains(out, "the control must report lost units") {
		t.Errorf("replay: exit %d, want 1 and the same failure again", code)
	}
	os.WriteFile(filepath.Join(work, "broken-control.yaml"), append(broken, "# changed\n"...), 0o644)
	if code, out := mqchaos(nil, "replay", repro); code != 2 || !strings.Contains(out, "changed since the run") {
		t.Errorf("replay of a changed description: exit %d, want 2", code)
	}
	if b, _ := os.ReadFile(summary); !bytes.Contains(b, []byte("**not as it must be**")) {
		t.Errorf("step summary:\n%s", b)
	}
	if s := readJUnit(t, filepath.Join(work, "violated", "junit.xml")); s.Failures != 1 {
		t.Errorf("junit: %d failures, want 1", s.Failures)
	}
}

// withoutBuilds is the description at path with its services' builds
// taken out: a team's description of images it builds itself.
func withoutBuilds(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	for i := 0; i < len(root.Content); i += 2 {
		if root.Content[i].Value != "services" {
			continue
		}
		for _, svc := range root.Content[i+1].Content {
			for j := 0; j < len(svc.Content); j += 2 {
				if svc.Content[j].Value == "build" {
					svc.Content = append(svc.Content[:j], svc.Content[j+2:]...)
					break
				}
			}
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readJUnit(t *testing.T, path string) junitSuite {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s junitSuites
	if err := xml.Unmarshal(b, &s); err != nil || len(s.Suites) != 1 {
		t.Fatalf("junit %s: %v", path, err)
	}
	return s.Suites[0]
}
