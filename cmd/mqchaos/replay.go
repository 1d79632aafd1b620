package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/report"
	"github.com/mqchaos/mqchaos/harness/schedule"
	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/scenarios/catalogue"
)

// reproduction is the file a spec whose verdict was not as it must be
// leaves in its run's directory (repro/<spec>.json): what replay needs to
// run it again as it ran, and what the run saw. The spec's code, the seed
// and the description make the load and the faults again; the broker's
// and the system's own timing are not in it.
type reproduction struct {
	Mqchaos string `json:"mqchaos"` // the version that ran it
	// System is the description's path as the run was given it, and
	// SystemSHA256 its digest then: replay refuses a description that
	// changed since.
	System       string `json:"system"`
	SystemSHA256 string `json:"system_sha256"`
	Spec         string `json:"spec"`
	Scenario     string `json:"scenario,omitempty"`
	Side         string `json:"side,omitempty"` // "safe" or "control: <name>"
	Seed         int64  `json:"seed"`
	RabbitMQ     string `json:"rabbitmq_image"`
	Postgres     string `json:"postgres_image"`
	// Verdict is what the run said: the failure's headline, or the
	// expected-verdict table's difference.
	Verdict string `json:"verdict"`
	// Faults are the faults as the history recorded them, from the
	// spec's first operation: "kill inventory-1 injected at +3.2s".
	Faults []string `json:"faults,omitempty"`
	// Sent is the units of work sent, by input.
	Sent map[string]int `json:"sent,omitempty"`
	// Broken is what the run found broken, by kind and place, with the
	// units concerned: what shrink keeps while it cuts.
	Broken []report.Broken `json:"broken,omitempty"`
	// Soak is a soak's whole schedule, faults and load: replay runs it
	// as it is, and shrink cuts it down.
	Soak *schedule.Schedule `json:"soak,omitempty"`
	// Knobs are the sizes a scenario's spec exposes, as it ran them:
	// replay runs it with them, and shrink cuts them down.
	Knobs *catalogue.Knobs `json:"knobs,omitempty"`
}

// control is the control r ran against, or "".
func (r reproduction) control() string {
	c, _ := strings.CutPrefix(r.Side, "control: ")
	if c == r.Side {
		return ""
	}
	return c
}

// writeReproductions writes the reproduction of each result whose spec
// is in unexpected (spec: what was not as it must be) and returns their
// paths by spec. What cannot be written is said on stderr.
func writeReproductions(out string, c runConfig, images stack.Images, results []catalogue.Result, unexpected map[string]string, stderr io.Writer) map[string]string {
	files := map[string]string{}
	if len(unexpected) == 0 {
		return files
	}
	base, err := newReproduction(c, images)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return files
	}
	for _, r := range results {
		verdict, ok := unexpected[r.Spec]
		if !ok {
			continue
		}
		path, err := base.write(out, r, verdict)
		if err != nil {
			fmt.Fprintln(stderr, err)
			continue
		}
		files[r.Spec] = path
	}
	return files
}

// newReproduction is what every reproduction of a run shares: the
// version, the description and its digest, the seed and the images.
func newReproduction(c runConfig, images stack.Images) (reproduction, error) {
	b := c.described
	if b == nil {
		var err error
		if b, err = os.ReadFile(c.system); err != nil {
			return reproduction{}, fmt.Errorf("reproduction: %w", err)
		}
	}
	return reproduction{Mqchaos: version(), System: c.system, SystemSHA256: sha(b), Seed: c.seed, RabbitMQ: images.RabbitMQ, Postgres: images.Postgres}, nil
}

// write writes r, completed with res's spec, side, faults and work,
// under out/repro and returns its path. verdict is what was not as it
// must be.
func (r reproduction) write(out string, res catalogue.Result, verdict string) (string, error) {
	k, _ := catalogue.KeyOf(res)
	r.Spec, r.Scenario, r.Side, r.Verdict = res.Spec, k.Scenario, k.Side, verdict
	if res.Knobs.Exposed() {
		r.Knobs = &res.Knobs
	}
	for _, f := range res.Figures {
		r.Broken = append(r.Broken, f.Broken()...)
		if f.Scenario == "soak" {
			path, err := catalogue.SoakScheduleIn(out)
			if err != nil {
				return "", fmt.Errorf("reproduction of %s: %w", res.Spec, err)
			}
			s, err := schedule.Read(path)
			if err != nil {
				return "", fmt.Errorf("reproduction of %s: %w", res.Spec, err)
			}
			r.Soak = &s
		}
		if f.History == "" {
			continue
		}
		h, err := history.ReadFile(filepath.Join(out, f.History))
		if err != nil {
			return "", fmt.Errorf("reproduction of %s: %w", res.Spec, err)
		}
		ops := h.Ops()
		if len(ops) == 0 {
			continue
		}
		r.Faults = append(r.Faults, h.Faults(ops[0].Invoked)...)
		for _, op := range ops {
			if op.IsWork() && op.ID != "" {
				if r.Sent == nil {
					r.Sent = map[string]int{}
				}
				r.Sent[op.Kind]++
			}
		}
	}
	dir := filepath.Join(out, "repro")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("reproduction: %w", err)
	}
	path := filepath.Join(dir, report.Slug(res.Spec)+".json")
	j, _ := json.MarshalIndent(r, "", "  ")
	return path, os.WriteFile(path, append(j, '\n'), 0o644)
}

