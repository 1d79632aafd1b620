package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// forwards are the namespace's open port-forwards, by pod and port, each
// to the pod of one UID: a pod created again gets a forward of its own.
type forwards struct {
	mu   sync.Mutex
	open map[string]*forward
}

type forward struct {
	uid  types.UID
	addr string
	stop chan struct{}
	// ended is closed when the forward has stopped by itself: client-go
	// ends it when its stream to the pod breaks, as when the pod's
	// container restarts in place (same UID).
	ended chan struct{}
}

// live reports whether f still forwards.
func (f *forward) live() bool {
	select {
	case <-f.ended:
		return false
	default:
		return true
	}
}

// Address is where the harness reaches port of pod name: a port on
// 127.0.0.1 forwarded through the API server, looked up now. It opens a
// forward on first use and again for a pod that was created anew.
func (n *Namespace) Address(ctx context.Context, name string, port int) (string, error) {
	if n.c.Config == nil {
		return "", errors.New("port-forward: the cluster has no client config")
	}
	p, err := n.c.Client.CoreV1().Pods(n.Name).Get(ctx, n.podOf(name), metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("address of %s:%d: %w", name, port, err)
	}
	key := name + ":" + strconv.Itoa(port)
	n.fw.mu.Lock()
	defer n.fw.mu.Unlock()
	if f, ok := n.fw.open[key]; ok {
		if f.uid == p.UID && f.live() {
			return f.addr, nil
		}
		close(f.stop)
		delete(n.fw.open, key)
	}
	f, err := n.forward(ctx, name, port)
	if err != nil {
		return "", fmt.Errorf("port-forward %s/%s:%d: %w", n.Name, name, port, err)
	}
	f.uid = p.UID
	if n.fw.open == nil {
		n.fw.open = map[string]*forward{}
	}
	n.fw.open[key] = f
	return f.addr, nil
}

func (n *Namespace) forward(ctx context.Context, name string, port int) (*forward, error) {
	transport, upgrader, err := spdy.RoundTripperFor(n.c.Config)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(n.c.Config.Host)
	if err != nil {
		return nil, err
	}
	u.Path += fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/portforward", n.Name, n.podOf(name))
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	stop, ready := make(chan struct{}), make(chan struct{})
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(port)}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		return nil, err
	}
	failed, ended := make(chan error, 1), make(chan struct{})
	go func() {
		failed <- pf.ForwardPorts()
		close(ended)
	}()
	select {
	case <-ready:
	case err := <-failed:
		return nil, err
	case <-ctx.Done():
		close(stop)
		return nil, ctx.Err()
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) == 0 {
		close(stop)
		return nil, fmt.Errorf("no local port: %v", err)
	}
	return &forward{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local))), stop: stop, ended: ended}, nil
}

// closeForwards stops every forward.
func (n *Namespace) closeForwards() {
	n.fw.mu.Lock()
	defer n.fw.mu.Unlock()
	for k, f := range n.fw.open {
		close(f.stop)
		delete(n.fw.open, k)
	}
}
