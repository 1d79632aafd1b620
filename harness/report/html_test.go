package report

import (
	"bytes"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestWriteHTMLIsSelfContainedAndLinked(t *testing.T) {
	runs := append(sampleRuns(), Run{Figures: Figures{Scenario: "fanout", Side: "safe", System: "reference"}}) // a run without history
	var b bytes.Buffer
	if err := WriteHTML(&b, runs); err != nil {
		t.Fatal(err)
	}
	page := b.String()

	// Nothing loaded from elsewhere.
	for _, re := range []string{`<script`, `<link`, `src=`, `@import`, `url\(`} {
		if regexp.MustCompile(re).MatchString(page) {
			t.Errorf("the page refers outside itself (%s)", re)
		}
	}
	if n := strings.Count(page, "<svg"); n != 2 {
		t.Errorf("%d chart figures, want one for each run with a history (2)", n)
	}
	// Every link lands on an element of the page, and the violations
	// link to their operations.
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		if ids[m[1]] {
			t.Errorf("id %q twice", m[1])
		}
		ids[m[1]] = true
	}
	links := regexp.MustCompile(`href="#([^"]+)"`).FindAllStringSubmatch(page, -1)
	var toOps int
	for _, m := range links {
		if !ids[m[1]] {
			t.Errorf("link to #%s, which is not on the page", m[1])
		}
		if strings.Contains(m[1], "-op-") {
			toOps++
		}
	}
	if toOps < 10 {
		t.Errorf("%d links to operations, want the control's lost and duplicated examples", toOps)
	}
	for _, want := range []string{
		`id="run-broker-restart-safe"`, `id="run-broker-restart-control-transient-queues"`, `id="run-fanout-safe"`,
		"transient-queues: violated", "as it must", "restart rabbitmq", "No history was recorded", "<th>broker</th><td>RabbitMQ 3.10.8 (Erlang 25.2.3)</td>",
		"<h3>Invariants</h3>", "Invariants: each check, held or broken", `<td class="nowrap">every order ends final</td>`,
		`at +20.0s: <span class="rows">broken: 2 of 2 rows, want no row: {&#34;order_id&#34;:&#34;restart-0291&#34;`,
	} {
		if !strings.Contains(page, want) && !strings.Contains(page, strings.ReplaceAll(want, `"`, "&#34;")) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// A run that left a reproduction shows the command that replays it in
// its own section, under its verdict and escaped; a run that left none
// shows no command.
func TestWriteHTMLShowsTheReplayCommandUnderItsVerdict(t *testing.T) {
	cmd := "mqchaos replay reports/run-20261202T010203Z/repro/fanout<b>&.json"
	runs := []Run{
		{Figures: Figures{Scenario: "fanout", Side: "control: shared-queue", System: "reference", Violations: []string{"lost 3"}, Replay: cmd}},
		{Figures: Figures{Scenario: "fanout", Side: "safe", System: "reference"}},
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, runs); err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	for _, m := range regexp.MustCompile(`(?s)<section class="run[^"]*" id="([^"]+)">(.*?)</section>`).FindAllStringSubmatch(b.String(), -1) {
		sections[m[1]] = m[2]
	}
	control, safe := sections["run-fanout-control-shared-queue"], sections["run-fanout-safe"]
	if control == "" || safe == "" {
		t.Fatalf("sections %q: want one per run", slices.Sorted(maps.Keys(sections)))
	}
	want := `<code class="replay">mqchaos replay reports/run-20261202T010203Z/repro/fanout&lt;b&gt;&amp;.json</code>`
	at := strings.Index(control, want)
	if at < 0 {
		t.Fatalf("the control's section lacks %s:\n%s", want, control)
	}
	if verdict, facts := strings.Index(control, `<span class="verdict violated">`), strings.Index(control, "<th>system</th>"); verdict < 0 || verdict > at || at > facts {
		t.Errorf("the command is at %d, want it between the verdict (%d) and the run's other facts (%d)", at, verdict, facts)
	}
	if strings.Contains(safe, "mqchaos replay") || strings.Contains(safe, `class="replay"`) {
		t.Errorf("the safe run left no reproduction, yet its section shows a command:\n%s", safe)
	}
}
