package kube

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mqchaos/mqchaos/harness/fault"
)

// ErrUnsupported is the error of a fault this platform cannot make; it
// is a fault.ErrUnsupported.
var ErrUnsupported = fmt.Errorf("%w on Kubernetes", fault.ErrUnsupported)

// Engine is the namespace as the faults' platform: a target is one of its
// workloads' pods, Target.ID its name. A pod killed or stopped stays
// gone until Start creates it again from its workload, with a new UID.
func (n *Namespace) Engine() fault.Engine { return engine{n} }

// paused reports whether every main process of t is stopped, as its
// signals container sees them.
func (e engine) paused(ctx context.Context, t fault.Target) (bool, error) {
	code, out, err := e.n.execIn(ctx, t.ID, signalsContainer, []string{"/signals", "state"})
	if err == nil && code != 0 {
		err = fmt.Errorf("exit %d: %s", code, out)
	}
	if err != nil {
		return false, fmt.Errorf("state of %s/%s: %w", e.n.Name, t.ID, err)
	}
	var running, stopped int
	if _, err := fmt.Sscanf(string(out), "running %d stopped %d", &running, &stopped); err != nil {
		return false, fmt.Errorf("state of %s/%s: %q: %w", e.n.Name, t.ID, out, err)
	}
	return stopped > 0 && running == 0, nil
}

// Target is the workload name as a fault target.
func (n *Namespace) Target(name string) fault.Target {
	return fault.Target{Name: name, ID: name, NetworkID: n.Name}
}

type engine struct{ n *Namespace }

// stopLimit bounds the wait for a deleted pod to be gone, beyond its
// grace, and for a pod to run again.
const stopLimit = time.Minute

// spec is the workload of target t: what Start creates again.
func (e engine) spec(t fault.Target) (*corev1.Pod, error) {
	e.n.mu.Lock()
	defer e.n.mu.Unlock()
	p, ok := e.n.pods[t.ID]
	if !ok {
		return nil, fmt.Errorf("%s: no workload of that name in %s", t.ID, e.n.Name)
	}
	return p, nil
}

// inPlace reports whether t restarts in place (Workload.Data).
func (e engine) inPlace(t fault.Target) bool {
	p, err := e.spec(t)
	return err == nil && p.Spec.RestartPolicy == corev1.RestartPolicyAlways
}

// hasHelper reports whether t's pod has the signals container.
func (e engine) hasHelper(t fault.Target) bool {
	p, err := e.spec(t)
	return err == nil && len(p.Spec.Containers) > 1 && p.Spec.Containers[1].Name == signalsContainer
}

// signal sends sig to the main container's processes, through the
// pod's signals container.
func (e engine) signal(ctx context.Context, t fault.Target, sig string) error {
	if !e.hasHelper(t) {
		return fmt.Errorf("signal %s to %s: %w: its pod has no %s container (Workload.Helper)", sig, t.ID, ErrUnsupported, signalsContainer)
	}
	code, out, err := e.n.execIn(ctx, t.ID, signalsContainer, []string{"/signals", "send", sig})
	if err == nil && code != 0 {
		err = fmt.Errorf("exit %d: %s", code, out)
	}
	if err != nil {
		return fmt.Errorf("signal %s to %s/%s: %w", sig, e.n.Name, t.ID, err)
	}
	return nil
}

// Kill sends SIGKILL to the pod's processes: it deletes the pod with no
// grace, or, for a workload that restarts in place, kills them through
// its signals container, and the kubelet starts them again.
func (e engine) Kill(ctx context.Context, t fault.Target) error {
	if e.inPlace(t) {
		return e.signal(ctx, t, "KILL")
	}
	return e.delete(ctx, t, 0)
}

// Stop deletes the pod with grace: SIGTERM, SIGKILL after grace. A
// workload that restarts in place cannot be held down.
func (e engine) Stop(ctx context.Context, t fault.Target, grace time.Duration) error {
	if e.inPlace(t) {
		return fmt.Errorf("stop %s: %w: it restarts in place, to keep its data, and the kubelet starts it again at once", t.ID, ErrUnsupported)
	}
	return e.delete(ctx, t, grace)
}

func (e engine) delete(ctx context.Context, t fault.Target, grace time.Duration) error {
	secs := int64(grace.Seconds())
	err := e.n.c.Client.CoreV1().Pods(e.n.Name).Delete(ctx, e.n.podOf(t.ID), metav1.DeleteOptions{GracePeriodSeconds: &secs})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s/%s: %w", e.n.Name, t.ID, err)
	}
	return e.n.gone(ctx, t.ID, grace+stopLimit)
}

// Start creates the pod again from its workload, under the workload's
// next name (Namespace.again), once the old one is gone (a process that
// exited leaves its pod behind), and waits until it runs; readiness is
// the caller's to wait on. A workload that restarts
// in place is started again by the kubelet: Start waits until it runs.
func (e engine) Start(ctx context.Context, t fault.Target) error {
	p, err := e.spec(t)
	if err != nil {
		return fmt.Errorf("start %w", err)
	}
	if !e.inPlace(t) {
		if err := e.delete(ctx, t, 0); err != nil {
			return err
		}
		if err := e.n.create(ctx, e.n.again(t.ID, p)); err != nil {
			return err
		}
	}
	return e.running(ctx, t, -1)
}

