package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mqchaos/mqchaos/harness/fault"
)

// ErrUnsupported is the error of a fault this platform cannot make.
var ErrUnsupported = errors.New("not supported on Kubernetes")

// Engine is the namespace as the faults' platform: a target is one of its
// workloads' pods, Target.ID its name. A pod killed or stopped stays
// gone until Start creates it again from its workload, with a new UID.
func (n *Namespace) Engine() fault.Engine { return engine{n} }

// Target is the workload name as a fault target.
func (n *Namespace) Target(name string) fault.Target {
	return fault.Target{Name: name, ID: name, NetworkID: n.Name}
}

type engine struct{ n *Namespace }

// stopLimit bounds the wait for a deleted pod to be gone, beyond its
// grace.
const stopLimit = time.Minute

// Kill deletes the pod with no grace: its processes get SIGKILL.
func (e engine) Kill(ctx context.Context, t fault.Target) error {
	return e.delete(ctx, t, 0)
}

// Stop deletes the pod with grace: SIGTERM, SIGKILL after grace.
func (e engine) Stop(ctx context.Context, t fault.Target, grace time.Duration) error {
	return e.delete(ctx, t, grace)
}

func (e engine) delete(ctx context.Context, t fault.Target, grace time.Duration) error {
	secs := int64(grace.Seconds())
	err := e.n.c.Client.CoreV1().Pods(e.n.Name).Delete(ctx, t.ID, metav1.DeleteOptions{GracePeriodSeconds: &secs})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s/%s: %w", e.n.Name, t.ID, err)
	}
	return e.n.gone(ctx, t.ID, grace+stopLimit)
}

// Start creates the pod again from its workload, once the old one is
// gone (a process that exited leaves its pod behind), and waits until it
// runs; readiness is the caller's to wait on.
func (e engine) Start(ctx context.Context, t fault.Target) error {
	p, ok := e.n.pods[t.ID]
	if !ok {
		return fmt.Errorf("start %s: no workload of that name in %s", t.ID, e.n.Name)
	}
	if err := e.delete(ctx, t, 0); err != nil {
		return err
	}
	if err := e.n.create(ctx, p); err != nil {
		return err
	}
	return until(ctx, stopLimit, "pod "+e.n.Name+"/"+t.ID+" running", func(ctx context.Context) (bool, error) {
		st, err := e.State(ctx, t)
		return st.Running, err
	})
}

// Restart stops the pod (SIGKILL after grace) and starts it again.
func (e engine) Restart(ctx context.Context, t fault.Target, grace time.Duration) error {
	if err := e.Stop(ctx, t, grace); err != nil {
		return err
	}
	return e.Start(ctx, t)
}

func (e engine) Pause(context.Context, fault.Target) error {
	return fmt.Errorf("pause: %w: a pod's processes cannot be frozen through the Kubernetes API", ErrUnsupported)
}

func (e engine) Unpause(context.Context, fault.Target) error {
	return fmt.Errorf("unpause: %w", ErrUnsupported)
}

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
	p, err := e.n.c.Client.CoreV1().Pods(e.n.Name).Get(ctx, t.ID, metav1.GetOptions{})
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
		s.StartedAt = fmt.Sprintf("%s@%s", p.UID, st.State.Running.StartedAt.UTC().Format(time.RFC3339))
	case st.State.Terminated != nil:
		s.Status, s.ExitCode = "exited", int(st.State.Terminated.ExitCode)
		s.StartedAt = fmt.Sprintf("%s@%s", p.UID, st.State.Terminated.StartedAt.UTC().Format(time.RFC3339))
	}
	if p.DeletionTimestamp != nil {
		s.Status = "terminating"
	}
	return s, nil
}
