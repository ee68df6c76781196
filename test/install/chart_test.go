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

package install

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/burner-operator/burner-operator/internal/testenv"
)

var monitoringCRDs sync.Once

// installMonitoringCRDs installs minimal ServiceMonitor and PrometheusRule CRDs (test/testdata/monitoring-crds), so
// the apiserver validates what the chart and config/prometheus render.
func installMonitoringCRDs(t *testing.T) {
	t.Helper()
	var err error
	monitoringCRDs.Do(func() {
		_, err = envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{
			Paths:              []string{filepath.Join(testenv.RepoRoot(), "test", "testdata", "monitoring-crds")},
			ErrorIfPathMissing: true,
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

const chart = "charts/burner-operator"

var everyOption = filepath.Join("test", "testdata", "chart", "every-option.yaml")

func helmTemplate(t *testing.T, ns string, args ...string) []byte {
	t.Helper()
	return run(t, nil, tool(t, "HELM"), append([]string{"template", "burner", chart, "--namespace", ns}, args...)...)
}

// helmFails runs helm, expects it to fail, and returns its output.
func helmFails(t *testing.T, args ...string) string {
	t.Helper()
	return fails(t, nil, tool(t, "HELM"), args...)
}

func TestHelmLintStrict(t *testing.T) {
	run(t, nil, tool(t, "HELM"), "lint", "--strict", chart)
	run(t, nil, tool(t, "HELM"), "lint", "--strict", chart, "-f", everyOption)
}

// TestHelmChartWithEveryOptionAppliesServerSide: every option on, ServiceMonitor and PrometheusRule included.
func TestHelmChartWithEveryOptionAppliesServerSide(t *testing.T) {
	installMonitoringCRDs(t)
	ns := env.Namespace(t)
	manifest := helmTemplate(t, ns, "-f", everyOption)
	out := kubectlDryRun(t, manifest, ns)
	for _, want := range []string{"customresourcedefinition.apiextensions.k8s.io/burnersessions.burner.aerosol.com",
		"deployment.apps/burner-ops", "serviceaccount/burner-manager", "poddisruptionbudget.policy/burner-ops",
		"networkpolicy.networking.k8s.io/burner-ops", "servicemonitor.monitoring.coreos.com/burner-ops",
		"prometheusrule.monitoring.coreos.com/burner-ops", "configmap/burner-ops-dashboard",
		"service/burner-ops-metrics", "csidriver.storage.k8s.io/csi.burner.aerosol.com",
		"daemonset.apps/burner-ops-csi-node", "service/burner-ops-mint", "secret/burner-ops-mint-cert",
		"validatingadmissionpolicy.admissionregistration.k8s.io/burner-ops-mount-safe-lifetime"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run did not apply %s:\n%s", want, out)
		}
	}

	dep := find(t, manifest, "Deployment")
	pod, _, _ := unstructured.NestedMap(dep.Object, "spec", "template", "spec")
	text := sigsyamlString(t, pod)
	for _, want := range []string{
		"registry.example.com/burner-operator@sha256:0123", "priorityClassName: system-cluster-critical",
		"topologySpreadConstraints", "HTTPS_PROXY", "mountPath: /etc/corporate-ca", "team: payments",
		"--metrics-cert-path=", "secretName: burner-metrics-cert", "terminationGracePeriodSeconds: 60",
		"serviceAccountName: burner-manager", "--zap-log-level=info", "hostNetwork: true",
		"--health-probe-bind-address=:18081", "containerPort: 18081",
		"--burner-api-max-inflight-per-host=8",
		"--mint-bind-address=:9444", "--mint-dns-name=burner-ops-mint." + ns + ".svc", "secretName: burner-ops-mint-cert",
	} {
		if !strings.Contains(text, want) && !strings.Contains(sigsyamlString(t, dep.Object), want) {
			t.Errorf("Deployment lacks %q", want)
		}
	}

	sm := sigsyamlString(t, find(t, manifest, "ServiceMonitor").Object)
	for _, want := range []string{"honorLabels: true", "release: kube-prometheus-stack", "name: burner-metrics-cert",
		"serverName: burner-ops-metrics." + ns + ".svc"} {
		if !strings.Contains(sm, want) {
			t.Errorf("ServiceMonitor lacks %q:\n%s", want, sm)
		}
	}
	if strings.Contains(sm, "insecureSkipVerify") {
		t.Errorf("ServiceMonitor skips certificate verification by default:\n%s", sm)
	}
	rule := sigsyamlString(t, find(t, manifest, "PrometheusRule").Object)
	for _, want := range []string{"< 600", "for: 5m", "for: 30m",
		"https://wiki.example.com/burner#burnersessionnotready"} {
		if !strings.Contains(rule, want) {
			t.Errorf("PrometheusRule lacks %q", want)
		}
	}
	crd := find(t, manifest, "CustomResourceDefinition")
	if crd.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
		t.Error("crds.keep did not annotate the CRD with helm.sh/resource-policy: keep")
	}
}

// TestHelmChartRefusesUnsafeOrMistypedValues: the schema and the templates fail the install instead of installing
// something that silently misbehaves.
func TestHelmChartRefusesUnsafeOrMistypedValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  []string
		want string
	}{
		{"a misspelt key", []string{"replicaCount=2"}, "replicaCount"},
		{"a wrong type", []string{"replicas=two"}, "replicas"},
		{"a misspelt nested key", []string{"metrics.serviceMonitor.honorlabels=true"}, "honorlabels"},
		{"replicas > 1 without leader election", []string{"replicas=2", "leaderElection.enabled=false"},
			"leaderElection"},
		{"a ServiceMonitor that cannot verify the endpoint", []string{"metrics.serviceMonitor.enabled=true"},
			"metrics.tls.secretName"},
		{"a NetworkPolicy without the API's addresses", []string{"networkPolicy.enabled=true"},
			"networkPolicy.burnerAPI.to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := make([]string, 0, 3+2*len(tc.set))
			args = append(args, "template", "burner", chart)
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			if out := helmFails(t, args...); !strings.Contains(out, tc.want) {
				t.Fatalf("helm failed without naming %s:\n%s", tc.want, out)
			}
		})
	}
}

