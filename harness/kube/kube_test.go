package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/system"
)

// kubelet makes a fake cluster whose pods start the moment they are
// created, each with a UID of its own, ready, or waiting with reason
// if it is not "". A namespace gets its default service account a
// moment after it is created, as a controller would make it.
func kubelet(reason string) *Cluster {
	client := fake.NewClientset()
	client.PrependReactor("create", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		name := a.(k8stesting.CreateAction).GetObject().(*corev1.Namespace).Name
		go func() {
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: name}}
			_, _ = client.CoreV1().ServiceAccounts(name).Create(context.Background(), sa, metav1.CreateOptions{})
		}()
		return false, nil, nil
	})
	var uids atomic.Int64
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		p.UID = types.UID(fmt.Sprintf("uid-%d", uids.Add(1)))
		st := corev1.ContainerStatus{Name: "main", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}
		phase := corev1.PodRunning
		switch reason {
		case "":
		case "exited":
			st = corev1.ContainerStatus{Name: "main", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, StartedAt: metav1.Now(), FinishedAt: metav1.Now()}}}
			phase = corev1.PodFailed
		default:
			st = corev1.ContainerStatus{Name: "main", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
		}
		p.Status = corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{st}}
		return false, nil, nil // the tracker stores the pod as changed
	})
	return &Cluster{Client: client}
}

func workload() Workload {
	return Workload{
		Name: "inventory-1", App: "inventory", Image: "mqchaos/inventory-service:dev",
		Env:   map[string]string{"B": "2", "A": "1"},
		Ports: []int32{8080},
		Ready: ReadinessProbe(system.Ready{HTTP: "/ready"}, 8080),
	}
}

func TestAWorkloadIsAPodThatIsNeverRestartedByTheKubelet(t *testing.T) {
	p := workload().Pod("ns")
	c := p.Spec.Containers[0]
	switch {
	case p.Spec.RestartPolicy != corev1.RestartPolicyNever:
		t.Errorf("restart policy %s, want Never: a killed replica stays down until healed", p.Spec.RestartPolicy)
	case p.Labels[LabelApp] != "inventory" || p.Labels[LabelReplica] != "inventory-1":
		t.Errorf("labels %v", p.Labels)
	case c.ImagePullPolicy != corev1.PullIfNotPresent:
		t.Errorf("pull policy %s, want IfNotPresent: a local image has no registry", c.ImagePullPolicy)
	case len(c.Env) != 2 || c.Env[0].Name != "A" || c.Env[1].Name != "B":
		t.Errorf("env %v, want A and B in order", c.Env)
	case c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/ready" || c.ReadinessProbe.HTTPGet.Port.IntValue() != 8080:
		t.Errorf("probe %+v, want GET /ready on 8080", c.ReadinessProbe)
	case *p.Spec.TerminationGracePeriodSeconds != 5:
		t.Errorf("grace %d, want the default 5 s", *p.Spec.TerminationGracePeriodSeconds)
	}
	if ReadinessProbe(system.Ready{TCP: 5432}, 0).TCPSocket.Port.IntValue() != 5432 {
		t.Error("a TCP readiness should probe its port")
	}
	if ReadinessProbe(system.Ready{Log: "started"}, 8080) != nil {
		t.Error("a log readiness has no probe: Run reads the log")
	}
}

// A kill deletes the pod at once and leaves it gone; a start creates it
// again; a restart shows as a new start. Each fault sees its mark.
func TestFaultsOnAPodSeeTheirMark(t *testing.T) {
	ctx := t.Context()
	ns, err := kubelet("").CreateNamespace(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.Run(ctx, workload(), time.Minute); err != nil {
		t.Fatal(err)
	}
	e, target, h := ns.Engine(), ns.Target("inventory-1"), &history.History{}

	kill := fault.Kill(e, target)
	if err := fault.Inject(ctx, h, kill); err != nil {
		t.Fatal(err)
	}
	if d := h.Ops()[0].Detail; d != "injected: inventory-1 gone (137)" {
		t.Errorf("kill: %q", d)
	}
	deletes := 0
	for _, a := range ns.c.Client.(*fake.Clientset).Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok && a.GetResource().Resource == "pods" {
			deletes++
			if g := d.GetDeleteOptions().GracePeriodSeconds; g == nil || *g != 0 {
				t.Errorf("kill deleted the pod with grace %v, want 0 (SIGKILL)", g)
			}
		}
	}
	if deletes != 1 {
		t.Errorf("%d pod deletes, want 1", deletes)
	}
	if err := fault.Heal(ctx, h, kill); err != nil {
		t.Fatal(err)
	}
	st, err := e.State(ctx, target)
	if err != nil || !st.Running || !strings.HasPrefix(st.StartedAt, "uid-2#0@") {
		t.Errorf("after heal: %+v, %v; want running as a new pod", st, err)
	}
	// Created again under a name of its own: the kubelet holds back a pod
	// whose name a terminating one still has.
	if _, err := ns.c.Client.CoreV1().Pods(ns.Name).Get(ctx, "inventory-1-r2", metav1.GetOptions{}); err != nil || ns.podOf("inventory-1") != "inventory-1-r2" {
		t.Errorf("the pod created again: %v, named %s; want inventory-1-r2", err, ns.podOf("inventory-1"))
	}
	if err := fault.Inject(ctx, h, fault.Restart(e, target, time.Second)); err != nil {
		t.Fatal(err)
	}
	if d := h.Ops()[len(h.Ops())-1].Detail; !strings.HasPrefix(d, "injected: inventory-1 started again at uid-3#0@") {
		t.Errorf("restart: %q", d)
	}
	if err := fault.Inject(ctx, h, fault.Pause(e, target)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("pause: %v, want ErrUnsupported", err)
	}
}

