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

// Package install tests what users install: the kustomize manifests (config/default, from which dist/install.yaml is
// built) and the Helm chart with its defaults and every option. They render, lint, apply server-side to a real
// apiserver, match what controller-gen generates, and grant the manager all it needs and no more: the manager runs
// under exactly the RBAC they install.
package install

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/operator"
	"github.com/burner-operator/burner-operator/internal/policy"
	"github.com/burner-operator/burner-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

// tool returns the path of a pinned tool, e.g. KUSTOMIZE or HELM.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := testenv.Tool(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func kubectl(t *testing.T) string {
	t.Helper()
	p, err := testenv.Kubectl()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs a command in the repository root with stdin as its input and returns its output; it must succeed.
func run(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := command(stdin, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", filepath.Base(name), strings.Join(args, " "), err, out, stderr.String())
	}
	return out
}

// fails runs a command that must fail, like run, and returns its output.
func fails(t *testing.T, stdin []byte, name string, args ...string) string {
	t.Helper()
	out, err := command(stdin, name, args...).CombinedOutput()
	if err == nil {
		t.Fatalf("%s %s succeeded, want a failure:\n%s", filepath.Base(name), strings.Join(args, " "), out)
	}
	return string(out)
}

func command(stdin []byte, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = testenv.RepoRoot()
	cmd.Stdin = bytes.NewReader(stdin)
	return cmd
}

// objects splits a multi-document YAML stream.
func objects(t *testing.T, manifest []byte) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			break
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
	return out
}

// find is the first object of kind in manifest.
func find(t *testing.T, manifest []byte, kind string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objects(t, manifest) {
		if o.GetKind() == kind {
			return o
		}
	}
	t.Fatalf("no %s in the manifests", kind)
	return nil
}

// kubectlDryRun applies manifest server-side into namespace, as a dry run that must succeed, and returns the output.
func kubectlDryRun(t *testing.T, manifest []byte, namespace string) string {
	t.Helper()
	return string(run(t, manifest, kubectl(t), dryRunArgs(t, namespace)...))
}

// kubectlApplyFails runs a server-side dry run that must fail, and returns its output.
func kubectlApplyFails(t *testing.T, manifest []byte, namespace string) string {
	t.Helper()
	return fails(t, manifest, kubectl(t), dryRunArgs(t, namespace)...)
}

// dryRunArgs are kubectl's arguments for a server-side dry-run apply of its input into namespace, as the admin.
func dryRunArgs(t *testing.T, namespace string) []string {
	t.Helper()
	return []string{"--kubeconfig", env.KubeconfigFile(t), "apply", "--server-side", "--dry-run=server",
		"-n", namespace, "-f", "-"}
}

// ensureNamespace creates the namespace the manifests install into, which a dry run cannot create for them.
func ensureNamespace(t *testing.T, manifest []byte) string {
	t.Helper()
	for _, o := range objects(t, manifest) {
		if o.GetKind() == "Namespace" {
			if err := env.Client.Create(t.Context(), o.DeepCopy()); client.IgnoreAlreadyExists(err) != nil {
				t.Fatal(err)
			}
			return o.GetName()
		}
	}
	t.Fatal("no Namespace in the manifests")
	return ""
}

func TestInstallYAMLAppliesServerSide(t *testing.T) {
	manifest := run(t, nil, tool(t, "KUSTOMIZE"), "build", "config/default")
	ns := ensureNamespace(t, manifest)
	out := kubectlDryRun(t, manifest, ns)
	for _, want := range []string{"customresourcedefinition", "deployment.apps/burner-operator-controller-manager",
		"clusterrole.rbac.authorization.k8s.io/burner-operator-manager-role"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run did not apply %s:\n%s", want, out)
		}
	}
}

func TestHelmChartAppliesServerSide(t *testing.T) {
	ns := env.Namespace(t)
	// No --kube-version: the chart renders with whatever Kubernetes version helm assumes.
	manifest := run(t, nil, tool(t, "HELM"), "template", "burner", "charts/burner-operator", "--namespace", ns,
		"--set", "replicas=2", "--set", "burnerAPI.url=http://127.0.0.1:8089")
	out := kubectlDryRun(t, manifest, ns)
	if !strings.Contains(out, "deployment.apps/burner-burner-operator") {
		t.Fatalf("dry run did not apply the Deployment:\n%s", out)
	}
	for _, o := range objects(t, manifest) {
		if o.GetKind() == "Deployment" {
			args, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			text := sigsyamlString(t, args)
			// The chart's default concurrency and force-refresh interval are the manager's own.
			for _, want := range []string{"--leader-elect=true", "--burner-api-url=http://127.0.0.1:8089",
				"--allowed-api-urls=" + strings.Join(burnerapi.DefaultAllowedURLs, ","),
				fmt.Sprintf("--max-concurrent-reconciles=%d", operator.DefaultConcurrency),
				fmt.Sprintf("--force-refresh-min-interval=%.0fs", policy.ForceRefreshMinInterval.Seconds())} {
				if !strings.Contains(text, want) {
					t.Errorf("Deployment lacks %s", want)
				}
			}
		}
	}
}

func sigsyamlString(t *testing.T, v any) string {
	t.Helper()
	b, err := sigsyaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readYAML decodes the file at rel, a path below the repository root, into a T.
func readYAML[T any](t *testing.T, rel string) T {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), rel))
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := sigsyaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// jsonRoundTrip normalises numbers and maps so that YAML decoded two ways compares equal.
func jsonRoundTrip(t *testing.T, v any) any {
	t.Helper()
	b, err := sigsyaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := sigsyaml.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
