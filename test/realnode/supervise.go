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

package realnode

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/burner-operator/burner-operator/internal/testenv"
)

// component is one process of the node and how to tell it is up.
type component struct {
	name  string
	args  []string
	ready func(context.Context) error
}

// Supervise runs the node from dir until SIGTERM, as the first process of its own mount and PID namespaces (see
// startSupervisor): it makes the mount tree private to the namespace (then shared within it, as the kubelet and
// containerd expect), mounts a /proc of its PID namespace and the node's own copies of the paths the kubelet and
// containerd hard-code, then starts the components in order. If one of them exits, it stops the others and returns.
func Supervise(dir, bins string) error {
	d := paths(dir)
	if err := isolateMounts(d); err != nil {
		return err
	}
	sigCtx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// ctx ends at SIGTERM, or with the exit of any component as its cause.
	ctx, exited := context.WithCancelCause(sigCtx)
	defer exited(nil)
	var running []*testenv.Process
	defer func() {
		for _, p := range slices.Backward(running) {
			p.Stop(20 * time.Second)
		}
	}()
	comps, err := components(d)
	if err != nil {
		return err
	}
	for _, c := range comps {
		bin := c.name
		if c.name != containerd {
			bin = filepath.Join(bins, c.name)
		}
		log := filepath.Join(d.logs(), c.name+".log")
		p, err := testenv.StartProcess(log, nil, bin, c.args...)
		if err != nil {
			return err
		}
		running = append(running, p)
		go func() { <-p.Done(); exited(fmt.Errorf("%s exited (see %s)", c.name, log)) }()
		fmt.Printf("%s started %s (pid %d)\n", time.Now().Format(time.RFC3339), c.name, p.Pid())
		if c.ready == nil {
			continue
		}
		readyCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = c.ready(readyCtx)
		cancel()
		if err != nil {
			return fmt.Errorf("%s not ready: %w", c.name, context.Cause(readyCtx))
		}
	}
	<-ctx.Done()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	fmt.Println("stopping")
	return nil
}

func isolateMounts(d paths) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		return fmt.Errorf("making / shared: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	for _, p := range hostDirs {
		if err := unix.Mount(d.hostDir(p), p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mounting %s: %w", p, err)
		}
	}
	return nil
}

func components(d paths) ([]component, error) {
	pki := d.pki
	// The admin's client certificate, to ask the apiserver's /readyz.
	admin, err := tls.LoadX509KeyPair(pki("admin.crt"), pki("admin.key"))
	if err != nil {
		return nil, err
	}
	apiserverURL := fmt.Sprintf("https://%s:%d", nodeName, APIServerPort)
	etcdURL := fmt.Sprintf("http://%s:%d", nodeName, etcdPort)
	peerURL := fmt.Sprintf("http://%s:%d", nodeName, etcdPeerPort)
	return []component{
		{name: "etcd", args: []string{"--data-dir", d.join("etcd"), "--listen-client-urls", etcdURL,
			"--advertise-client-urls", etcdURL, "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
			"--initial-cluster", "default=" + peerURL, "--listen-metrics-urls", "", "--unsafe-no-fsync"},
			ready: httpReady(etcdURL+"/health", nil)},
		{name: kubeAPIServer, args: []string{"--etcd-servers", etcdURL, "--bind-address", nodeName,
			"--advertise-address", nodeName,
			// The kubernetes Service gets no endpoints (they may not be loopback): pods are told the address instead.
			"--endpoint-reconciler-type", "none", "--secure-port", strconv.Itoa(APIServerPort), "--cert-dir", d.join("pki"),
			"--tls-cert-file", pki("apiserver.crt"), "--tls-private-key-file", pki("apiserver.key"),
			"--client-ca-file", pki("ca.crt"), "--service-cluster-ip-range", serviceRange,
			"--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", pki("sa.pub"),
			"--service-account-signing-key-file", pki("sa.key"), "--authorization-mode", "Node,RBAC",
			"--enable-admission-plugins", "NodeRestriction",
			// The CSI node plugin must be privileged (its mounts propagate to the host); the default refuses it.
			"--allow-privileged",
			"--kubelet-client-certificate", pki("apiserver-kubelet-client.crt"),
			"--kubelet-client-key", pki("apiserver-kubelet-client.key"), "--kubelet-certificate-authority", pki("ca.crt")},
			ready: httpReady(apiserverURL+"/readyz",
				&tls.Config{Certificates: []tls.Certificate{admin}, InsecureSkipVerify: true})}, //nolint:gosec // loopback
		{name: containerd, args: []string{"--config", d.join("containerd", "config.toml")},
			ready: func(ctx context.Context) error {
				return poll(ctx, func() (bool, error) { _, err := os.Stat(d.socket()); return err == nil, nil })
			}},
		{name: "kube-controller-manager", args: append(controlLoopArgs(d, "controller-manager", 10257),
			"--use-service-account-credentials", "--service-account-private-key-file", pki("sa.key"),
			"--root-ca-file", pki("ca.crt"), "--cluster-signing-cert-file", pki("ca.crt"),
			"--cluster-signing-key-file", pki("ca.key"))},
		{name: "kube-scheduler", args: controlLoopArgs(d, "scheduler", 10259)},
		{name: kubelet, args: []string{"--config", d.join("kubelet-config.yaml"),
			"--kubeconfig", d.componentKubeconfig("kubelet-client"), "--hostname-override", nodeName}},
	}, nil
}

// controlLoopArgs are the flags kube-controller-manager and kube-scheduler share: their identity's kubeconfig for
// everything, HTTPS on a loopback port, no leader election (there is one of each).
func controlLoopArgs(d paths, id string, port int) []string {
	kubeconfig := d.componentKubeconfig(id)
	return []string{"--kubeconfig", kubeconfig, "--authentication-kubeconfig", kubeconfig,
		"--authorization-kubeconfig", kubeconfig, "--bind-address", nodeName, "--secure-port", strconv.Itoa(port),
		"--leader-elect=false"}
}

// httpReady waits for url to answer 200.
func httpReady(url string, tlsConfig *tls.Config) func(context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	return func(ctx context.Context) error {
		return poll(ctx, func() (bool, error) {
			resp, err := client.Get(url)
			if err != nil {
				return false, nil
			}
			_ = resp.Body.Close()
			return resp.StatusCode == http.StatusOK, nil
		})
	}
}
