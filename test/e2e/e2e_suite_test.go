//go:build e2e

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

// Package e2e runs the operator as users deploy it, on a real node: from dist/install.yaml and from the Helm chart,
// as a pod, with pods that mount the token Secrets. It uses the cluster KUBECONFIG names, or else starts the
// project's node (test/realnode) and stops it at the end. On a failure, the node's logs, the cluster's objects and
// the pods' reads are left in the artifacts directory the output names. Run it with `make test-e2e`.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/testenv"
	"github.com/burner-operator/burner-operator/test/realnode"
)

// simAddr is where the tests serve the Burner API simulator; the overlays point the manager there.
const simAddr = "127.0.0.1:18089"

// The environment every test shares.
var (
	kubeconfig string
	// node is the project's node when the tests started it (KUBECONFIG unset).
	node       *realnode.Node
	restConfig *rest.Config
	cs         *kubernetes.Clientset
	k8s        client.Client
	sim        *burnersim.Server
	artifacts  string
	root       = testenv.RepoRoot()
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	var err error
	if artifacts = os.Getenv("E2E_ARTIFACTS"); artifacts == "" {
		artifacts, err = os.MkdirTemp("", "burner-e2e-")
	}
	if err == nil {
		err = os.MkdirAll(artifacts, 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	fmt.Printf("e2e artifacts (reads, delays; logs and objects on failure): %s\n", artifacts)
	if kubeconfig = os.Getenv("KUBECONFIG"); kubeconfig == "" {
		if node, err = startNode(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: starting the node: %v (its logs are in %s)\n", err, artifacts)
			dump()
			_ = realnode.Down(nodeDir())
			return 1
		}
		kubeconfig = node.Kubeconfig
		fmt.Printf("node Ready in %.1fs (%s)\n", node.Started.Seconds(), node.Dir)
		// Interrupted (Ctrl-C), the node is still stopped. A run that go test's timeout ends leaves it to the next
		// run, which stops it first.
		interrupted := make(chan os.Signal, 1)
		signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-interrupted
			fmt.Fprintln(os.Stderr, "e2e: interrupted, stopping the node")
			_ = realnode.Down(node.Dir)
			os.Exit(1)
		}()
	}
	defer func() {
		if node != nil {
			if err := realnode.Down(node.Dir); err != nil {
				fmt.Fprintln(os.Stderr, "e2e: stopping the node:", err)
			}
		}
	}()
	if err := connect(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	sim = burnersim.New()
	if _, err := sim.Listen(simAddr); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the simulator:", err)
		return 1
	}
	defer sim.Close()
	code := m.Run()
	if code != 0 {
		dump()
		fmt.Printf("e2e failed: node logs, objects and the pods' reads are in %s\n", artifacts)
	}
	return code
}

// nodeDir is E2E_NODE_DIR, or a directory of this checkout's own: a run stops the node an interrupted run of the
// same checkout left, never another checkout's.
func nodeDir() string {
	sum := sha256.Sum256([]byte(root))
	return envOr("E2E_NODE_DIR", filepath.Join(os.TempDir(), fmt.Sprintf("burner-e2e-node-%x", sum[:4])))
}

// startNode starts the project's node with the images `make node-images` built.
func startNode() (*realnode.Node, error) {
	images, _ := filepath.Glob(filepath.Join(envOr("E2E_IMAGES", filepath.Join(root, "bin", "images")), "*.tar"))
	bins, err := testenv.Assets()
	if err != nil {
		return nil, err
	}
	if err := realnode.Down(nodeDir()); err != nil {
		return nil, fmt.Errorf("stopping the node an earlier run left: %w", err)
	}
	return realnode.Up(context.Background(), realnode.Config{Dir: nodeDir(), Bins: bins, Images: images,
		Self: envOr("E2E_REALNODE", filepath.Join(root, "bin", "realnode"))})
}

func connect() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 50, 100
	restConfig = cfg
	// The tests' clients log nothing worth reading; the manager's logs are in its pods.
	ctrllog.SetLogger(logr.Discard())
	if cs, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	s := scheme.Scheme
	if err := burnerv1alpha1.AddToScheme(s); err != nil {
		return err
	}
	k8s, err = client.New(cfg, client.Options{Scheme: s})
	return err
}

// dump copies what explains a failure into the artifacts: the node's component and pod logs, every object of the
// test namespaces and the operator's, and the events.
func dump() {
	if os.Getenv("KUBECONFIG") == "" {
		_ = exec.Command("cp", "-r", filepath.Join(nodeDir(), "logs"), filepath.Join(artifacts, "node-logs")).Run()
		_ = exec.Command("cp", "-r", filepath.Join(nodeDir(), "host", "var", "log", "pods"),
			filepath.Join(artifacts, "pod-logs")).Run()
	}
	if kubeconfig == "" {
		return // no cluster to ask
	}
	out, _ := kubectl(nil, "get", "all,burnersessions,burnerissuers,clusterburnerissuers,leases,events", "-A",
		"-o", "yaml")
	_ = os.WriteFile(filepath.Join(artifacts, "objects.yaml"), []byte(out), 0o644)
}

// kubectl runs kubectl against the cluster, with stdin if given.
func kubectl(stdin []byte, args ...string) (string, error) {
	bin, err := testenv.Kubectl()
	if err != nil {
		return "", err
	}
	return runTool(stdin, bin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
}

// tool is a binary the Makefile builds into bin/ (testenv.Tool), e.g. tool(t, "HELM").
func tool(t *testing.T, name string) string {
	t.Helper()
	bin, err := testenv.Tool(name)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// runTool runs bin, with PATH extended by the repository's bin/ (for `kubectl burner`), and returns its output.
func runTool(stdin []byte, bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(root, "bin")+":"+os.Getenv("PATH"))
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return out.String(), nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// eventually calls check every interval until it returns nil, failing the test with its last error at timeout.
func eventually(t *testing.T, timeout, interval time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(interval)
	}
}
