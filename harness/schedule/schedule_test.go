package schedule

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var inputs = []Input{{Name: "order_http", Prefix: "soak-order-http"}, {Name: "order_amqp", Prefix: "soak-order-amqp", AMQP: true}}

func TestTheSameSeedGivesAByteIdenticalFile(t *testing.T) {
	a := Draw(42, 10*time.Minute, []string{"order", "inventory", "notification"}, true, inputs, 5).Marshal()
	b := Draw(42, 10*time.Minute, []string{"notification", "inventory", "order"}, true, inputs, 5).Marshal()
	if !bytes.Equal(a, b) {
		t.Fatalf("seed 42 drew two files:\n%s\n%s", a, b)
	}
	if c := Draw(43, 10*time.Minute, []string{"order", "inventory", "notification"}, true, inputs, 5).Marshal(); bytes.Equal(a, c) {
		t.Error("seeds 42 and 43 drew the same file")
	}
	path := filepath.Join(t.TempDir(), "schedule.json")
	s := Draw(42, 10*time.Minute, []string{"order"}, true, inputs, 5)
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
	s := Draw(7, 2*time.Minute, []string{"order"}, false, inputs, 5)
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
	ok := Draw(7, time.Minute, []string{"order"}, false, inputs, 5)
	for name, c := range map[string]struct {
		change func(*Schedule)
		want   string
	}{
		"no length":   {func(s *Schedule) { s.Length = 0 }, "length"},
		"overlapping": {func(s *Schedule) { s.Faults = append(s.Faults, s.Faults[0]) }, "starts before"},
		"no rate":     {func(s *Schedule) { s.Loads[0].Rate = 0 }, "loads[0]"},
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
