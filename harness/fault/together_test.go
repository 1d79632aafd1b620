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
	unseen        bool // its Check sees no mark
}

func (s step) Name() string { return s.name }
func (s step) Witness(context.Context) (Check, error) {
	return func(context.Context) (string, error) {
		if s.unseen {
			return "", errors.New("no mark")
		}
		return s.name + " seen", nil
	}, nil
}
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

// Together sees the mark of every one, and names the one without.
func TestTogetherSeesEveryMark(t *testing.T) {
	var log []string
	check, err := Together("two links", step{name: "a", log: &log}, step{name: "b", log: &log}).Witness(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if saw, err := check(t.Context()); err != nil || saw != "a seen; b seen" {
		t.Errorf("check = %q, %v; want both seen", saw, err)
	}
	check, _ = Together("two links", step{name: "a", log: &log}, step{name: "b", log: &log, unseen: true}).Witness(t.Context())
	if _, err := check(t.Context()); err == nil || err.Error() != "b: no mark" {
		t.Errorf("check error %v, want b's", err)
	}
}
