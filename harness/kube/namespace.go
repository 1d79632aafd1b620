package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Labels on every namespace the harness creates, so that Clean can find
// it and tell whether the process that created it still runs.
const (
	LabelManaged = "io.mqchaos.managed" // "true"
	LabelRun     = "io.mqchaos.run"     // the run's id
	LabelPID     = "io.mqchaos.pid"     // the process that created it
	LabelHost    = "io.mqchaos.host"    // that process's host name
)

// Namespace is a namespace of the harness's own, with everything one run
// created in it.
type Namespace struct {
	Name string
	ID   string // the run's id, in the name and the labels

	c    *Cluster
	mu   sync.Mutex             // guards pods, current and starts
	pods map[string]*corev1.Pod // the spec of each workload, by name: what Start creates again
	// current is the name of each workload's pod created again (again),
	// by the workload's name; a workload not in it has its pod of its
	// own name. starts counts how often each was created again.
	current map[string]string
	starts  map[string]int
	fw      forwards
}

// podOf is the name of workload name's present pod: its own name, or,
// once it was created again, the name it got then.
func (n *Namespace) podOf(name string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p, ok := n.current[name]; ok {
		return p
	}
	return name
}

// again is p, workload name's pod, under the workload's next name
// ("inventory-1-r2", then "-r3"), which becomes its present pod. The
// kubelet does not start a pod while one of the same name is still
// terminating on the node, which can outlast its deletion in the API.
// The "r" keeps the name apart from other replicas' ("inventory-2"); a
// name too long for a pod keeps a hash of itself instead of its tail.
func (n *Namespace) again(name string, p *corev1.Pod) *corev1.Pod {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.starts[name]++
	suffix := fmt.Sprintf("-r%d", n.starts[name]+1)
	base := name
	if len(base)+len(suffix) > 63 {
		h := fnv.New32a()
		h.Write([]byte(name))
		base = fmt.Sprintf("%s-%08x", strings.TrimRight(name[:63-len(suffix)-9], "-"), h.Sum32())
	}
	q := p.DeepCopy()
	q.Name = base + suffix
	if q.Spec.Hostname == "" {
		q.Spec.Hostname = name // the replica keeps its host name, as a container started again does
	}
	n.current[name] = q.Name
	return q
}

// CreateNamespace creates a namespace "mqchaos-<prefix>-<id>", labelled
// as the harness's, and waits until its default service account exists:
// the API server refuses pods in a namespace before its controller has
// made that account.
func (c *Cluster) CreateNamespace(ctx context.Context, prefix string) (*Namespace, error) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	host, _ := os.Hostname()
	labels := map[string]string{LabelManaged: "true", LabelRun: id, LabelPID: strconv.Itoa(os.Getpid())}
	if len(validation.IsValidLabelValue(host)) == 0 {
		labels[LabelHost] = host
	}
	name := fmt.Sprintf("mqchaos-%s-%s", prefix, id)
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return nil, fmt.Errorf("namespace %q: %s", name, errs[0])
	}
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", name, err)
	}
	ns := &Namespace{Name: name, ID: id, c: c, pods: map[string]*corev1.Pod{}, current: map[string]string{}, starts: map[string]int{}}
	err = until(ctx, time.Minute, "service account "+name+"/default", func(ctx context.Context) (bool, error) {
		_, err := c.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
	return ns, err
}

// Delete stops the namespace's port-forwards, removes it and everything
// in it, and waits until it is gone. Nil-safe.
func (n *Namespace) Delete(ctx context.Context) error {
	if n == nil {
		return nil
	}
	n.closeForwards()
	return deleteNamespace(ctx, n.c, n.Name)
}

func deleteNamespace(ctx context.Context, c *Cluster, name string) error {
	grace := int64(0)
	err := c.Client.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	return until(ctx, 2*time.Minute, "namespace "+name+" gone", func(ctx context.Context) (bool, error) {
		_, err := c.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// Clean deletes the namespaces the harness created. With onlyOrphans it
// keeps those whose creating process still runs on this host, so it is
// safe at the start of a run while another runs. It returns how many it
// deleted.
func (c *Cluster) Clean(ctx context.Context, onlyOrphans bool) (int, error) {
	list, err := c.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: LabelManaged + "=true"})
	if err != nil {
		return 0, fmt.Errorf("list namespaces: %w", err)
	}
	host, _ := os.Hostname()
	var errs []error
	n := 0
	for _, ns := range list.Items {
		if onlyOrphans && !orphan(ns.Labels, host) {
			continue
		}
		if err := deleteNamespace(ctx, c, ns.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// orphan reports whether labels name a creator on this host that no
// longer runs. One from another host, or without a host, is kept: its
// process cannot be seen from here.
func orphan(labels map[string]string, host string) bool {
	pid, err := strconv.Atoi(labels[LabelPID])
	if err != nil || labels[LabelHost] != host || host == "" {
		return false
	}
	return syscall.Kill(pid, 0) != nil
}

// until asks done every 200 ms until it says true, and fails after
// limit with what it was waiting for.
func until(ctx context.Context, limit time.Duration, what string, done func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		ok, err := done(ctx)
		if ok {
			return nil
		}
		if h := (hopeless{}); errors.As(err, &h) {
			return fmt.Errorf("wait for %s: %w", what, h.error)
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("wait for %s: %w (last: %w)", what, ctx.Err(), last)
			}
			return fmt.Errorf("wait for %s: %w", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
