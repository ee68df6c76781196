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
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/testenv"
	"github.com/burner-operator/burner-operator/test/consumer"
)

// TestBenchCSI (make bench-csi) measures the node plugin: BENCH_CSI_PODS pods (500) with a token volume each
// (ttl 300), created BENCH_CSI_RATE a second (2: a 2-core node starts about that many), the Burner API answering
// in 50 ms: the time from a pod's creation to its token file on the node (p50, p99), the calls per refresh (each
// volume followed through one refresh), expired reads (the pods read every 5 s: 500 pods at 500 ms would be the
// node's whole CPU), and the node plugin's RSS and CPU.
func TestBenchCSI(t *testing.T) {
	if os.Getenv("E2E_BENCH_CSI") == "" {
		t.Skip("run by make bench-csi")
	}
	if node == nil {
		t.Skip("needs the project's node: unset KUBECONFIG")
	}
	pods, rate := 500, 2.0
	if v, err := strconv.Atoi(os.Getenv("BENCH_CSI_PODS")); err == nil && v > 0 {
		pods = v
	}
	if v, err := strconv.ParseFloat(os.Getenv("BENCH_CSI_RATE"), 64); err == nil && v > 0 {
		rate = v
	}
	const ttl, latency = 300, 50 * time.Millisecond
	sim.SetLatency(latency)
	t.Cleanup(func() { sim.SetLatency(0) })
	var mu sync.Mutex
	minted := map[string]burnersim.Minted{}     // by token hash
	byWallet := map[string][]burnersim.Minted{} // each pod has its own wallet
	sim.OnMint(func(m burnersim.Minted) {
		mu.Lock()
		minted[hash(m.Token)] = m
		byWallet[m.Wallet] = append(byWallet[m.Wallet], m)
		mu.Unlock()
	})
	t.Cleanup(func() { sim.OnMint(nil) })

	installOperator(t)
	ns := namespace(t, "bench-csi")
	ctx := context.Background()
	nsObj, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["e2e-csi"] = "true"
	if _, err := cs.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	v := csiVolume{issuer: "bench-csi", key: "ak_bench_csi", ttl: ttl}
	csiIssuer(t, v.issuer, v.key, 0)
	plugin := pluginPid(t)
	before, _ := testenv.ProcessUsage(plugin)
	callsBefore := sim.Calls()
	var maxRSS uint64
	stopSampling := make(chan struct{})
	var sampling sync.WaitGroup
	sampling.Go(func() {
		for {
			if u, err := testenv.ProcessUsage(plugin); err == nil {
				maxRSS = max(maxRSS, u.RSS)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(2 * time.Second):
			}
		}
	})
	start := time.Now()

	// Create the pods at the rate, each followed by a goroutine that looks for its token file on the node.
	mounted := make([]time.Duration, pods)
	createdAt, seenAt := make([]time.Time, pods), make([]time.Time, pods)
	var watchers sync.WaitGroup
	var failed sync.Map
	for i := range pods {
		time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		v.pod = fmt.Sprintf("csi-%03d", i)
		p := csiPod(ns, v)
		p.Spec.Volumes[0].CSI.VolumeAttributes[csiDriver+"/wallet-address"] = benchWallet(i)
		p.Spec.Containers[0].Command = []string{"/bin/sh", "-c",
			"while true; do echo \"$(cat " + consumer.MountPath + "/expiresAt)\"; sleep 5; done"}
		created := time.Now()
		createdAt[i] = created
		got, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		watchers.Go(func() {
			for time.Since(created) < 10*time.Minute {
				if f := nodePath("/var/lib/kubelet/pods", string(got.UID), "volumes", "kubernetes.io~csi", "token",
					"mount", "token"); f != "" {
					if _, err := os.Stat(f); err == nil {
						seenAt[i] = time.Now()
						mounted[i] = seenAt[i].Sub(created)
						return
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
			failed.Store(got.Name, true)
		})
	}
	watchers.Wait()
	allMounted := time.Since(start)
	failures := 0
	failed.Range(func(any, any) bool { failures++; return true })
	if failures > 0 {
		t.Fatalf("%d of %d volumes never mounted", failures, pods)
	}
	waitRunning(t, ns, pods)
	mountedUsage, _ := testenv.ProcessUsage(plugin)
	rssMounted := maxRSS

	// Every volume through one refresh: the last one mounted refreshes about 2/3 of ttl after its mint.
	refreshed := time.Now().Add(ttl * time.Second * 3 / 4)
	t.Logf("%d volumes mounted in %s; waiting until %s for every volume's refresh", pods,
		allMounted.Round(time.Second), refreshed.Format(time.TimeOnly))
	time.Sleep(time.Until(refreshed))
	close(stopSampling)
	sampling.Wait()
	after, _ := testenv.ProcessUsage(plugin)
	elapsed := time.Since(start)
	calls := sim.Calls()

	// Per volume (its wallet): refreshed, each token with one call, never two mints for one refresh.
	mu.Lock()
	total := len(minted)
	toMint, mintToFile, notRefreshed, double := mintStats(byWallet, createdAt, seenAt, ttl*time.Second)
	mu.Unlock()
	list, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var expired, reads int
	for _, p := range list.Items {
		rs, err := consumer.Reads(ctx, cs, ns, p.Name)
		if err != nil {
			t.Errorf("%s: %v", p.Name, err)
			continue
		}
		res := consumer.Analyse(rs, nil)
		reads, expired = reads+res.Reads, expired+len(res.Expired)
	}
	received := calls.Received - callsBefore.Received
	report := &strings.Builder{}
	fmt.Fprintf(report, "pods %d (one volume each, ttl %d), created %.1f/s, API latency %s, %s\n\n", pods, ttl, rate,
		latency, time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(report, "creation to token file: p50 %s, p99 %s, max %s (all %d mounted %s after the first creation)\n",
		consumer.Percentile(mounted, 50).Round(10*time.Millisecond),
		consumer.Percentile(mounted, 99).Round(10*time.Millisecond),
		consumer.Percentile(mounted, 100).Round(10*time.Millisecond), pods, allMounted.Round(time.Second))
	fmt.Fprintf(report, "of which creation to the first mint (the kubelet's queue, the pod token, the manager's "+
		"checks, the API): p50 %s, p99 %s; mint to file (the answer to the plugin, the write, the bind mount, "+
		"the 100 ms polling): p50 %s, p99 %s\n",
		consumer.Percentile(toMint, 50).Round(10*time.Millisecond),
		consumer.Percentile(toMint, 99).Round(10*time.Millisecond),
		consumer.Percentile(mintToFile, 50).Round(10*time.Millisecond),
		consumer.Percentile(mintToFile, 99).Round(10*time.Millisecond))
	fmt.Fprintf(report, "API calls %d, tokens minted %d for %d mounts and %d refreshes: %.2f calls per token; "+
		"volumes not refreshed %d, refreshes minted twice %d\n", received, total, pods, total-pods,
		float64(received)/float64(max(total, 1)), notRefreshed, double)
	fmt.Fprintf(report, "reads %d (every 5 s), expired reads %d\n", reads, expired)
	fmt.Fprintf(report, "node plugin: RSS max %.1f MiB (after the mounts %.1f MiB), CPU %.3f cores while mounting, "+
		"%.3f cores over the whole run (%s)\n", float64(maxRSS)/(1<<20), float64(rssMounted)/(1<<20),
		float64(mountedUsage.CPU-before.CPU)/float64(allMounted), float64(after.CPU-before.CPU)/float64(elapsed),
		elapsed.Round(time.Second))
	t.Log("\n" + report.String())
	if err := os.WriteFile(filepath.Join(artifacts, "bench-csi.md"), []byte(report.String()), 0o644); err != nil {
		t.Error(err)
	}
	if expired > 0 {
		t.Errorf("%d expired reads", expired)
	}
	if received != total || notRefreshed > 0 || double > 0 {
		t.Errorf("%d API calls for %d tokens, %d volumes not refreshed, %d refreshes minted twice", received, total,
			notRefreshed, double)
	}
	// The pods go before the node plugin, which unpublishes their volumes.
	deletePods(t, ns)
}

// benchWallet is pod i's wallet address: 32 bytes in base58, so the simulator's mints tell the volumes apart.
func benchWallet(i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("bench-csi-%d", i)))
	n := new(big.Int).SetBytes(sum[:])
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	var out []byte
	for mod, base := new(big.Int), big.NewInt(58); n.Sign() > 0; {
		n.DivMod(n, base, mod)
		out = append(out, alphabet[mod.Int64()])
	}
	for _, b := range sum {
		if b != 0 {
			break
		}
		out = append(out, '1')
	}
	slices.Reverse(out)
	return string(out)
}

// pluginPid is the node plugin's process (its container's command), once the DaemonSet's pod runs it.
func pluginPid(t *testing.T) int {
	t.Helper()
	pid := 0
	eventually(t, 2*time.Minute, time.Second, "the node plugin's process", func() error {
		entries, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, e := range entries {
			if data, err := os.ReadFile(e); err == nil && strings.HasPrefix(string(data), "/burner-csi\x00") {
				pid, _ = strconv.Atoi(filepath.Base(filepath.Dir(e)))
				return nil
			}
		}
		return errors.New("no /burner-csi process")
	})
	return pid
}

// mintStats reads the mints of each bench pod (its own wallet) against its creation and the token file's arrival:
// creation to first mint, mint to file, the volumes never refreshed, and the refreshes minted twice (two mints
// within half a lifetime).
func mintStats(byWallet map[string][]burnersim.Minted, createdAt, seenAt []time.Time, ttl time.Duration) (
	toMint, mintToFile []time.Duration, notRefreshed, double int,
) {
	for i := range createdAt {
		ms := byWallet[benchWallet(i)]
		if len(ms) > 0 {
			toMint = append(toMint, ms[0].At.Sub(createdAt[i]))
			mintToFile = append(mintToFile, seenAt[i].Sub(ms[0].At))
		}
		if len(ms) < 2 {
			notRefreshed++
		}
		for j := 1; j < len(ms); j++ {
			if ms[j].At.Sub(ms[j-1].At) < ttl/2 {
				double++
			}
		}
	}
	return toMint, mintToFile, notRefreshed, double
}
