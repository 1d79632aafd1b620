package catalogue

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// controlOf finds the control a spec's text names: "(control no-outbox)".
var controlOf = regexp.MustCompile(`\(control ([a-z0-9-]+)[) ]`)

// WritePage writes the catalogue's reference page in Markdown, from the
// scenarios themselves: each one's guarantee, how it goes, what it needs,
// where it runs, its labels, and each side with the control it switches.
// docs/catalogue.md is this page (mqchaos catalogue writes it; a test
// fails when the committed one is stale).
func WritePage(w io.Writer, scenarios []Scenario) {
	specs := 0
	for _, sc := range scenarios {
		specs += len(sc.Specs)
	}
	fmt.Fprintf(w, "<!-- written by `mqchaos catalogue > docs/catalogue.md` from scenarios/catalogue; do not edit -->\n# The catalogue\n\n")
	fmt.Fprintf(w, "%d scenarios, %d specs. Each scenario states a guarantee; its safe side must hold, and each control (the system with one safety mechanism switched off, named in the description's `controls`) must be caught. A system that lacks what a scenario needs has it skipped, with the reason: `mqchaos check` lists them. Run one with `mqchaos run -scenario 'REGEXP'`, a group with `-label`.\n\n", len(scenarios), specs)
	fmt.Fprintf(w, "| scenario | sides | controls | labels |\n|---|---|---|---|\n")
	for i, sc := range scenarios {
		fmt.Fprintf(w, "| [%s](#%d) | %d | %s | %s |\n", sc.Name, i+1, len(sc.Specs), strings.Join(controls(sc), ", "), code(labels(sc)))
	}
	fmt.Fprintf(w, "\n## Labels\n\nA run picks specs by label (`mqchaos run -label`, `ginkgo --label-filter`): `safe` and `unsafe` for the two sides, `guarantee:*` for what is proven, `fault:*` for what is broken, `cluster` and `soak` for the long runs, kept out of a default run.\n\n| label | specs |\n|---|---|\n")
	count := map[string]int{}
	var order []string
	for _, sc := range scenarios {
		for _, sp := range sc.Specs {
			for _, l := range sp.AllLabels(sc) {
				if l == labelSharedInfra {
					continue
				}
				if count[l] == 0 {
					order = append(order, l)
				}
				count[l]++
			}
		}
	}
	slices.Sort(order)
	for _, l := range order {
		fmt.Fprintf(w, "| `%s` | %d |\n", l, count[l])
	}
	for i, sc := range scenarios {
		fmt.Fprintf(w, "\n## <a id=\"%d\"></a>%d. %s\n\n", i+1, i+1, sc.Name)
		if sc.Doc != "" {
			fmt.Fprintf(w, "%s\n\n", strings.Join(strings.Fields(sc.Doc), " "))
		}
		if sc.Needs != "" {
			fmt.Fprintf(w, "**Needs:** %s\n\n", sc.Needs)
		}
		where := "a broker (and database) of its own for each spec"
		if UsesSharedInfra(sc.Labels) {
			where = "the process's shared broker, in a vhost and database of its own"
		}
		fmt.Fprintf(w, "**Runs on:** %s%s. **Labels:** %s\n\n", where, map[bool]string{true: ", alone (serial)"}[sc.Serial], code(labels(sc)))
		for _, sp := range sc.Specs {
			text := strings.TrimSpace(sp.When + " " + sp.Text)
			fmt.Fprintf(w, "- %s — %s, at most %s\n", text, code(sp.Labels), sp.Timeout)
		}
	}
}

// controls is every control a scenario's specs switch, in order.
func controls(sc Scenario) []string {
	var out []string
	for _, sp := range sc.Specs {
		for _, m := range controlOf.FindAllStringSubmatch(sp.Text, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// labels is a scenario's labels but the one for where it runs.
func labels(sc Scenario) []string {
	return slices.DeleteFunc(slices.Clone(sc.Labels), func(l string) bool { return l == labelSharedInfra })
}

func code(ls []string) string {
	if len(ls) == 0 {
		return ""
	}
	return "`" + strings.Join(ls, "`, `") + "`"
}
