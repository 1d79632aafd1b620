package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/mqchaos/mqchaos/harness/system"
	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

// cmdCheck validates a description and says, for every spec of the
// catalogue, whether a run would run it or skip it and why, and which
// controls the description does not provide. It starts nothing.
func cmdCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("check", stderr)
	path := fs.String("system", "system.yaml", "the system description")
	scenario := fs.String("scenario", "", "check only the specs whose full name matches this regular expression")
	label := fs.String("label", "", "a label filter, as for run; empty: every spec")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	sys, err := system.Load(*path)
	if err != nil {
		return usageError{err}
	}
	var focus *regexp.Regexp
	if *scenario != "" {
		if focus, err = regexp.Compile(*scenario); err != nil {
			return cannot("-scenario: %v", err)
		}
	}
	picked, err := catalogue.Select(catalogue.All(), focus, *label)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stdout, "%s: %s, %d services, %d inputs, %d effects, %d controls\n", *path, sys.Name, len(sys.Services), len(sys.Inputs), len(sys.Effects), len(sys.Controls))
	runs := 0
	last := ""
	for _, p := range catalogue.CheckAll(sys, picked) {
		if p.Scenario.Name != last {
			fmt.Fprintln(stdout, p.Scenario.Name)
			last = p.Scenario.Name
		}
		text := strings.TrimSpace(p.Spec.When + " " + p.Spec.Text)
		if p.Runs {
			runs++
			fmt.Fprintf(stdout, "  runs     %s\n", text)
			continue
		}
		fmt.Fprintf(stdout, "  skipped  %s: %s\n", text, p.Reason)
	}
	fmt.Fprintf(stdout, "%d of %d specs will run\n", runs, len(picked))
	if missing := catalogue.MissingControls(sys); len(missing) > 0 {
		fmt.Fprintf(stdout, "controls the catalogue asks for that %s does not provide: %s\n", sys.Name, strings.Join(missing, ", "))
	}
	return nil
}

// cmdCatalogue writes the catalogue's reference page, docs/catalogue.md.
func cmdCatalogue(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("catalogue", stderr)
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	catalogue.WritePage(stdout, catalogue.All())
	return nil
}
