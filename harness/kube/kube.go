// Package kube runs a system's parts in a Kubernetes namespace of their
// own, through client-go, and breaks them there: the broker, the
// database and each replica of a described service are pods the harness
// creates itself (Workload), fronted by Services, and Engine is the
// faults' platform on them. The harness reaches them through the API
// server (port-forwarding), so it need not run inside the cluster.
//
// A replica is a bare pod, not a Deployment's: a fault stops, kills and
// starts one replica, and a controller would put a killed pod back at
// once, where the catalogue needs it down until the fault heals.
package kube

import (
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is a Kubernetes cluster the harness acts on.
type Cluster struct {
	Client kubernetes.Interface
	// Config is the client's; nil with a fake Client, which can neither
	// forward ports nor exec.
	Config *rest.Config
}

// Connect reads the kubeconfig as kubectl finds it ($KUBECONFIG, then
// ~/.kube/config), or the file at path if path is not "", at its
// current context.
func Connect(path string) (*Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	// The harness looks addresses and states up on every call, as it
	// does on Docker: client-go's default of 5 requests a second (burst
	// 10) would hold a spec's polls back.
	cfg.QPS, cfg.Burst = 100, 200
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", cfg.Host, err)
	}
	return &Cluster{Client: client, Config: cfg}, nil
}
