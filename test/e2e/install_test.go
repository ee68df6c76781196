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

package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// What the overlays in config/ deploy.
const (
	operatorNS     = "burner-operator-system"
	deployment     = "burner-operator-controller-manager"
	leaseName      = "burner-operator.burner.aerosol.com"
	metricsURL     = "https://127.0.0.1:18443/metrics"
	metricsReader  = "burner-operator-metrics-reader"
	helmRelease    = "burner-helm"
	helmNamespace  = "burner-helm"
	helmMetricsURL = "https://127.0.0.1:18445/metrics"
)

// TestHelmChart installs the chart with the values of config/helm-values.yaml (the node's adaptations), checks that
// it serves a session and its metrics, and uninstalls it (the CRDs stay, as the chart keeps them).
func TestHelmChart(t *testing.T) {
	if _, err := runTool(nil, tool(t, "HELM"), "--kubeconfig", kubeconfig, "install", helmRelease,
		filepath.Join(root, "charts", "burner-operator"), "-n", helmNamespace, "--create-namespace",
		"-f", filepath.Join(root, "test", "e2e", "config", "helm-values.yaml"), "--wait", "--timeout", "3m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := runTool(nil, tool(t, "HELM"), "--kubeconfig", kubeconfig, "uninstall", helmRelease,
			"-n", helmNamespace, "--wait"); err != nil {
			t.Error(err)
		}
	})
	waitAvailable(t, helmNamespace, helmRelease+"-burner-operator")
	ns := namespace(t, "e2e-helm")
	key := newSession(t, ns, "helm", 3600)
	waitReady(t, ns, "helm", 2*time.Minute)
	if n := mints(key); n != 1 {
		t.Errorf("mints = %d, want 1", n)
	}
	checkMetrics(t, helmNamespace, helmMetricsURL, helmRelease+"-burner-operator-metrics-reader")
}

// TestInstallYAML deploys dist/install.yaml through the overlay config/install, checks the manager as a pod (probes,
// lease, metrics), then runs the tests that need it, in parallel. The pods reading mounted tokens see the manager
// restarted and handed over on the way.
func TestInstallYAML(t *testing.T) {
	installOperator(t)
	// The mounted reads take longest (two refreshes): they start first and run through every other test.
	mounts := startMounts(t, "e2e-mount", mountLifetimes)
	csi := startCSI(t)
	t.Run("probes pass", func(t *testing.T) { checkProbes(t, operatorNS, deployment) })
	t.Run("lease held", func(t *testing.T) { leader(t) })
	t.Run("metrics need a token", func(t *testing.T) { checkMetrics(t, operatorNS, metricsURL, metricsReader) })
	t.Run("with the operator running", func(t *testing.T) {
		t.Run("mounted tokens never expire", func(t *testing.T) { t.Parallel(); mounts.check(t) })
		t.Run("restart and handover mint nothing", func(t *testing.T) { t.Parallel(); restarts(t) })
		t.Run("deleting a session collects its Secret", func(t *testing.T) { t.Parallel(); garbageCollection(t) })
		t.Run("kubectl burner", func(t *testing.T) { t.Parallel(); kubectlBurner(t) })
		t.Run("short lifetime warned at admission", func(t *testing.T) { t.Parallel(); admissionWarning(t) })
		t.Run("CSI volumes", func(t *testing.T) { t.Parallel(); csi.check(t) })
	})
}

// installOperator applies dist/install.yaml through the overlay config/csi (config/install with the CSI driver) and
// waits for the manager; it is deleted at the end unless the test failed.
func installOperator(t *testing.T) {
	t.Helper()
	manifests, err := runTool(nil, tool(t, "KUSTOMIZE"), "build", "--load-restrictor",
		"LoadRestrictionsNone", filepath.Join(root, "test", "e2e", "config", "csi"))
	if err != nil {
		t.Fatal(err)
	}
	// Server-side and forced: the CRDs may have been installed by the chart's test.
	if _, err := kubectl([]byte(manifests), "apply", "--server-side", "--force-conflicts", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_, _ = kubectl([]byte(manifests), "delete", "--ignore-not-found", "--wait=false", "-f", "-")
		}
	})
	waitAvailable(t, operatorNS, deployment)
}

