package kube

import (
	"context"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mqchaos/mqchaos/harness/system"
)

// Labels on the pods: which service a pod is a replica of (what its
// Service selects), and which replica.
const (
	LabelApp     = "io.mqchaos.app"
	LabelReplica = "io.mqchaos.replica"
)

// Workload is one container the harness runs as a pod of its own: the
// broker, the database, a proxy, or one replica of a described service.
type Workload struct {
	Name    string // "inventory-1": the pod's name
	App     string // "inventory": the Service in front of every replica selects it
	Image   string
	Command []string // replaces the image's CMD, as on Docker; its ENTRYPOINT stays
	Env     map[string]string
	Ports   []int32
	// Ready is the pod's readiness probe (ReadinessProbe); nil: ready
	// once running, or once ReadyLog matches a line of its log.
	Ready    *corev1.Probe
	ReadyLog *regexp.Regexp
	// Grace is how long a stop waits for the process to exit after
	// SIGTERM (default 5 s).
	Grace time.Duration
	// Helper is the image of the signals container (deploy/k8s/signals),
	// put beside the main one in a pod whose containers share their
	// processes: pausing the pod, and killing it in place, exec it.
	// "": none.
	Helper string
	// Data are paths kept on volumes of the pod (emptyDir) across a
	// restart in place. A workload with data restarts in place: the pod
	// stays, the kubelet starts its process again (restart policy
	// Always), and kill and restart go through Helper.
	Data []string
}

// SignalsImage is the signals container's image as `make k8s-images`
// puts it on the local cluster's node.
const SignalsImage = "mqchaos/signals:dev"

// signalsContainer is the helper container's name in a pod.
const signalsContainer = "signals"

// ReadinessProbe is the probe for a described service's Ready on its
// port: an HTTP GET of Ready.HTTP, or a TCP connect to Ready.TCP. Ready.Log
// has no probe (nil): Run then waits for the line in the pod's log.
func ReadinessProbe(r system.Ready, port int) *corev1.Probe {
	p := &corev1.Probe{PeriodSeconds: 1, FailureThreshold: 1, SuccessThreshold: 1, TimeoutSeconds: 1}
	switch {
	case r.HTTP != "":
		p.HTTPGet = &corev1.HTTPGetAction{Path: r.HTTP, Port: intstr.FromInt(port)}
	case r.TCP != 0:
		p.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt(r.TCP)}
	default:
		return nil
	}
	return p
}

// Pod is w as the pod the harness creates in namespace ns. It is never
// restarted by the kubelet: a process that exits stays exited until a
// fault's heal starts it again, as on Docker.
func (w Workload) Pod(ns string) *corev1.Pod {
	grace := int64(5)
	if w.Grace > 0 {
		grace = int64(w.Grace.Seconds())
	}
	c := corev1.Container{
		Name:            "main",
		Image:           w.Image,
		Args:            w.Command,
		ImagePullPolicy: corev1.PullIfNotPresent,
		ReadinessProbe:  w.Ready,
	}
	for _, k := range slices.Sorted(maps.Keys(w.Env)) {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: w.Env[k]})
	}
	for _, p := range w.Ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: p, Protocol: corev1.ProtocolTCP})
	}
	spec := corev1.PodSpec{
		Containers:                    []corev1.Container{c},
		RestartPolicy:                 corev1.RestartPolicyNever,
		TerminationGracePeriodSeconds: &grace,
		EnableServiceLinks:            new(bool),
	}
	for i, path := range w.Data {
		name := fmt.Sprintf("data-%d", i)
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		spec.Containers[0].VolumeMounts = append(spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: name, MountPath: path})
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if w.Helper != "" {
		share := true
		spec.ShareProcessNamespace = &share
		spec.Containers = append(spec.Containers, corev1.Container{Name: signalsContainer, Image: w.Helper, ImagePullPolicy: corev1.PullIfNotPresent})
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: w.Name, Namespace: ns, Labels: map[string]string{LabelApp: w.App, LabelReplica: w.Name}},
		Spec:       spec,
	}
}

// Service is the ClusterIP Service named app in front of every pod of
// app, on ports: the stable address the other pods reach it by, across
// its pods' restarts.
func Service(ns, app string, ports []int32) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{LabelApp: app}},
	}
	for _, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: fmt.Sprintf("p%d", p), Port: p, TargetPort: intstr.FromInt32(p), Protocol: corev1.ProtocolTCP})
	}
	return s
}

// Expose creates the Service of app on ports and returns its cluster
// address.
func (n *Namespace) Expose(ctx context.Context, app string, ports []int32) (string, error) {
	s, err := n.c.Client.CoreV1().Services(n.Name).Create(ctx, Service(n.Name, app, ports), metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("create service %s/%s: %w", n.Name, app, err)
	}
	return s.Spec.ClusterIP, nil
}

