package fault

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mqchaos/mqchaos/harness/history"
)

// slow is a fault that notes when its Inject and Heal ran and what the
// history held then.
type slow struct {
	h                    *history.History
	injectErr, healErr   error
	seenInject, seenHeal []history.Op
	injectedAt, healedAt time.Time
	// mark is what its Check sees once Inject ran; unseen makes the
	// Check see nothing.
	unseen bool
	heals  int
}

func (s *slow) Witness(context.Context) (Check, error) {
	return func(context.Context) (string, error) {
		switch {
		case s.unseen:
			return "", errors.New("rabbitmq still running since 10:00:00")
		case s.injectedAt.IsZero():
			return "", errors.New("checked before the injection")
		}
		return "rabbitmq started again", nil
	}, nil
}

func (s *slow) Name() string { return "restart rabbitmq" }

func (s *slow) Inject(ctx context.Context) error {
	s.seenInject, s.injectedAt = s.h.Ops(), time.Now()
	return s.injectErr
}

func (s *slow) Heal(ctx context.Context) error {
	s.seenHeal, s.healedAt = s.h.Ops(), time.Now()
	s.heals++
	return s.healErr
}

func TestInjectAndHealAreRecordedAsInvokeThenCompletion(t *testing.T) {
	h := &history.History{}
	f := &slow{h: h}
	if err := Inject(t.Context(), h, f); err != nil {
		t.Fatal(err)
	}
	if err := Heal(t.Context(), h, f); err != nil {
		t.Fatal(err)
	}
	if len(f.seenInject) != 1 || f.seenInject[0].Outcome != history.Pending || f.seenInject[0].Kind != history.KindFault {
		t.Errorf("while Inject ran the history held %+v, want the injection invoked and pending", f.seenInject)
	}
	if len(f.seenHeal) != 2 || f.seenHeal[1].Outcome != history.Pending {
		t.Errorf("while Heal ran the history held %+v, want the heal invoked and pending", f.seenHeal)
	}
	ops := h.Ops()
	if len(ops) != 2 {
		t.Fatalf("ops %+v, want an injection and a heal", ops)
	}
	for i, want := range []struct {
		detail string
		ran    time.Time
	}{{Injected + ": rabbitmq started again", f.injectedAt}, {Healed, f.healedAt}} {
		op := ops[i]
		if op.ID != "restart rabbitmq" || op.Outcome != history.OK || op.Detail != want.detail {
			t.Errorf("op %d = %+v, want ok %q of restart rabbitmq", i, op, want.detail)
		}
		if op.Invoked.After(want.ran) || op.Completed.Before(want.ran) {
			t.Errorf("op %d spans %s..%s, which leaves out the engine call at %s", i, op.Invoked, op.Completed, want.ran)
		}
	}
}

func TestFailedInjectAndHealAreRecordedAsFail(t *testing.T) {
	h := &history.History{}
	f := &slow{h: h, injectErr: errors.New("container not running"), healErr: errors.New("no such container")}
	if err := Inject(t.Context(), h, f); err == nil || err.Error() != "inject restart rabbitmq: container not running" {
		t.Errorf("inject error %v", err)
	}
	if err := Heal(t.Context(), h, f); err == nil || err.Error() != "heal restart rabbitmq: no such container" {
		t.Errorf("heal error %v", err)
	}
	ops := h.Ops()
	if len(ops) != 2 || ops[0].Outcome != history.Fail || ops[0].Detail != "inject: container not running" ||
		ops[1].Outcome != history.Fail || ops[1].Detail != "heal: no such container" {
		t.Errorf("ops %+v, want a failed injection and a failed heal with their errors", ops)
	}
}

// An injection whose Check sees no mark fails with ErrNoEffect, is
// recorded as failed with what the Check did not see, and is healed
// again in case it took effect unseen.
func TestAnInjectionWithNoMarkFailsAsNoEffectAndIsHealed(t *testing.T) {
	h := &history.History{}
	f := &slow{h: h, unseen: true}
	err := Inject(t.Context(), h, f)
	if !errors.Is(err, ErrNoEffect) || err.Error() != "inject restart rabbitmq: fault did not take effect: rabbitmq still running since 10:00:00" {
		t.Errorf("inject error %v, want ErrNoEffect with what was not seen", err)
	}
	ops := h.Ops()
	if len(ops) != 1 || ops[0].Outcome != history.Fail || ops[0].Detail != "inject: fault did not take effect: rabbitmq still running since 10:00:00" {
		t.Errorf("ops %+v, want one failed injection saying it did not take effect", ops)
	}
	if f.heals != 1 {
		t.Errorf("healed %d times, want once", f.heals)
	}
}