// sha is b's SHA-256, in hex.
func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// cmdReplay runs a reproduction's spec again, with its seed, images and
// description, in a directory of its own.
func cmdReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("replay", stderr)
	out := fs.String("out", "", "the replay's directory, new or empty (default: reports/run-<UTC time>)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mqchaos replay [-out DIR] FILE\n\nFILE is a reproduction a run wrote (its directory's repro/*.json).")
		fs.PrintDefaults()
	}
	path, help, err := oneFile(fs, args)
	if help || err != nil {
		return err
	}
	r, err := readReproduction(path, "replay")
	if err != nil {
		return err
	}
	if r.Mqchaos != version() {
		fmt.Fprintf(stdout, "replay: recorded by mqchaos %s, replayed by %s\n", r.Mqchaos, version())
	}
	fmt.Fprintf(stdout, "replay: %s (%s), seed %d; it said: %s\n", r.Spec, r.Side, r.Seed, r.Verdict)
	if r.Knobs != nil {
		fmt.Fprintf(stdout, "replay: with %s\n", r.Knobs)
	}
	c := r.runConfig(*out)
	if r.Soak != nil {
		done, err := r.soakEnv(os.TempDir())
		if err != nil {
			return err
		}
		defer done()
	}
	return runCatalogue(ctx, c, "replay", stdout, stderr)
}

// oneFile parses args into fs and returns the one file they name; help
// is set when they asked for help.
func oneFile(fs *flag.FlagSet, args []string) (path string, help bool, err error) {
	switch err := fs.Parse(args); {
	case err == flag.ErrHelp:
		return "", true, nil
	case err != nil:
		return "", false, usageError{err}
	case fs.NArg() != 1:
		return "", false, usageError{fmt.Errorf("%s: want one reproduction file, got %d arguments", fs.Name(), fs.NArg())}
	}
	return fs.Arg(0), false, nil
}

// runConfig is the run of r's spec, as it ran, into out, on the local
// Docker engine (a reproduction does not say where it ran).
func (r reproduction) runConfig(out string) runConfig {
	c := runConfig{system: r.System, scenario: "^" + regexp.QuoteMeta(r.Spec) + "$", seed: r.Seed, procs: 1, out: out, rabbitmq: r.RabbitMQ, postgres: r.Postgres, target: "docker"}
	if r.Knobs != nil {
		c.knobs = *r.Knobs
	}
	return c
}

// readReproduction reads the reproduction in path for the subcommand
// how, refusing one this mqchaos cannot run as it ran: not a
// reproduction, its description changed, or its spec unknown.
func readReproduction(path, how string) (reproduction, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return reproduction{}, usageError{fmt.Errorf("%s: %w", how, err)}
	}
	var r reproduction
	if err := json.Unmarshal(b, &r); err != nil {
		return r, usageError{fmt.Errorf("%s: %s: %w", how, path, err)}
	}
	if r.Spec == "" || r.System == "" {
		return r, usageError{fmt.Errorf("%s: %s: not a reproduction (no spec or system)", how, path)}
	}
	desc, err := os.ReadFile(r.System)
	if err != nil {
		return r, usageError{fmt.Errorf("%s: %s: the description: %w", how, path, err)}
	}
	if now := sha(desc); now != r.SystemSHA256 {
		return r, usageError{fmt.Errorf("%s: %s: %s changed since the run (sha256 %.12s then, %.12s now): it would not be the same run", how, path, r.System, r.SystemSHA256, now)}
	}
	if _, _, ok := catalogue.SpecNamed(r.Spec); !ok {
		return r, usageError{fmt.Errorf("%s: %s: this mqchaos (%s) has no spec %q (the run was %s)", how, path, version(), r.Spec, r.Mqchaos)}
	}
	if r.Soak != nil {
		if err := r.Soak.Check(); err != nil {
			return r, usageError{fmt.Errorf("%s: %s: soak: %w", how, path, err)}
		}
	}
	return r, nil
}

// soakEnv sets the environment the soak reads to run r's schedule
// against r's control, the schedule written to a file in dir; done
// removes that file.
func (r reproduction) soakEnv(dir string) (done func(), err error) {
	f, err := os.CreateTemp(dir, "mqchaos-schedule-*.json")
	if err != nil {
		return nil, cannot("replay: %v", err)
	}
	f.Close()
	if err := r.Soak.Write(f.Name()); err != nil {
		return nil, cannot("replay: %v", err)
	}
	os.Setenv("MQCHAOS_SOAK_SCHEDULE", f.Name())
	os.Setenv("MQCHAOS_SOAK_CONTROL", r.control())
	os.Unsetenv("MQCHAOS_SOAK_DURATION")
	return func() { os.Remove(f.Name()) }, nil
}