// Run creates w's pod and waits until it is ready (its probe passes, or
// its log line shows, or it runs), up to limit.
func (n *Namespace) Run(ctx context.Context, w Workload, limit time.Duration) error {
	p := w.Pod(n.Name)
	n.mu.Lock()
	n.pods[w.Name] = p
	n.mu.Unlock()
	if err := n.create(ctx, p); err != nil {
		return err
	}
	return n.waitReady(ctx, w.Name, w.ReadyLog, limit)
}

func (n *Namespace) create(ctx context.Context, p *corev1.Pod) error {
	if _, err := n.c.Client.CoreV1().Pods(n.Name).Create(ctx, p.DeepCopy(), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create pod %s/%s: %w", n.Name, p.Name, err)
	}
	return nil
}

// waitReady waits until pod name is ready, failing at once, with the
// reason, on a pod that cannot start: its image missing from the node,
// or its process exited.
func (n *Namespace) waitReady(ctx context.Context, name string, log *regexp.Regexp, limit time.Duration) error {
	return until(ctx, limit, "pod "+n.Name+"/"+name+" ready", func(ctx context.Context) (bool, error) {
		p, err := n.c.Client.CoreV1().Pods(n.Name).Get(ctx, n.podOf(name), metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if err := cannotStart(p); err != nil {
			return false, hopeless{err}
		}
		st := mainStatus(p)
		switch {
		case st == nil || st.State.Running == nil:
			return false, nil
		case log != nil:
			return n.logShows(ctx, name, log)
		case p.Spec.Containers[0].ReadinessProbe != nil:
			return st.Ready, nil
		}
		return true, nil
	})
}

func (n *Namespace) logShows(ctx context.Context, name string, re *regexp.Regexp) (bool, error) {
	r, err := n.c.Client.CoreV1().Pods(n.Name).GetLogs(n.podOf(name), &corev1.PodLogOptions{Container: "main"}).Stream(ctx)
	if err != nil {
		return false, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return re.Match(b), err
}

// hopeless is an error after which waiting is pointless.
type hopeless struct{ error }

func (h hopeless) Unwrap() error { return h.error }

// cannotStart says why p will never run, or nil.
func cannotStart(p *corev1.Pod) error {
	st := mainStatus(p)
	switch {
	case st == nil:
		return nil
	case st.State.Waiting != nil:
		switch w := st.State.Waiting; w.Reason {
		case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName":
			return fmt.Errorf("pod %s: image %s is not on the node and cannot be pulled (%s): import it into the cluster's containerd", p.Name, p.Spec.Containers[0].Image, w.Reason)
		case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
			return fmt.Errorf("pod %s: %s: %s", p.Name, w.Reason, w.Message)
		}
	case st.State.Terminated != nil:
		t := st.State.Terminated
		return fmt.Errorf("pod %s exited (%d) before it was ready: %s", p.Name, t.ExitCode, t.Reason)
	}
	return nil
}

// mainStatus is the status of p's one container, or nil before it has one.
func mainStatus(p *corev1.Pod) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == "main" {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// gone waits until pod name no longer exists.
func (n *Namespace) gone(ctx context.Context, name string, limit time.Duration) error {
	return until(ctx, limit, "pod "+n.Name+"/"+name+" gone", func(ctx context.Context) (bool, error) {
		_, err := n.c.Client.CoreV1().Pods(n.Name).Get(ctx, n.podOf(name), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// PodIP is pod name's address on the cluster's network, looked up now:
// what the broker sees as the peer of its connections.
func (n *Namespace) PodIP(ctx context.Context, name string) (string, error) {
	p, err := n.c.Client.CoreV1().Pods(n.Name).Get(ctx, n.podOf(name), metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("address of pod %s/%s: %w", n.Name, name, err)
	}
	if p.Status.PodIP == "" {
		return "", fmt.Errorf("address of pod %s/%s: it has none yet (%s)", n.Name, name, p.Status.Phase)
	}
	return p.Status.PodIP, nil
}

// Logs is the log of pod name's main container: its present run only, as
// a pod created again starts a log of its own.
func (n *Namespace) Logs(ctx context.Context, name string) ([]byte, error) {
	r, err := n.c.Client.CoreV1().Pods(n.Name).GetLogs(n.podOf(name), &corev1.PodLogOptions{Container: "main"}).Stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("logs of pod %s/%s: %w", n.Name, name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("logs of pod %s/%s: %w", n.Name, name, err)
	}
	return b, nil
}

// Remove deletes pod name at once and the Service of the same name, if
// any, without waiting for them to be gone; the workload is forgotten.
func (n *Namespace) Remove(ctx context.Context, name string) error {
	pod := n.podOf(name)
	n.mu.Lock()
	delete(n.pods, name)
	delete(n.current, name)
	n.mu.Unlock()
	grace := int64(0)
	err := n.c.Client.CoreV1().Pods(n.Name).Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s/%s: %w", n.Name, name, err)
	}
	err = n.c.Client.CoreV1().Services(n.Name).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete service %s/%s: %w", n.Name, name, err)
	}
	return nil
}
