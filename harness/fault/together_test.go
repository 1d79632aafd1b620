package fault

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// step is a fault that logs what is done to it, and fails when told to.
type step struct {
	name          string
	log           *[]string
	failInj, fail bool
}

func (s step) Name() string { return s.name }
func (s step) Inject(context.Context) error {
	*s.log = append(*s.log, "inject "+s.name)
	if s.failInj {
		return errors.New("refused")
	}
	return nil
}
func (s step) Heal(context.Context) error {
	*s.log = append(*s.log, "heal "+s.name)
	if s.fail {
		return errors.New("stuck")
	}
	return nil
}

func TestTogetherInjectsAndHealsEveryOne(t *testing.T) {
	var log []string
	f := Together("two links", step{name: "a", log: &log}, step{name: "b", log: &log})
	if f.Name() != "two links" {
		t.Fatalf("Name() = %q", f.Name())
	}
	if err := f.Inject(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.Heal(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(log, ", "); got != "inject a, inject b, heal a, heal b" {
		t.Fatalf("got %s", got)
	}
}

func TestTogetherUndoesAHalfInjection(t *testing.T) {
	var log []string
	f := Together("three links", step{name: "a", log: &log}, step{name: "b", log: &log, failInj: true}, step{name: "c", log: &log})
	err := f.Inject(t.Context())
	if err == nil || !strings.Contains(err.Error(), "b: refused") {
		t.Fatalf("want b's error, got %v", err)
	}
	if got := strings.Join(log, ", "); got != "inject a, inject b, heal a" {
		t.Fatalf("got %s", got)
	}
}

func TestTogetherHealsEveryOneWhateverFails(t *testing.T) {
	var log []string
	f := Together("two links", step{name: "a", log: &log, fail: true}, step{name: "b", log: &log})
	err := f.Heal(t.Context())
	if err == nil || !strings.Contains(err.Error(), "a: stuck") {
		t.Fatalf("want a's error, got %v", err)
	}
	if got := strings.Join(log, ", "); got != "heal a, heal b" {
		t.Fatalf("got %s", got)
	}
	if err := Together("none").Inject(t.Context()); err == nil {
		t.Fatal("an empty group was injected")
	}
}
