package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

// junitSuites is JUnit XML as CI systems read it: one test case per spec
// (a scenario's side), its class the scenario.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Class   string     `xml:"classname,attr"`
	Name    string     `xml:"name,attr"`
	Time    float64    `xml:"time,attr"`
	Failure *junitText `xml:"failure"`
	Skipped *junitText `xml:"skipped"`
	Out     string     `xml:"system-out,omitempty"`
}

type junitText struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// writeJUnit writes the results to path as JUnit XML.
func writeJUnit(path, system string, results []catalogue.Result, rep reproducer) error {
	s := junitSuite{Name: "mqchaos: " + system}
	for _, r := range results {
		c := junitCase{Class: r.Scenario, Name: strings.TrimSpace(strings.TrimPrefix(r.Spec, r.Scenario)), Time: r.RunTime.Seconds(), Out: figuresText(r)}
		switch r.State {
		case catalogue.Failed:
			s.Failures++
			c.Failure = &junitText{Message: r.Headline(), Body: r.Message + "\n\n" + figuresText(r) + "\nreproduce: " + rep.command(r) + "\n\n" + r.Output}
		case catalogue.Skipped:
			s.Skipped++
			c.Skipped = &junitText{Message: r.Message}
		}
		s.Tests++
		s.Time += r.RunTime.Seconds()
		s.Cases = append(s.Cases, c)
	}
	b, err := xml.MarshalIndent(junitSuites{Suites: []junitSuite{s}}, "", "  ")
	if err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(b, '\n')...), 0o644)
}

// figuresText is every verdict of r, a line each.
func figuresText(r catalogue.Result) string {
	var b strings.Builder
	for _, f := range r.Figures {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}

// githubOutputs appends the verdict table to the step summary file (when
// GitHub names one) and writes an error annotation for each failed spec
// to w, with its figures and the command that reproduces it.
func githubOutputs(w io.Writer, summaryPath, system string, results []catalogue.Result, rep reproducer) error {
	for _, r := range results {
		if r.State != catalogue.Failed {
			continue
		}
		msg := r.Message + "\n" + figuresText(r) + "reproduce: " + rep.command(r)
		fmt.Fprintf(w, "::error title=%s::%s\n", escapeProperty("mqchaos: "+r.Spec), escapeData(msg))
	}
	if summaryPath == "" {
		return nil
	}
	f, err := os.OpenFile(summaryPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, stepSummary(system, results, rep)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// stepSummary is the verdict table in GitHub's Markdown.
func stepSummary(system string, results []catalogue.Result, rep reproducer) string {
	passed, failed, skipped := catalogue.Counts(results)
	var b strings.Builder
	fmt.Fprintf(&b, "## mqchaos: %s\n\n%d as they must be, %d not, %d skipped\n\n| scenario | side | verdict | figures |\n|---|---|---|---|\n", system, passed, failed, skipped)
	cell := func(s string) string {
		return strings.NewReplacer("|", `\|`, "\n", "<br>").Replace(strings.TrimSpace(s))
	}
	for _, r := range results {
		verdict := map[catalogue.State]string{catalogue.Passed: "as it must be", catalogue.Failed: "**not as it must be**", catalogue.Skipped: "skipped"}[r.State]
		figs := figuresText(r)
		if r.State != catalogue.Passed && r.Message != "" {
			figs = r.Headline() + "\n" + figs
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(r.Scenario), cell(strings.TrimPrefix(r.Spec, r.Scenario)), verdict, cell(figs))
	}
	for _, r := range results {
		if r.State == catalogue.Failed {
			fmt.Fprintf(&b, "\nReproduce *%s*:\n```\n%s\n```\n", r.Spec, rep.command(r))
		}
	}
	return b.String()
}

// escapeData and escapeProperty escape a workflow command's message and
// properties, as GitHub's toolkit does.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
