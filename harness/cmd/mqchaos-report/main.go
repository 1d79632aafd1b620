// Command mqchaos-report draws the HTML report of scenario runs from what
// the suite left in a reports directory: figures.json and the histories
// it names (histories/*.jsonl). With several directories (-in a,b) it
// merges their runs into one report, for example the reports of local
// runs or of CI shards. A run whose history is missing is drawn from its
// figures alone, with a warning.
//
//	go run ./harness/cmd/mqchaos-report -in reports -out reports/report.html
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mqchaos/mqchaos/harness/report"
)

func main() {
	in := flag.String("in", "reports", "reports directories, comma-separated, each with a figures.json")
	out := flag.String("out", "reports/report.html", "the HTML file to write")
	flag.Parse()
	n, err := run(strings.Split(*in, ","), *out, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mqchaos-report:", err)
		os.Exit(1)
	}
	fmt.Printf("mqchaos-report: %d runs in %s\n", n, *out)
}

// run merges the runs of the reports directories ins into one report at
// out, warning on w about histories it could not read, and returns how
// many runs it drew.
func run(ins []string, out string, w io.Writer) (int, error) {
	var runs []report.Run
	for _, dir := range ins {
		dir = strings.TrimSpace(dir)
		if dir == "" {
			continue
		}
		figs, err := report.ReadJSON(filepath.Join(dir, "figures.json"))
		if err != nil {
			return 0, err
		}
		rs, err := report.LoadRuns(dir, figs)
		if err != nil {
			fmt.Fprintf(w, "mqchaos-report: drawn without some histories of %s: %v\n", dir, err)
		}
		runs = append(runs, rs...)
	}
	if len(runs) == 0 {
		return 0, fmt.Errorf("no runs in %s", strings.Join(ins, ", "))
	}
	if err := report.WriteHTMLFile(out, runs); err != nil {
		return 0, fmt.Errorf("write %s: %w", out, err)
	}
	return len(runs), nil
}