// running waits until t's main container has started, having restarted
// more than after times: it runs, or it ran and exited already. A
// process that exits a moment after it starts (a failpoint on its first
// message) may never be seen running between two looks, and a pod that
// does not restart in place never runs again; Docker's start, too,
// returns once the process started, whatever it does next.
func (e engine) running(ctx context.Context, t fault.Target, after int32) error {
	return until(ctx, stopLimit, "pod "+e.n.Name+"/"+t.ID+" started", func(ctx context.Context) (bool, error) {
		p, err := e.n.c.Client.CoreV1().Pods(e.n.Name).Get(ctx, e.n.podOf(t.ID), metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := mainStatus(p)
		return p.DeletionTimestamp == nil && st != nil && st.RestartCount > after && started(st.State), nil
	})
}

// started reports whether a container in state s has started: it runs,
// or it ran and exited.
func started(s corev1.ContainerState) bool {
	return s.Running != nil || (s.Terminated != nil && !s.Terminated.StartedAt.IsZero())
}

// Restart stops the pod (SIGKILL after grace) and starts it again. A
// workload that restarts in place gets SIGTERM, SIGKILL after grace if
// it has not exited, and the kubelet starts it again.
func (e engine) Restart(ctx context.Context, t fault.Target, grace time.Duration) error {
	if !e.inPlace(t) {
		if err := e.Stop(ctx, t, grace); err != nil {
			return err
		}
		return e.Start(ctx, t)
	}
	p, err := e.n.c.Client.CoreV1().Pods(e.n.Name).Get(ctx, e.n.podOf(t.ID), metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("restart %s/%s: %w", e.n.Name, t.ID, err)
	}
	before := int32(0)
	if st := mainStatus(p); st != nil {
		before = st.RestartCount
	}
	if err := e.signal(ctx, t, "TERM"); err != nil {
		return err
	}
	exited := until(ctx, grace, "pod "+e.n.Name+"/"+t.ID+" exited", func(ctx context.Context) (bool, error) {
		p, err := e.n.c.Client.CoreV1().Pods(e.n.Name).Get(ctx, e.n.podOf(t.ID), metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		st := mainStatus(p)
		return st != nil && (st.RestartCount > before || st.State.Running == nil), nil
	})
	if exited != nil {
		if err := e.signal(ctx, t, "KILL"); err != nil {
			return err
		}
	}
	return e.running(ctx, t, before)
}

// Pause stops the pod's main processes (SIGSTOP) through its signals
// container; Unpause continues them.
func (e engine) Pause(ctx context.Context, t fault.Target) error { return e.signal(ctx, t, "STOP") }

func (e engine) Unpause(ctx context.Context, t fault.Target) error { return e.signal(ctx, t, "CONT") }

func (e engine) Disconnect(context.Context, fault.Target, fault.Link) error {
	return fmt.Errorf("disconnect: %w: a pod cannot be taken off the cluster's network through its API; break its traffic through Toxiproxy", ErrUnsupported)
}

func (e engine) Connect(context.Context, fault.Target, fault.Link) error {
	return fmt.Errorf("connect: %w", ErrUnsupported)
}

// State is the pod's main container as the kubelet reports it. A pod
// that is gone, or being deleted, is not running. StartedAt is the
// pod's UID and its container's start, so a pod created again within
// the same second still shows as started again.
func (e engine) State(ctx context.Context, t fault.Target) (fault.State, error) {
	p, err := e.n.c.Client.CoreV1().Pods(e.n.Name).Get(ctx, e.n.podOf(t.ID), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fault.State{Status: "gone", ExitCode: 137}, nil
	}
	if err != nil {
		return fault.State{}, err
	}
	s := fault.State{Status: string(p.Status.Phase), Networks: []string{e.n.Name}}
	st := mainStatus(p)
	switch {
	case st == nil:
	case st.State.Running != nil:
		s.Status, s.Running = "running", p.DeletionTimestamp == nil
		s.StartedAt = fmt.Sprintf("%s#%d@%s", p.UID, st.RestartCount, st.State.Running.StartedAt.UTC().Format(time.RFC3339))
	case st.State.Terminated != nil:
		s.Status, s.ExitCode = "exited", int(st.State.Terminated.ExitCode)
		s.StartedAt = fmt.Sprintf("%s#%d@%s", p.UID, st.RestartCount, st.State.Terminated.StartedAt.UTC().Format(time.RFC3339))
	case st.State.Waiting != nil && st.LastTerminationState.Terminated != nil:
		// Between a restart in place and the next start.
		s.Status, s.ExitCode = "restarting", int(st.LastTerminationState.Terminated.ExitCode)
		s.StartedAt = fmt.Sprintf("%s#%d", p.UID, st.RestartCount)
	}
	if p.DeletionTimestamp != nil {
		s.Status = "terminating"
	}
	if s.Running && e.hasHelper(t) {
		if s.Paused, err = e.paused(ctx, t); err != nil {
			return s, err
		}
		if s.Paused {
			s.Status = "paused"
		}
	}
	return s, nil
}
