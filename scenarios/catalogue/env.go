package catalogue

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mqchaos/mqchaos/harness/stack"
	"github.com/mqchaos/mqchaos/harness/system"
)

// Env is where specs run: the system under test, the images of the broker
// and database, where reports go, and one parallel process's (or
// worker's) shared broker and database. One Env serves one process's
// specs, one at a time.
type Env struct {
	System  *system.System
	Images  stack.Images
	Reports string // the directory for figures, histories and the report
	// Platform is where the brokers, databases and services run: nil,
	// the local Docker engine; or stack.Kubernetes.
	Platform stack.Platform
	// Knobs set the sizes the specs expose (a replay's or a shrink's);
	// zero fields leave a spec's own.
	Knobs  Knobs
	shared sharedInfra
}

// infraOptions are the options of every Infra the specs start.
func (e *Env) infraOptions(opts ...stack.InfraOption) []stack.InfraOption {
	if e.Platform != nil {
		opts = append(opts, stack.OnPlatform(e.Platform))
	}
	return opts
}

// NewEnv is an Env for sys; its shared broker is not started.
func NewEnv(sys *system.System, images stack.Images, reports string) *Env {
	return &Env{System: sys, Images: images, Reports: reports}
}

// StartShared starts the shared broker and database in the background,
// once; it does not block. ctx bounds the start only; when says when it
// began, for the summary.
func (e *Env) StartShared(ctx context.Context, when string) { e.shared.start(ctx, e, when) }

// SharedStart is how long the shared broker took to start and when it
// began, once it has started; ok is false before.
func (e *Env) SharedStart() (took time.Duration, when string, ok bool) {
	if !e.shared.ended() {
		return 0, "", false
	}
	return e.shared.took, e.shared.when, true
}

// Terminate removes the shared broker and database, waiting for a start
// in progress to end. Nil-safe: nothing to do when they never started.
func (e *Env) Terminate(ctx context.Context) error { return e.shared.terminate(ctx) }

// labelSharedInfra marks the scenarios that run on the process's shared
// broker and database (startStack). When a spec that will run carries
// it, the front ends start them in the background, beside the suite's
// set-up; otherwise they are not started at all, or (a spec without the
// label that asks for them) started then.
const labelSharedInfra = "infra:shared"

// UsesSharedInfra reports whether a spec with these labels runs on the
// process's shared broker.
func UsesSharedInfra(labels []string) bool {
	for _, l := range labels {
		if l == labelSharedInfra {
			return true
		}
	}
	return false
}

// sharedInfra is a process's shared broker (and database), started once,
// in the background.
type sharedInfra struct {
	once sync.Once
	done chan struct{} // closed when the start has ended
	inf  *stack.Infra  // may be half-built when err is set
	err  error
	took time.Duration
	when string // "beside the suite's set-up", or in which spec
}

func (s *sharedInfra) start(ctx context.Context, e *Env, when string) {
	s.once.Do(func() {
		s.done, s.when = make(chan struct{}), when
		go func() {
			defer close(s.done)
			began := time.Now()
			s.inf, s.err = stack.StartInfra(ctx, e.Images, e.infraOptions(stack.WithDatabase(e.System.HasDatabase()))...)
			s.took = time.Since(began)
		}()
	})
}

// wait blocks until the start has ended, or ctx ends.
func (s *sharedInfra) wait(ctx context.Context) (*stack.Infra, error) {
	select {
	case <-s.done:
		return s.inf, s.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// started reports whether the start has begun.
func (s *sharedInfra) started() bool { return s.done != nil }

// ended reports whether the start has ended, well or not.
func (s *sharedInfra) ended() bool {
	if !s.started() {
		return false
	}
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *sharedInfra) terminate(ctx context.Context) error {
	if !s.started() {
		return nil
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("shared broker still starting: %w", ctx.Err())
	}
	return s.inf.Terminate(ctx)
}