func TestHelmChartCRDsAreOptional(t *testing.T) {
	manifest := helmTemplate(t, "default", "--set", "crds.enabled=false")
	for _, o := range objects(t, manifest) {
		if o.GetKind() == "CustomResourceDefinition" {
			t.Fatal("crds.enabled=false still renders the CRD")
		}
	}
	crd := find(t, helmTemplate(t, "default", "--set", "crds.keep=false"), "CustomResourceDefinition")
	if _, ok := crd.GetAnnotations()["helm.sh/resource-policy"]; ok {
		t.Fatal("crds.keep=false still keeps the CRD")
	}
}

// TestChartCRDMatchesGenerated: the CRDs the chart installs are the ones `make manifests` generates, all of them.
func TestChartCRDMatchesGenerated(t *testing.T) {
	generated, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "crd", "bases", "*.yaml"))
	var rendered int
	for _, o := range objects(t, helmTemplate(t, "default")) {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		rendered++
		want := readYAML[map[string]any](t, filepath.Join("config", "crd", "bases", "burner.aerosol.com_"+
			strings.TrimSuffix(o.GetName(), ".burner.aerosol.com")+".yaml"))
		if !reflect.DeepEqual(jsonRoundTrip(t, o.Object["spec"]), jsonRoundTrip(t, want["spec"])) {
			t.Fatalf("the chart's CRD %s differs from config/crd/bases (run make manifests)", o.GetName())
		}
	}
	if rendered != len(generated) || rendered == 0 {
		t.Fatalf("the chart renders %d CRDs, config/crd/bases holds %d", rendered, len(generated))
	}
}

