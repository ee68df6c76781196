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
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/burner-operator/burner-operator/internal/testenv"
	"github.com/burner-operator/burner-operator/test/consumer"
)

// TestBenchNode (make bench-node) measures the promise at the kubelet's default pod count: BENCH_NODE_SESSIONS
// sessions (100) of ttl 300, each mounted by a pod, through two refreshes: expired reads, the Secret-to-pod delay,
// and what the kubelet, apiserver and etcd use with the operator, against the same pods mounting plain Secrets
// without it (their logs read as often in both phases). It needs the project's node (not KUBECONFIG), to read its
// processes' usage.
func TestBenchNode(t *testing.T) {
	if os.Getenv("E2E_BENCH") == "" {
		t.Skip("run by make bench-node")
	}
	if node == nil {
		t.Skip("needs the project's node: unset KUBECONFIG")
	}
	sessions := 100
	if v, err := strconv.Atoi(os.Getenv("BENCH_NODE_SESSIONS")); err == nil {
		sessions = v
	}
	report := &strings.Builder{}
	fmt.Fprintf(report, "sessions %d, ttl 300, %s\n\n", sessions, time.Now().UTC().Format(time.RFC3339))

	// Without the operator: the same pods mounting Secrets nobody updates, for a few minutes.
	without := namespace(t, "bench-without")
	plain := make([]string, 0, sessions)
	for i := range sessions {
		name := fmt.Sprintf("plain-%03d", i)
		plain = append(plain, name)
		if _, err := cs.CoreV1().Secrets(without).Create(context.Background(), &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: without, Name: name},
			StringData: map[string]string{"expiresAt": "2099-01-01T00:00:00Z"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().Pods(without).Create(context.Background(), consumer.Pod(without, name, name),
			metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	started := time.Now()
	waitRunning(t, without, sessions)
	fmt.Fprintf(report, "%d pods Running in %s\n\n", sessions, time.Since(started).Round(time.Second))
	base := sample(func() { pollReads(without, plain, 4*time.Minute) })
	if err := cs.CoreV1().Namespaces().Delete(context.Background(), without, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Minute, 2*time.Second, "the pods without the operator gone", func() error {
		pods, err := cs.CoreV1().Pods(without).List(context.Background(), metav1.ListOptions{})
		if err == nil && len(pods.Items) > 0 {
			err = fmt.Errorf("%d pods left", len(pods.Items))
		}
		return err
	})

	// With the operator: sessions, each token Secret mounted by a pod, through two refreshes.
	installOperator(t)
	ttls := make([]int32, sessions)
	for i := range ttls {
		ttls[i] = 300
	}
	m := startMounts(t, "bench", ttls)
	waitRunning(t, m.ns, sessions)
	var results map[string]consumer.Result
	with := sample(func() { results = m.follow(t) })

	var delays []time.Duration
	var reads, expired, missed, twice int
	for _, s := range m.sessions {
		r := results[s.name]
		delays = append(delays, r.Delays...)
		reads, expired, missed = reads+r.Reads, expired+len(r.Expired), missed+r.Missed
		if mints(s.key) != len(m.secrets.Changes(s.name)) {
			twice++
		}
	}
	fmt.Fprintf(report, "reads %d, expired reads %d, refreshes never read %d, sessions minted twice %d\n", reads,
		expired, missed, twice)
	fmt.Fprintf(report, "Secret-to-pod delay over %d refreshes: p50 %s, p99 %s, max %s\n\n", len(delays),
		consumer.Percentile(delays, 50).Round(100*time.Millisecond),
		consumer.Percentile(delays, 99).Round(100*time.Millisecond),
		consumer.Percentile(delays, 100).Round(100*time.Millisecond))
	fmt.Fprintf(report, "| process | CPU without (cores) | CPU with | RSS max without (MiB) | RSS max with |\n")
	fmt.Fprintf(report, "|---|---|---|---|---|\n")
	for _, p := range []string{"kubelet", "kube-apiserver", "etcd", "containerd", "manager"} {
		fmt.Fprintf(report, "| %s | %.3f | %.3f | %d | %d |\n", p, base[p].cores, with[p].cores, base[p].maxRSS>>20,
			with[p].maxRSS>>20)
	}
	t.Log("\n" + report.String())
	if err := os.WriteFile(filepath.Join(artifacts, "bench-node.md"), []byte(report.String()), 0o644); err != nil {
		t.Error(err)
	}
	if expired > 0 {
		t.Errorf("%d expired reads", expired)
	}
}

// pollReads reads every pod's log every 15 s for d, as mounts.follow does, so that both phases carry the same load
// of log reads (through the apiserver and the kubelet).
func pollReads(ns string, pods []string, d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(15 * time.Second) {
		for _, p := range pods {
			_, _ = consumer.Reads(context.Background(), cs, ns, p)
		}
	}
}

// waitRunning waits for n pods of ns to run (a busy 2-core node starts about one a second).
func waitRunning(t *testing.T, ns string, n int) {
	t.Helper()
	eventually(t, 10*time.Minute, 2*time.Second, fmt.Sprintf("%d pods Running in %s", n, ns), func() error {
		pods, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		if running < n {
			return fmt.Errorf("%d running", running)
		}
		return nil
	})
}

// usage is a process's average CPU (in cores) and its largest RSS over a sampled window.
type usage struct {
	cores  float64
	maxRSS uint64
}

// sample runs during while sampling the node's processes and the manager every 5 s.
func sample(during func()) map[string]usage {
	pids := node.Pids()
	if pid := managerPid(); pid > 0 {
		pids["manager"] = pid
	}
	first := map[string]testenv.Usage{}
	out := map[string]usage{}
	for name, pid := range pids {
		first[name], _ = testenv.ProcessUsage(pid)
	}
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	record := func() map[string]testenv.Usage {
		now := map[string]testenv.Usage{}
		mu.Lock()
		defer mu.Unlock()
		for name, pid := range pids {
			u, _ := testenv.ProcessUsage(pid)
			now[name] = u
			o := out[name]
			o.maxRSS = max(o.maxRSS, u.RSS)
			out[name] = o
		}
		return now
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Second):
				record()
			}
		}
	})
	during()
	close(stop)
	wg.Wait()
	last := record()
	elapsed := time.Since(start)
	for name := range pids {
		o := out[name]
		o.cores = float64(last[name].CPU-first[name].CPU) / float64(elapsed)
		out[name] = o
	}
	return out
}

// managerPid is the manager's process (its container's entrypoint), or 0.
func managerPid() int {
	entries, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, e := range entries {
		if data, err := os.ReadFile(e); err == nil && strings.HasPrefix(string(data), "/manager\x00") {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(e)))
			return pid
		}
	}
	return 0
}
