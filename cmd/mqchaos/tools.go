package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/mqchaos/mqchaos/harness/broker"
	"github.com/mqchaos/mqchaos/harness/compose"
	"github.com/mqchaos/mqchaos/harness/kube"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
)

// flags is a subcommand's flag set, its errors and help on stderr.
func flags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("mqchaos "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args; a bad flag is a usage error, -h is no error.
func parse(fs *flag.FlagSet, args []string) (help bool, err error) {
	switch err := fs.Parse(args); {
	case err == flag.ErrHelp:
		return true, nil
	case err != nil:
		return false, usageError{err}
	case fs.NArg() > 0:
		return false, cannot("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return false, nil
}

// cmdInit writes a description from a compose file, never over a file.
func cmdInit(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("init", stderr)
	in := fs.String("compose", "docker-compose.yml", "the team's compose file")
	out := fs.String("o", "system.yaml", "the description to write (never overwritten)")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	sum, err := compose.Init(*in, *out)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stdout, "wrote %s (%d lines): services %s", *out, sum.Lines, strings.Join(sum.Services, ", "))
	var own []string
	if len(sum.Broker) > 0 {
		own = append(own, "broker "+strings.Join(sum.Broker, ", "))
	}
	if sum.Database != "" {
		own = append(own, "database "+sum.Database)
	}
	if len(own) > 0 {
		fmt.Fprintf(stdout, "; %s replaced by mqchaos's own", strings.Join(own, " and "))
	}
	fmt.Fprintln(stdout)
	for _, r := range sum.Replaced {
		fmt.Fprintln(stdout, "  "+r.String())
	}
	for _, n := range sum.Notes {
		fmt.Fprintln(stdout, "  note: "+n)
	}
	fmt.Fprintf(stdout, "%d TODOs to fill in (each marked in the file), then: mqchaos check -system %s\n", len(sum.TODOs), *out)
	for _, t := range sum.TODOs {
		fmt.Fprintln(stdout, "  TODO "+t)
	}
	return nil
}

// cmdReport draws one report from the runs of several directories.
func cmdReport(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("report", stderr)
	in := fs.String("in", "", "runs' directories, comma-separated, each with a figures.json (required)")
	out := fs.String("out", "report.html", "the HTML file to write")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	if *in == "" {
		return cannot("-in: name the directory of a run (mqchaos run -out)")
	}
	figs, err := drawReport(strings.Split(*in, ","), *out, stderr)
	if err != nil {
		return usageError{err}
	}
	fmt.Fprintf(stdout, "%d runs in %s\n", len(figs), *out)
	if rows := report.SensitivityOf(figs); len(rows) > 0 {
		fmt.Fprintf(stdout, "\nSensitivity: the smallest violation of each class these runs caught, and how often\n\n%s", report.SensitivityTable(rows))
	}
	return nil
}

// drawReport merges the runs of the directories ins into one report at
// out, warning on w about histories it could not read, and returns the
// figures of the runs it drew.
func drawReport(ins []string, out string, w io.Writer) ([]report.Figures, error) {
	var runs []report.Run
	for _, dir := range ins {
		dir = strings.TrimSpace(dir)
		if dir == "" {
			continue
		}
		figs, err := report.ReadJSON(filepath.Join(dir, "figures.json"))
		if err != nil {
			return nil, err
		}
		rs, err := report.LoadRuns(dir, figs)
		if err != nil {
			fmt.Fprintf(w, "drawn without some histories of %s: %v\n", dir, err)
		}
		runs = append(runs, rs...)
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("no runs in %s", strings.Join(ins, ", "))
	}
	if err := report.WriteHTMLFile(out, runs); err != nil {
		return nil, fmt.Errorf("write %s: %w", out, err)
	}
	figs := make([]report.Figures, len(runs))
	for i, r := range runs {
		figs[i] = r.Figures
	}
	return figs, nil
}

// cmdClean removes what runs whose process is gone left behind.
func cmdClean(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("clean", stderr)
	all := fs.Bool("all", false, "remove every mqchaos container and network, also those of runs still in progress")
	target := fs.String("target", "docker", "where the runs ran: docker, or kubernetes (their namespaces, on the cluster of -kubeconfig)")
	kubeconfig := fs.String("kubeconfig", "", "with -target kubernetes: the kubeconfig (default: as kubectl finds it)")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	switch *target {
	case "docker":
		c, n, err := stack.Clean(ctx, !*all)
		fmt.Fprintf(stdout, "removed %d containers, %d networks\n", c, n)
		return err
	case "kubernetes":
		cluster, err := kube.Connect(*kubeconfig)
		if err != nil {
			return err
		}
		n, err := cluster.Clean(ctx, !*all)
		fmt.Fprintf(stdout, "removed %d namespaces\n", n)
		return err
	}
	return usageError{fmt.Errorf("-target %q: want docker or kubernetes", *target)}
}

// cmdDLQReplay moves dead letters back to their source queues, each
// removed only once its republish is confirmed.
func cmdDLQReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("dlq-replay", stderr)
	url := fs.String("url", "", "broker URL with credentials and vhost (default $AMQP_URL)")
	sysPath := fs.String("system", "", "a system description naming the dead-letter queues and the reason and source headers")
	dlqs := fs.String("dlq", "", "dead-letter queues to replay, comma-separated (default with -system: every declared one)")
	reason := fs.String("reason", "", "replay only messages whose reason contains this")
	reasonHeader := fs.String("reason-header", "", "header holding a dead letter's reason (else the broker's x-death reason)")
	sourceHeader := fs.String("source-header", "", "header holding a dead letter's source queue (else the broker's x-death queue)")
	most := fs.Int("max", 0, "stop after this many messages per queue (0: all)")
	if help, err := parse(fs, args); help || err != nil {
		return err
	}
	*url = cmp.Or(*url, getenv("AMQP_URL"))
	if *sysPath != "" {
		sys, err := system.Load(*sysPath)
		if err != nil {
			return usageError{err}
		}
		*reasonHeader = cmp.Or(*reasonHeader, sys.ReasonHeader)
		*sourceHeader = cmp.Or(*sourceHeader, sys.SourceHeader)
		*dlqs = cmp.Or(*dlqs, strings.Join(sys.DeadLetterQueues(), ","))
	}
	if *url == "" || *dlqs == "" {
		return cannot("-url, and -dlq or -system, are required")
	}
	var failed error
	for _, q := range strings.Split(*dlqs, ",") {
		n, err := broker.Replay(ctx, *url, q, broker.ReplayOptions{Reason: *reason, ReasonHeader: *reasonHeader, SourceHeader: *sourceHeader, Max: *most})
		fmt.Fprintf(stdout, "%s: moved %d\n", q, n)
		if err != nil {
			failed = fmt.Errorf("%s: %w", q, err)
			fmt.Fprintln(stderr, failed)
		}
	}
	return failed
}
