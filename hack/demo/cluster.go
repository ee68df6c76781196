/*
Copyright 2026.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"context"
	"fmt"
	"path/filepath"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/testenv"
	"github.com/burner-operator/burner-operator/test/realnode"
)

// cluster is where the demo runs.
type cluster struct {
	client     client.Client
	kubeconfig string
	ttl        int32
	// pods is set on the real node, where the consumer is a pod.
	pods kubernetes.Interface
	stop func()
}

// startCluster starts the project's node where this machine can run containers, otherwise envtest, and installs
// the CRDs.
func startCluster(ctx context.Context, dir string) (*cluster, error) {
	if why := realnode.Supported(); why != nil {
		say("no real node on this machine (%v): running on kube-apiserver and etcd only, and the consumer reads "+
			"the Secret through the API instead of a pod's mount", why)
		return startEnvtest(dir)
	}
	say("starting a single-node cluster (etcd, kube-apiserver, controller-manager, scheduler, containerd, kubelet)...")
	bins, err := testenv.Assets()
	if err != nil {
		return nil, err
	}
	images, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "bin", "images", "*.tar"))
	nodeDir := filepath.Join(dir, "node")
	n, err := realnode.Up(ctx, realnode.Config{Dir: nodeDir, Bins: bins, Images: images,
		Self: filepath.Join(testenv.RepoRoot(), "bin", "realnode")})
	stop := func() {
		if err := realnode.Down(nodeDir); err != nil {
			say("stopping the node: %v", err)
		}
	}
	if err != nil {
		stop()
		return nil, fmt.Errorf("%w (make demo builds the node's binaries and images)", err)
	}
	say("node Ready in %.1fs", n.Started.Seconds())
	cfg, err := clientcmd.BuildConfigFromFlags("", n.Kubeconfig)
	if err == nil {
		_, err = envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{ErrorIfPathMissing: true,
			Paths: []string{filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")}})
	}
	var c client.Client
	if err == nil {
		scheme := runtime.NewScheme()
		_ = clientgoscheme.AddToScheme(scheme)
		_ = burnerv1alpha1.AddToScheme(scheme)
		c, err = client.New(cfg, client.Options{Scheme: scheme})
	}
	var cs kubernetes.Interface
	if err == nil {
		cs, err = kubernetes.NewForConfig(cfg)
	}
	if err != nil {
		stop()
		return nil, err
	}
	return &cluster{client: c, kubeconfig: n.Kubeconfig, ttl: nodeTTL, pods: cs, stop: stop}, nil
}

func startEnvtest(dir string) (*cluster, error) {
	say("starting kube-apiserver and etcd (envtest)...")
	env, err := testenv.Start()
	if err != nil {
		return nil, err
	}
	stop := func() { _ = env.Stop() }
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := testenv.WriteKubeconfig(env.Config, kubeconfig); err != nil {
		stop()
		return nil, err
	}
	return &cluster{client: env.Client, kubeconfig: kubeconfig, ttl: nodelessTTL, stop: stop}, nil
}