func waitAvailable(t *testing.T, ns, name string) {
	t.Helper()
	if _, err := kubectl(nil, "wait", "-n", ns, "--for=condition=Available", "deployment/"+name,
		"--timeout=180s"); err != nil {
		t.Fatal(err)
	}
}

// managerPods are the running pods of a Deployment.
func managerPods(t *testing.T, ns, name string) []corev1.Pod {
	t.Helper()
	ctx := context.Background()
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{
		LabelSelector: labels.Set(d.Spec.Selector.MatchLabels).String()})
	if err != nil {
		t.Fatal(err)
	}
	var running []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			running = append(running, p)
		}
	}
	return running
}

// checkProbes: the manager's readiness probe passed (it is Ready) and its liveness probe never failed (no restart)
// through two of its periods, under the restricted security context the manifests set.
func checkProbes(t *testing.T, ns, name string) {
	time.Sleep(45 * time.Second)
	for _, p := range managerPods(t, ns, name) {
		for _, c := range p.Status.ContainerStatuses {
			if !c.Ready || c.RestartCount != 0 {
				t.Errorf("pod %s container %s: ready=%v restarts=%d", p.Name, c.Name, c.Ready, c.RestartCount)
			}
		}
	}
}

// leader is the holder of the leader-election Lease: the manager's host name (here the node's: host network) and a
// unique suffix per process.
func leader(t *testing.T) string {
	t.Helper()
	var holder string
	eventually(t, time.Minute, time.Second, "a leader", func() error {
		l, err := cs.CoordinationV1().Leases(operatorNS).Get(context.Background(), leaseName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
			return fmt.Errorf("lease %s has no holder", leaseName)
		}
		holder = *l.Spec.HolderIdentity
		return nil
	})
	return holder
}

// leaderPod is the manager pod that acquired the lease, from its log (its identity names the node, not the pod).
func leaderPod(t *testing.T) string {
	t.Helper()
	var name string
	eventually(t, time.Minute, time.Second, "the leader's pod", func() error {
		for _, p := range managerPods(t, operatorNS, deployment) {
			log, err := cs.CoreV1().Pods(operatorNS).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(context.Background())
			if err == nil && strings.Contains(strings.ToLower(string(log)), "successfully acquired lease") {
				name = p.Name
				return nil
			}
		}
		return errors.New("no manager pod logged that it acquired the lease")
	})
	return name
}

// checkMetrics scrapes the manager's metrics over HTTPS: refused without a token (401), served to a ServiceAccount
// bound to the metrics-reader ClusterRole (the apiserver's TokenReview and SubjectAccessReview decide).
func checkMetrics(t *testing.T, ns, url, readerRole string) {
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "e2e-scraper"}}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-scraper-" + ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: readerRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: sa.Name}},
	}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{}) })
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The manager's serving certificate is self-signed (no cert-manager on the node).
	client := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback
	scrape := func(token string) (int, string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	eventually(t, time.Minute, 2*time.Second, "metrics with a ServiceAccount token", func() error {
		code, body, err := scrape(tr.Status.Token)
		if err != nil {
			return err
		}
		if code != http.StatusOK || !strings.Contains(body, "burner_") {
			return fmt.Errorf("status %d", code)
		}
		return nil
	})
	if code, _, err := scrape(""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("metrics without a token: status %d, %v; want 401", code, err)
	}
}

// standby is a second manager Deployment on other ports (the node's pods share the host's), for the handover.
func standby(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	d, err := cs.AppsV1().Deployments(operatorNS).Get(ctx, deployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(d.Spec)
	if err != nil {
		t.Fatal(err)
	}
	spec := appsv1.DeploymentSpec{}
	moved := strings.NewReplacer("18443", "18444", "18081", "18082", "18095", "18096").Replace(string(data))
	if err := json.Unmarshal([]byte(moved), &spec); err != nil {
		t.Fatal(err)
	}
	spec.Selector.MatchLabels["e2e-role"] = "standby"
	spec.Template.Labels["e2e-role"] = "standby"
	s := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: deployment + "-standby",
		Labels: d.Labels}, Spec: spec}
	if _, err := cs.AppsV1().Deployments(operatorNS).Create(ctx, s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = cs.AppsV1().Deployments(operatorNS).Delete(context.Background(), s.Name, metav1.DeleteOptions{})
		}
	})
	waitAvailable(t, operatorNS, s.Name)
}
