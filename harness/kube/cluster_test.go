package kube

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mqchaos/mqchaos/harness/fault"
	"github.com/mqchaos/mqchaos/harness/history"
	"github.com/mqchaos/mqchaos/harness/system"
)

// On a real cluster (make k8s-test sets MQCHAOS_KUBECONFIG): a broker
// pod started in a namespace of its own, reached through a port-forward,
// killed, started again and reached again through a new forward, and
// nothing left once the namespace is deleted.
func TestABrokerOnARealCluster(t *testing.T) {
	start := time.Now()
	ctx, ns, image := onARealCluster(t)
	w := Workload{
		Name: "rabbitmq", App: "rabbitmq", Image: image,
		Env:   map[string]string{"RABBITMQ_DEFAULT_USER": "mqchaos", "RABBITMQ_DEFAULT_PASS": "secret"},
		Ports: []int32{5672, 15672},
		Ready: ReadinessProbe(system.Ready{TCP: 5672}, 0),
	}
	if err := ns.Run(ctx, w, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	ip, err := ns.Expose(ctx, "rabbitmq", w.Ports)
	if err != nil || ip == "" {
		t.Fatalf("service: %q, %v", ip, err)
	}
	t.Logf("broker ready in %s, service at %s", time.Since(start).Round(100*time.Millisecond), ip)
	overview := func() error {
		addr, err := ns.Address(ctx, "rabbitmq", 15672)
		if err != nil {
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/overview", nil)
		req.SetBasicAuth("mqchaos", "secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /api/overview: %s", resp.Status)
		}
		return nil
	}
	waitFor := func(what string) {
		t.Helper()
		if err := until(ctx, 2*time.Minute, what, func(context.Context) (bool, error) { err := overview(); return err == nil, err }); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("the management API through a port-forward")
	code, out, err := ns.Exec(ctx, "rabbitmq", []string{"rabbitmqctl", "--quiet", "list_vhosts"})
	if err != nil || code != 0 || !strings.Contains(string(out), "/") {
		t.Errorf("exec rabbitmqctl list_vhosts: %d, %q, %v", code, out, err)
	}
	if code, _, err := ns.Exec(ctx, "rabbitmq", []string{"rabbitmqctl", "--quiet", "no_such_command"}); err != nil || code == 0 {
		t.Errorf("exec of a failing command: %d, %v; want its non-zero status", code, err)
	}

	h := &history.History{}
	kill := fault.Kill(ns.Engine(), ns.Target("rabbitmq"))
	at := time.Now()
	if err := fault.Inject(ctx, h, kill); err != nil {
		t.Fatal(err)
	}
	t.Logf("kill: %s in %s", h.Ops()[0].Detail, time.Since(at).Round(100*time.Millisecond))
	if !strings.HasPrefix(h.Ops()[0].Detail, "injected: rabbitmq gone") {
		t.Errorf("kill: %q", h.Ops()[0].Detail)
	}
	at = time.Now()
	if err := fault.Heal(ctx, h, kill); err != nil {
		t.Fatal(err)
	}
	if err := ns.waitReady(ctx, "rabbitmq", nil, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	waitFor("the management API of the new pod")
	t.Logf("started again and answering in %s", time.Since(at).Round(100*time.Millisecond))
}

// On a real cluster: a broker pod with the signals container and its
// data on a volume of the pod is paused and continued (its API stops
// answering, then answers again), and restarted in place keeping a
// persistent message of a durable queue.
func TestPauseAndRestartInPlaceOnARealCluster(t *testing.T) {
	ctx, ns, image := onARealCluster(t)
	w := Workload{
		Name: "rabbitmq", App: "rabbitmq", Image: image,
		Env:    map[string]string{"RABBITMQ_DEFAULT_USER": "mqchaos", "RABBITMQ_DEFAULT_PASS": "secret"},
		Ports:  []int32{5672, 15672},
		Ready:  ReadinessProbe(system.Ready{TCP: 15672}, 0),
		Helper: SignalsImage,
		Data:   []string{"/var/lib/rabbitmq/mnesia"},
	}
	if err := ns.Run(ctx, w, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 2 * time.Second}
	api := func(method, path, body string) (int, string, error) {
		addr, err := ns.Address(ctx, "rabbitmq", 15672)
		if err != nil {
			return 0, "", err
		}
		req, _ := http.NewRequestWithContext(ctx, method, "http://"+addr+path, strings.NewReader(body))
		req.SetBasicAuth("mqchaos", "secret")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	answers := func(what string) {
		t.Helper()
		err := until(ctx, 2*time.Minute, what, func(context.Context) (bool, error) {
			code, _, err := api(http.MethodGet, "/api/overview", "")
			return code == http.StatusOK, err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	answers("the management API")
	if code, body, err := api(http.MethodPut, "/api/queues/%2F/kept", `{"durable":true}`); err != nil || code/100 != 2 {
		t.Fatalf("declare a durable queue: %d %s %v", code, body, err)
	}
	if code, body, err := api(http.MethodPost, "/api/exchanges/%2F/amq.default/publish", `{"properties":{"delivery_mode":2},"routing_key":"kept","payload":"one","payload_encoding":"string"}`); err != nil || !strings.Contains(body, `"routed":true`) {
		t.Fatalf("publish: %d %s %v", code, body, err)
	}

	h := &history.History{}
	e, target := ns.Engine(), ns.Target("rabbitmq")
	pause := fault.Pause(e, target)
	if err := fault.Inject(ctx, h, pause); err != nil {
		t.Fatal(err)
	}
	if d := h.Ops()[len(h.Ops())-1].Detail; d != "injected: rabbitmq paused" {
		t.Errorf("pause: %q", d)
	}
	if code, _, err := api(http.MethodGet, "/api/overview", ""); err == nil {
		t.Errorf("the paused broker answered: %d", code)
	}
	if err := fault.Heal(ctx, h, pause); err != nil {
		t.Fatal(err)
	}
	answers("the management API after the pause")

	at := time.Now()
	if err := fault.Inject(ctx, h, fault.Restart(e, target, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Logf("restart in place: %s in %s", h.Ops()[len(h.Ops())-1].Detail, time.Since(at).Round(100*time.Millisecond))
	answers("the management API after the restart")
	err := until(ctx, time.Minute, "the message back in its queue", func(context.Context) (bool, error) {
		code, body, err := api(http.MethodGet, "/api/queues/%2F/kept", "")
		return code == http.StatusOK && strings.Contains(body, `"messages":1,`), err
	})
	if err != nil {
		t.Error(err)
	}
	t.Logf("answering again with the message %s after the restart began", time.Since(at).Round(100*time.Millisecond))
}

// onARealCluster connects to the cluster of MQCHAOS_KUBECONFIG (or skips
// the test) and creates a namespace that the test's end deletes, checking
// that it is gone; image is the broker's.
func onARealCluster(t *testing.T) (context.Context, *Namespace, string) {
	path := os.Getenv("MQCHAOS_KUBECONFIG")
	if path == "" {
		t.Skip("MQCHAOS_KUBECONFIG is not set: make k8s-test runs this on the local cluster")
	}
	image := os.Getenv("RABBITMQ_IMAGE")
	if image == "" {
		image = "mqchaos/rabbitmq:3.10-local"
	}
	ctx := t.Context()
	c, err := Connect(path)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := c.CreateNamespace(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Delete(context.WithoutCancel(ctx)); err != nil {
			t.Error(err)
		}
		if _, err := c.Client.CoreV1().Namespaces().Get(context.Background(), ns.Name, metav1.GetOptions{}); err == nil {
			t.Errorf("namespace %s left behind", ns.Name)
		}
	})
	return ctx, ns, image
}
