package kube

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"
)

// Exec runs cmd in the main container of pod name, as kubectl exec does,
// and returns its exit status and its output: stdout, then stderr.
func (n *Namespace) Exec(ctx context.Context, name string, cmd []string) (int, []byte, error) {
	return n.execIn(ctx, name, "main", cmd)
}

func (n *Namespace) execIn(ctx context.Context, name, container string, cmd []string) (int, []byte, error) {
	if n.c.Config == nil {
		return 0, nil, errors.New("exec: the cluster has no client config")
	}
	u, err := url.Parse(n.c.Config.Host)
	if err != nil {
		return 0, nil, err
	}
	u.Path += fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/exec", n.Name, n.podOf(name))
	q, err := scheme.ParameterCodec.EncodeParameters(&corev1.PodExecOptions{
		Container: container, Command: cmd, Stdout: true, Stderr: true,
	}, corev1.SchemeGroupVersion)
	if err != nil {
		return 0, nil, err
	}
	u.RawQuery = q.Encode()
	e, err := remotecommand.NewSPDYExecutor(n.c.Config, "POST", u)
	if err != nil {
		return 0, nil, fmt.Errorf("exec in %s/%s: %w", n.Name, name, err)
	}
	// Two buffers: the streams are copied by goroutines of their own.
	var stdout, stderr bytes.Buffer
	err = e.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr})
	out := append(stdout.Bytes(), stderr.Bytes()...)
	if ce := (exec.CodeExitError{}); errors.As(err, &ce) {
		return ce.Code, out, nil
	}
	if err != nil {
		return 0, out, fmt.Errorf("exec %q in %s/%s: %w", cmd, n.Name, name, err)
	}
	return 0, out, nil
}
