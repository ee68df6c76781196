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

package operator_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/burner-operator/burner-operator/internal/operator"
	"github.com/burner-operator/burner-operator/internal/testenv"
)

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

func run(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = testenv.RepoRoot()
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", filepath.Base(name), strings.Join(args, " "), err, out, stderr.String())
	}
	return out
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

func kubectlDryRun(t *testing.T, manifest []byte, namespace string) string {
	t.Helper()
	return string(run(t, manifest, kubectl(t),
		"--kubeconfig", env.KubeconfigFile(t), "apply", "--server-side", "--dry-run=server", "-n", namespace, "-f", "-"))
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
			// The chart's default concurrency is the manager's own.
			for _, want := range []string{"--leader-elect=true", "--burner-api-url=http://127.0.0.1:8089",
				fmt.Sprintf("--max-concurrent-reconciles=%d", operator.DefaultConcurrency)} {
				if !strings.Contains(text, want) {
					t.Errorf("Deployment lacks %s", want)
				}
			}
		}
	}
}

// TestChartRBACMatchesMarkers: the chart's ClusterRole grants exactly what the controller's RBAC markers generate.
func TestChartRBACMatchesMarkers(t *testing.T) {
	manifest := run(t, nil, tool(t, "HELM"), "template", "burner", "charts/burner-operator")
	want := readYAML[rbacv1.ClusterRole](t, filepath.Join("config", "rbac", "role.yaml"))
	for _, o := range objects(t, manifest) {
		if o.GetKind() == "ClusterRole" && strings.HasSuffix(o.GetName(), "-manager") {
			var got rbacv1.ClusterRole
			if err := sigsyaml.Unmarshal([]byte(sigsyamlString(t, o.Object)), &got); err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got.Rules, want.Rules, func(a, b rbacv1.PolicyRule) bool {
				return sigsyamlString(t, a) == sigsyamlString(t, b)
			}) {
				t.Fatalf("chart rules differ from config/rbac/role.yaml (run make manifests):\n%v\n%v", got.Rules, want.Rules)
			}
			return
		}
	}
	t.Fatal("no manager ClusterRole in the chart")
}

// TestManagerRunsUnderInstalledRBAC installs the RBAC of install.yaml and runs the manager as its ServiceAccount
// (impersonated), with leader election as deployed: a session must become Ready, so the RBAC is what it needs.
func TestManagerRunsUnderInstalledRBAC(t *testing.T) {
	manifest := run(t, nil, tool(t, "KUSTOMIZE"), "build", "config/default")
	ns := ensureNamespace(t, manifest)
	cfg := installRBAC(t, manifest)

	f := newFlow(t)
	f.startManagerWithConfig(cfg, func(o *operator.Options) {
		o.Manager.LeaderElection = true
		o.Manager.LeaderElectionNamespace = ns
	})
	f.createSession("pay", 300)
	f.waitReady("pay")
	if strings.Contains(f.logs.String(), "forbidden") {
		t.Fatalf("the manager hit a forbidden request under the installed RBAC:\n%s", f.logs.String())
	}
}

// installRBAC creates the ServiceAccount and the RBAC objects of rendered manifests (nothing else) and returns a
// config that impersonates that ServiceAccount. What it created is deleted when the test ends.
func installRBAC(t *testing.T, manifest []byte) *rest.Config {
	t.Helper()
	var sa *unstructured.Unstructured
	for _, o := range objects(t, manifest) {
		switch o.GetKind() {
		case "ServiceAccount":
			sa = o.DeepCopy()
		case "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding":
		default:
			continue
		}
		if err := env.Client.Create(t.Context(), o); client.IgnoreAlreadyExists(err) != nil {
			t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.Background(), o) })
	}
	if sa == nil {
		t.Fatal("no ServiceAccount in the manifests")
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: serviceAccountUser(sa.GetNamespace(), sa.GetName())}
	return cfg
}

// serviceAccountUser is the user name a ServiceAccount authenticates as.
func serviceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

func sigsyamlString(t *testing.T, v any) string {
	t.Helper()
	b, err := sigsyaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