// TestAlertsFileMatchesChart: config/prometheus/burner_alerts.yaml holds the chart's rules with its defaults.
func TestAlertsFileMatchesChart(t *testing.T) {
	rendered := find(t, helmTemplate(t, "default", "--set", "metrics.prometheusRule.enabled=true"), "PrometheusRule")
	file := readYAML[map[string]any](t, filepath.Join("config", "prometheus", "burner_alerts.yaml"))
	if !reflect.DeepEqual(jsonRoundTrip(t, rendered.Object["spec"]), jsonRoundTrip(t, file["spec"])) {
		t.Fatal("config/prometheus/burner_alerts.yaml differs from the chart's PrometheusRule (run make manifests, " +
			"and keep the Makefile's ALERT_* equal to the chart's metrics.prometheusRule defaults)")
	}
}

// TestKustomizePrometheusAppliesServerSide: config/prometheus applies as part of config/default and on its own,
// and the alerts file applies directly to any namespace.
func TestKustomizePrometheusAppliesServerSide(t *testing.T) {
	installMonitoringCRDs(t)
	ns := env.Namespace(t)
	out := kubectlDryRun(t, run(t, nil, tool(t, "KUSTOMIZE"), "build", "config/prometheus"), ns)
	for _, want := range []string{"servicemonitor.monitoring.coreos.com/controller-manager-metrics-monitor",
		"prometheusrule.monitoring.coreos.com/burner-alerts"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run did not apply %s:\n%s", want, out)
		}
	}
	alerts, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "prometheus", "burner_alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	kubectlDryRun(t, alerts, ns)

	// The test CRDs are strict, so a misspelt field in a template fails these tests instead of passing unseen.
	misspelt := []byte("apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: typo}\n" +
		"spec: {selector: {}, endpoints: [{port: https, honorlabels: true}]}\n")
	if out := kubectlApplyFails(t, misspelt, ns); !strings.Contains(out, "honorlabels") {
		t.Fatalf("the ServiceMonitor CRD accepted a misspelt field:\n%s", out)
	}
}

// TestGracePeriodCoversAnAPICallAndShutdown: a mint in flight when the pod is stopped is written before SIGKILL:
// the grace period covers the API timeout (10s) plus the manager's graceful shutdown (30s).
func TestGracePeriodCoversAnAPICallAndShutdown(t *testing.T) {
	const need = 10 + 30
	for name, manifest := range map[string][]byte{
		"chart":     helmTemplate(t, "default"),
		"kustomize": run(t, nil, tool(t, "KUSTOMIZE"), "build", "config/default"),
	} {
		v, _, _ := unstructured.NestedFieldNoCopy(find(t, manifest, "Deployment").Object,
			"spec", "template", "spec", "terminationGracePeriodSeconds")
		// The YAML decoder yields float64 for numbers.
		if grace, _ := v.(float64); grace < need {
			t.Errorf("%s: terminationGracePeriodSeconds = %v, want at least %d", name, v, need)
		}
	}
}

// TestCSIDriverPassesPodTokensInSecrets: both installs' CSIDriver is the same and has the kubelet pass the pod's
// token in NodePublishVolume's secrets (redacted by sidecars and loggers), so the apiserver has nothing to warn about.
func TestCSIDriverPassesPodTokensInSecrets(t *testing.T) {
	rendered := find(t, helmTemplate(t, "default", "--set", "csiDriver.enabled=true"), "CSIDriver")
	file := readYAML[map[string]any](t, filepath.Join("config", "csi", "driver", "csidriver.yaml"))
	if !reflect.DeepEqual(jsonRoundTrip(t, rendered.Object["spec"]), jsonRoundTrip(t, file["spec"])) {
		t.Fatal("the chart's CSIDriver differs from config/csi/driver/csidriver.yaml")
	}
	if in, _, _ := unstructured.NestedBool(rendered.Object, "spec", "serviceAccountTokenInSecrets"); !in {
		t.Fatal("the CSIDriver does not set serviceAccountTokenInSecrets: true")
	}
	manifest := run(t, nil, tool(t, "KUSTOMIZE"), "build", "config/csi/driver")
	out, err := command(manifest, kubectl(t), dryRunArgs(t, "default")...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "Warning") {
		t.Fatalf("applying the CSIDriver: %v\n%s", err, out)
	}
}