// A pod whose image is not on the node fails the run at once, saying so.
func TestRunSaysWhenAnImageIsMissing(t *testing.T) {
	ns, err := kubelet("ErrImageNeverPull").CreateNamespace(t.Context(), "test")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = ns.Run(t.Context(), workload(), time.Minute)
	if err == nil || !strings.Contains(err.Error(), "image mqchaos/inventory-service:dev is not on the node") {
		t.Errorf("error %v, want the missing image named", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s: a missing image should fail at once", time.Since(start))
	}
}

// Clean deletes the namespaces of processes gone from this host, and
// with onlyOrphans keeps those of live ones and of other hosts.
func TestCleanDeletesOrphanedNamespaces(t *testing.T) {
	ctx := t.Context()
	c := kubelet("")
	host, _ := os.Hostname()
	for name, labels := range map[string]map[string]string{
		"live":      {LabelPID: strconv.Itoa(os.Getpid()), LabelHost: host},
		"dead":      {LabelPID: "999999999", LabelHost: host},
		"elsewhere": {LabelPID: "999999999", LabelHost: "another-host"},
		"unmanaged": nil,
	} {
		if labels != nil {
			labels[LabelManaged] = "true"
		}
		if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	left := func() []string {
		l, err := c.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, ns := range l.Items {
			names = append(names, ns.Name)
		}
		return names
	}
	if n, err := c.Clean(ctx, true); err != nil || n != 1 {
		t.Errorf("orphans: %d, %v; want 1 (dead)", n, err)
	}
	if got := strings.Join(left(), " "); got != "elsewhere live unmanaged" {
		t.Errorf("left %q", got)
	}
	if n, err := c.Clean(ctx, false); err != nil || n != 2 {
		t.Errorf("all: %d, %v; want 2", n, err)
	}
	if got := strings.Join(left(), " "); got != "unmanaged" {
		t.Errorf("left %q, want only the namespace the harness did not make", got)
	}
}

// A process that exits the moment it starts (a failpoint on its first
// message) has started: Start does not wait for it to be seen running,
// which a pod that does not restart in place never is again.
func TestStartCountsAProcessThatExitedAtOnce(t *testing.T) {
	ctx := context.Background()
	ns, err := kubelet("exited").CreateNamespace(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "inventory-1", Namespace: ns.Name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "main"}}}}
	if err := ns.create(ctx, p); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := (engine{ns}).running(cctx, ns.Target("inventory-1"), -1); err != nil {
		t.Errorf("a process that started and exited: %v, want started", err)
	}
	ns2, err := kubelet("ContainerCreating").CreateNamespace(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	p.Namespace = ns2.Name
	if err := ns2.create(ctx, p); err != nil {
		t.Fatal(err)
	}
	cctx, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := (engine{ns2}).running(cctx, ns2.Target("inventory-1"), -1); err == nil {
		t.Error("a container still being created counted as started")
	}
}

// A pod created again has a name no other workload's pod has, and a
// valid one, however long the workload's name: replica 3's must not be
// replica 2's (as trimming its tail made it once).
func TestPodsCreatedAgainKeepNamesApart(t *testing.T) {
	ns := &Namespace{current: map[string]string{}, starts: map[string]int{}}
	long := "competing-control-memory-idempotency-18b4280a-inventory"
	seen := map[string]string{}
	for _, w := range []string{long + "-2", long + "-3", "inventory-1", "inventory-2"} {
		seen[w] = w
	}
	for _, w := range []string{long + "-2", long + "-3", "inventory-1"} {
		for range 3 {
			name := ns.again(w, &corev1.Pod{}).Name
			if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
				t.Errorf("%s created again as %q: %v", w, name, errs)
			}
			if other, ok := seen[name]; ok && other != w {
				t.Errorf("%s created again as %q, the name of %s's pod", w, name, other)
			}
			seen[name] = w
		}
	}
}
