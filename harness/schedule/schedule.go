// Package schedule is a soak's whole plan: the faults the nemesis injects
// and the units each input sends, drawn from a seed. As JSON it is the
// file a reproduction carries, replay runs and shrink cuts down: the same
// seed, length and system give the same bytes.
package schedule

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/mqchaos/mqchaos/harness/nemesis"
)

// Schedule is what a soak does, from its start.
type Schedule struct {
	Seed   uint64   `json:"seed"`
	Length Duration `json:"length"` // how long the load and the faults go on
	Faults []Fault  `json:"faults"`
	Loads  []Load   `json:"loads"`
	// PoisonEvery is how often a poison message goes to the first AMQP
	// input; 0: never.
	PoisonEvery Duration `json:"poison_every,omitempty"`
}

// Fault is one fault of the nemesis (see nemesis.Step).
type Fault struct {
	At     Duration `json:"at"`
	Kind   string   `json:"kind"`
	Target string   `json:"target"`
	Hold   Duration `json:"hold"`
}

// Step is f as the nemesis runs it.
func (f Fault) Step() nemesis.Step {
	return nemesis.Step{At: time.Duration(f.At), Kind: f.Kind, Target: f.Target, Hold: time.Duration(f.Hold)}
}

// End is when f is healed.
func (f Fault) End() time.Duration { return time.Duration(f.At + f.Hold) }

// Load is the units one input sends: From, From+1, ... From+Count-1,
// paced at Rate from the schedule's start.
type Load struct {
	Input  string  `json:"input"`
	Prefix string  `json:"prefix"` // unit ids are Prefix-0001, ...
	From   int     `json:"from"`
	Count  int     `json:"count"`
	Rate   float64 `json:"rate"` // units per second
	Seed   uint64  `json:"seed"`
	// AgainEvery sends every n-th unit (those whose number is 1 more than
	// a multiple of n) a second time, at Rate/n; 0: none.
	AgainEvery int `json:"again_every,omitempty"`
}

// At is when unit n of l is sent, from the schedule's start.
func (l Load) At(n int) time.Duration {
	return time.Duration(float64(n-l.From) / l.Rate * float64(time.Second))
}

// Again is how many of l's units are sent twice.
func (l Load) Again() int {
	if l.AgainEvery <= 0 {
		return 0
	}
	n := 0
	for i := l.From; i < l.From+l.Count; i++ {
		if l.SentTwice(i) {
			n++
		}
	}
	return n
}

// SentTwice reports whether unit n of l is sent a second time.
func (l Load) SentTwice(n int) bool { return l.AgainEvery > 0 && (n-1)%l.AgainEvery == 0 }

// Input is an input of the system as Draw needs it.
type Input struct {
	Name   string
	Prefix string // of its units' ids
	AMQP   bool   // units may be sent twice, and poison goes to the first
}

// Recipe is what a soak's schedule is drawn from.
type Recipe struct {
	Seed     uint64
	Length   time.Duration
	Services []string // the targets of the replica faults
	Database bool     // the system has one: it can be paused and killed
	Inputs   []Input
	Rate     float64 // units a second through each input
	Faults   nemesis.Options
}

// Draw draws the schedule of a soak: the nemesis's faults, Rate units a
// second through each input, every tenth AMQP unit twice, and a poison
// message every 20 s where there is an AMQP input.
func (r Recipe) Draw() Schedule {
	s := Schedule{Seed: r.Seed, Length: Duration(r.Length)}
	for _, st := range nemesis.Plan(r.Seed, r.Length, r.Services, r.Database, r.Faults) {
		s.Faults = append(s.Faults, Fault{At: Duration(st.At), Kind: st.Kind, Target: st.Target, Hold: Duration(st.Hold)})
	}
	for i, in := range r.Inputs {
		l := Load{Input: in.Name, Prefix: in.Prefix, From: 1, Count: int(r.Rate * r.Length.Seconds()), Rate: r.Rate, Seed: r.Seed + uint64(i)}
		if in.AMQP {
			l.AgainEvery = 10
			s.PoisonEvery = Duration(20 * time.Second)
		}
		s.Loads = append(s.Loads, l)
	}
	return s
}

// Steps are s's faults as the nemesis runs them.
func (s Schedule) Steps() []nemesis.Step {
	out := make([]nemesis.Step, len(s.Faults))
	for i, f := range s.Faults {
		out[i] = f.Step()
	}
	return out
}

// Units counts the units s sends, those sent twice counted twice, and
// its poison messages.
func (s Schedule) Units() int {
	n := 0
	for _, l := range s.Loads {
		n += l.Count + l.Again()
	}
	if s.PoisonEvery > 0 {
		n += int(time.Duration(s.Length) / time.Duration(s.PoisonEvery))
	}
	return n
}

func (s Schedule) String() string {
	return fmt.Sprintf("%d faults, %d units over %s", len(s.Faults), s.Units(), time.Duration(s.Length))
}

// Clone is a deep copy of s.
func (s Schedule) Clone() Schedule {
	s.Faults = slices.Clone(s.Faults)
	s.Loads = slices.Clone(s.Loads)
	return s
}

// Marshal is s's file: indented JSON, a line per fault and per load.
func (s Schedule) Marshal() []byte {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(err) // a Schedule has nothing that cannot be marshalled
	}
	return append(b, '\n')
}

// Write writes s to path.
func (s Schedule) Write(path string) error { return os.WriteFile(path, s.Marshal(), 0o644) }

// Read reads the schedule in path, checking it.
func Read(path string) (Schedule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Schedule{}, fmt.Errorf("schedule: %w", err)
	}
	var s Schedule
	if err := json.Unmarshal(b, &s); err != nil {
		return Schedule{}, fmt.Errorf("schedule %s: %w", path, err)
	}
	if err := s.Check(); err != nil {
		return Schedule{}, fmt.Errorf("schedule %s: %w", path, err)
	}
	return s, nil
}

// Check says what in s cannot be run.
func (s Schedule) Check() error {
	if s.Length <= 0 {
		return fmt.Errorf("length %s: want more than 0", time.Duration(s.Length))
	}
	for i, f := range s.Faults {
		switch {
		case f.Kind == "" || f.Target == "":
			return fmt.Errorf("faults[%d]: want a kind and a target", i)
		case f.Hold < 0 || f.At < 0:
			return fmt.Errorf("faults[%d] (%s): at %s, hold %s: want 0 or more", i, f.Kind, time.Duration(f.At), time.Duration(f.Hold))
		case i > 0 && f.At < s.Faults[i-1].At:
			return fmt.Errorf("faults[%d] (%s at %s): before the fault before it", i, f.Kind, time.Duration(f.At))
		}
		held := 0
		for _, o := range s.Faults[:i] {
			if o.End() > time.Duration(f.At) {
				held++
				if o.Target == f.Target {
					return fmt.Errorf("faults[%d] (%s at %s): starts while %s holds %s", i, f.Kind, time.Duration(f.At), o.Kind, o.Target)
				}
			}
		}
		if held > 1 {
			return fmt.Errorf("faults[%d] (%s at %s): starts while %d faults are held; two at once at most", i, f.Kind, time.Duration(f.At), held)
		}
	}
	for i, l := range s.Loads {
		if l.Input == "" || l.Prefix == "" || l.From < 1 || l.Count < 0 || l.Rate <= 0 {
			return fmt.Errorf("loads[%d] (%s): want an input, a prefix, from 1 or more, a count of 0 or more and a rate above 0", i, l.Input)
		}
	}
	return nil
}

// Duration is a time.Duration written as Go writes it ("12.5s").
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
