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

// Package testenv starts the real kube-apiserver and etcd (envtest) that the project's tests run against, with the
// operator's three CRDs installed. The binaries come from `make envtest-bins`: through KUBEBUILDER_ASSETS, or found
// where that target puts them, so plain `go test ./...` works once `make test` has run.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/version"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// Env is a running control plane and a direct (uncached) client to it.
type Env struct {
	Config *rest.Config
	Client client.Client
	env    *envtest.Environment
}

// RepoRoot is the repository's top directory, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Start starts kube-apiserver and etcd and installs the CRDs from config/crd/bases.
func Start() (*Env, error) {
	assets, err := Assets()
	if err != nil {
		return nil, err
	}
	e := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	// Run as strict a control plane as users do: OpenShift and others enforce that setting blockOwnerDeletion on an
	// owner reference needs update on the owner's finalizers.
	e.ControlPlane.GetAPIServer().Configure().Append("enable-admission-plugins", "OwnerReferencesPermissionEnforcement")
	cfg, err := e.Start()
	if err != nil {
		return nil, err
	}
	// Tests create objects quickly; the default client QPS of 5 would make them wait on the client, not the server.
	cfg.QPS, cfg.Burst = 500, 1000
	scheme := runtime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), burnerv1alpha1.AddToScheme(scheme)); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		_ = e.Stop()
		return nil, err
	}
	return &Env{Config: cfg, Client: c, env: e}, nil
}

// Assets is the directory holding kube-apiserver, etcd and kubectl: KUBEBUILDER_ASSETS when set, otherwise the
// newest control plane `make envtest-bins` built (in setup-envtest's default directory, as kubebuilder's scaffolded
// suites look in bin/k8s).
func Assets() (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	platform := "-" + goruntime.GOOS + "-" + goruntime.GOARCH
	dirs, _ := filepath.Glob(filepath.Join(home, ".local", "share", "kubebuilder-envtest", "k8s", "*"+platform))
	var newest string
	var newestVersion *version.Version
	for _, dir := range dirs {
		v, err := version.ParseGeneric(strings.TrimSuffix(filepath.Base(dir), platform))
		if _, statErr := os.Stat(filepath.Join(dir, "kube-apiserver")); err != nil || statErr != nil {
			continue
		}
		if newestVersion == nil || v.GreaterThan(newestVersion) {
			newest, newestVersion = dir, v
		}
	}
	if newest != "" {
		return newest, nil
	}
	return "", errors.New("no envtest control plane found and KUBEBUILDER_ASSETS is not set: run `make test` once")
}

// Tool is the path of a pinned tool the Makefile builds into bin/ (e.g. Tool("HELM") is bin/helm), or the path in
// the environment variable of that name, which `make test` sets.
func Tool(name string) (string, error) {
	if p := os.Getenv(name); p != "" {
		return p, nil
	}
	p := filepath.Join(RepoRoot(), "bin", strings.ToLower(name))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is not set and %s does not exist: run `make test` once", name, p)
	}
	return p, nil
}

// Kubectl is the kubectl built with the control plane.
func Kubectl() (string, error) {
	dir, err := Assets()
	return filepath.Join(dir, "kubectl"), err
}

// Stop stops the control plane.
func (e *Env) Stop() error { return e.env.Stop() }

// Run is a TestMain body: it starts the environment into *env, runs the tests and stops it.
func Run(m *testing.M, env **Env) int {
	e, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	*env = e
	defer func() { _ = e.Stop() }()
	return m.Run()
}

// Namespace creates a fresh namespace for one test and deletes it when the test ends.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "t-"}}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	t.Cleanup(func() { _ = e.Client.Delete(context.Background(), ns) })
	return ns.Name
}

// WriteKubeconfig writes cfg as a kubeconfig file (mode 0600) at path, for the programs a test or the demo runs
// against the control plane: kubectl, the manager, the kubectl plugin.
func WriteKubeconfig(cfg *rest.Config, path string) error {
	const name = "envtest"
	c := clientcmdapi.NewConfig()
	c.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	c.AuthInfos[name] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken,
	}
	c.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	c.CurrentContext = name
	return clientcmd.WriteToFile(*c, path)
}

// KubeconfigFile writes the environment's kubeconfig into a directory removed when the test ends, and returns
// its path.
func (e *Env) KubeconfigFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := WriteKubeconfig(e.Config, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// FreeAddr returns a loopback address with a port that was free a moment ago, for a server to listen on.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}
