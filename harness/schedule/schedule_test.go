package schedule

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/nemesis"
)

var inputs = []Input{{Name: "order_http", Prefix: "soak-order-http"}, {Name: "order_amqp", Prefix: "soak-order-amqp", AMQP: true}}

func TestTheSameSeedGivesAByteIdenticalFile(t *testing.T) {
	r := Recipe{Seed: 42, Length: 10 * time.Minute, Services: []string{"order", "inventory", "notification"}, Database: true, Inputs: inputs, Rate: 5, Faults: nemesis.Options{Overlap: 0.25}}
	a := r.Draw().Marshal()
	r.Services = []string{"notification", "inventory", "order"}
	b := r.Draw().Marshal()
	if !bytes.Equal(a, b) {
		t.Fatalf("seed 42 drew two files:\n%s\n%s", a, b)
	}
	r.Seed = 43
	if c := r.Draw().Marshal(); bytes.Equal(a, c) {
		t.Error("seeds 42 and 43 drew the same file")
	}
	path := filepath.Join(t.TempDir(), "schedule.json")
	s := Recipe{Seed: 42, Length: 10 * time.Minute, Services: []string{"order"}, Database: true, Inputs: inputs, Rate: 5, Faults: nemesis.Options{Overlap: 0.5}}.Draw()
	if err := s.Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Marshal(), s.Marshal()) {
		t.Errorf("read back, the file changed:\n%s\n%s", back.Marshal(), s.Marshal())
	}
}

func TestDrawSendsTheSoaksLoad(t *testing.T) {
	s := Recipe{Seed: 7, Length: 2 * time.Minute, Services: []string{"order"}, Inputs: inputs, Rate: 5}.Draw()
	if len(s.Faults) == 0 || len(s.Loads) != 2 {
		t.Fatalf("%d faults, %d loads", len(s.Faults), len(s.Loads))
	}
	// 600 units per input, every tenth AMQP unit twice, a poison message
	// every 20 s.
	if got := s.Units(); got != 600+600+60+6 {
		t.Errorf("Units() = %d, want 1266", got)
	}
	if got := s.Loads[1].At(11); got != 2*time.Second {
		t.Errorf("unit 11 at 5 a second is sent at %s, want 2s", got)
	}
}

func TestCheckRefusesWhatCannotRun(t *testing.T) {
	ok := Recipe{Seed: 7, Length: time.Minute, Services: []string{"order"}, Inputs: inputs, Rate: 5}.Draw()
	for name, c := range map[string]struct {
		change func(*Schedule)
		want   string
	}{
		"no length":    {func(s *Schedule) { s.Length = 0 }, "length"},
		"out of order": {func(s *Schedule) { s.Faults = append(s.Faults, s.Faults[0]) }, "before the fault before it"},
		"same target":  {func(s *Schedule) { s.Faults = append(s.Faults[:1], s.Faults[0]) }, "starts while"},
		"three at once": {func(s *Schedule) {
			f := Fault{At: s.Faults[0].At, Kind: "kill-replica", Hold: Duration(time.Second)}
			a, b := f, f
			a.Target, b.Target = "x", "y"
			s.Faults = append(s.Faults[:1], a, b)
		}, "two at once at most"},
		"no rate": {func(s *Schedule) { s.Loads[0].Rate = 0 }, "loads[0]"},
	} {
		s := ok.Clone()
		c.change(&s)
		if err := s.Check(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Check() = %v, want an error with %q", name, err, c.want)
		}
	}
	if err := ok.Check(); err != nil {
		t.Errorf("a drawn schedule: %v", err)
	}
}
