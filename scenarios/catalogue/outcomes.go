package catalogue

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/mqchaos/mqchaos/harness/report"
)

// OutcomesFile is the name of the file in a run's directory that keeps
// how each spec ended (WriteOutputs writes it beside figures.json).
const OutcomesFile = "results.json"

// Outcome is how one spec of a run ended, as results.json keeps it: what
// a check of the run's verdicts against a table (mqchaos expect) reads,
// during the run or afterwards. figures.json alone cannot say which spec
// was skipped, or failed before it had figures.
type Outcome struct {
	Key                      // its figures' scenario and side; "" when not known
	Spec    string           `json:"spec"`
	State   State            `json:"state"`
	Message string           `json:"message,omitempty"` // the failure, or the reason for the skip
	Figures []report.Figures `json:"figures,omitempty"`
}

// Outcomes is every result as an outcome, in order.
func Outcomes(results []Result) []Outcome {
	out := make([]Outcome, len(results))
	for i, r := range results {
		k, _ := KeyOf(r)
		out[i] = Outcome{Key: k, Spec: r.Spec, State: r.State, Message: r.Message, Figures: r.Figures}
	}
	return out
}

// WriteOutcomes writes the results' outcomes to path as JSON.
func WriteOutcomes(path string, results []Result) error {
	b, err := json.MarshalIndent(Outcomes(results), "", "  ")
	if err != nil {
		return fmt.Errorf("write outcomes: %w", err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadOutcomes reads the outcomes WriteOutcomes wrote to path.
func ReadOutcomes(path string) ([]Outcome, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Outcome
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
