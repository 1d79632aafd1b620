// Command mqchaos tests a described system's messaging guarantees on
// RabbitMQ: it starts the system in containers, breaks it, drives it,
// records what happened and judges it with mqchaos's scenario catalogue.
//
//	mqchaos init                       # system.yaml from ./docker-compose.yml
//	mqchaos check -system system.yaml  # which scenarios will run, and why not
//	mqchaos run -system system.yaml    # the catalogue; exit 0, 1 or 2
//	mqchaos run -system system.yaml -expect expected-verdicts.yaml
//
// Exit status: 0 when every verdict is as it must be, 1 when a guarantee
// is violated or a control is not caught, 2 when mqchaos could not run
// (a bad description, table or flag, no Docker, an image it cannot
// build). With -expect, 0 and 1 say whether every verdict is the one the
// table expects, failed specs or not.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// Exit statuses.
const (
	exitHeld     = 0
	exitViolated = 1
	exitCannot   = 2
)

// usageError is a command line or input mqchaos cannot work with: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func cannot(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// violated is a run whose verdicts are not all as they must be: exit 1.
var errViolated = errors.New("a verdict is not as it must be")

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"init", "write a system description from a docker-compose.yml", cmdInit},
		{"check", "validate a description; say which scenarios will run or be skipped, and why", cmdCheck},
		{"run", "run the catalogue (or part of it) against a described system", cmdRun},
		{"expect", "hold a finished run's verdicts to an expected-verdict table", cmdExpect},
		{"replay", "run a failed spec again from the reproduction its run wrote", cmdReplay},
		{"soak", "a long mixed load under a seeded schedule of faults", cmdSoak},
		{"shrink", "cut a failed soak down to the few faults and units that still fail", cmdShrink},
		{"report", "draw the HTML report again from runs' directories", cmdReport},
		{"judge", "judge runs' histories again, offline, and compare with their verdicts", cmdJudge},
		{"catalogue", "write the catalogue's reference page (Markdown) to stdout", cmdCatalogue},
		{"clean", "remove the containers and networks (or namespaces) of interrupted runs", cmdClean},
		{"dlq-replay", "move dead-lettered messages back to their queues", cmdDLQReplay},
		{"version", "print mqchaos's version", cmdVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := mainArgs(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// mainArgs runs the subcommand args name and returns the exit status.
func mainArgs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitCannot
		}
		return exitHeld
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		if err == nil {
			return exitHeld
		}
		fmt.Fprintf(stderr, "mqchaos %s: %s\n", c.name, oneLine(err.Error()))
		if errors.Is(err, errViolated) {
			return exitViolated
		}
		return exitCannot
	}
	fmt.Fprintf(stderr, "mqchaos: no command %q\n", args[0])
	usage(stderr)
	return exitCannot
}

// oneLine is an error's message on one line: a CI log's tail, or a
// terminal, shows the whole reason (YAML's and the description's
// validation errors come a line each).
func oneLine(msg string) string {
	var parts []string
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mqchaos <command> [flags]   (mqchaos <command> -h for its flags)")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
}

// version is the module's version as built (go install ...@v1.2.3), or
// "devel".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func cmdVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintln(stdout, "mqchaos", version())
	return nil
}
