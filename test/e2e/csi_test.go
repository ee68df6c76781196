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
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/test/consumer"
)

// csiReadFor is how long the pods with CSI volumes are read: the 10 minutes; E2E_CSI_READ (a Go duration)
// shortens it for a quick run. The rest of TestInstallYAML takes about as long, so the full figure costs little.
var csiReadFor = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("E2E_CSI_READ")); err == nil && d > 0 {
		return d
	}
	return 10 * time.Minute
}()

const (
	csiNamespace = "e2e-csi"
	csiDriver    = "csi.burner.aerosol.com"
	// csiMaxVisible is how long a minted token may take to be read by its pod: the 1 s from the mint to
	// the file, plus the pod's 500 ms between reads.
	csiMaxVisible = 1500 * time.Millisecond
)

// csiVolume is a pod with a token volume of its own ClusterBurnerIssuer and API key, so that the simulator's mints
// are counted per volume.
type csiVolume struct {
	pod, issuer, key string
	ttl, maxTTL      int32
}

// csiRun is the pods with CSI volumes and every token the simulator minted for them.
type csiRun struct {
	ns      string
	reading []csiVolume // read for csiReadFor
	gone    csiVolume   // deleted after its first refresh
	denied  csiVolume   // refused: ttl above its issuer's maxTTLSeconds
	started time.Time

	mu     sync.Mutex
	minted map[string][]burnersim.Minted // by key fingerprint
}

// startCSI creates the issuers and pods; the simulator records their mints from here on.
func startCSI(t *testing.T) *csiRun {
	t.Helper()
	r := &csiRun{minted: map[string][]burnersim.Minted{}, started: time.Now()}
	sim.OnMint(func(m burnersim.Minted) {
		r.mu.Lock()
		r.minted[m.KeyID] = append(r.minted[m.KeyID], m)
		r.mu.Unlock()
	})
	t.Cleanup(func() { sim.OnMint(nil) })
	r.ns = namespace(t, csiNamespace)
	ctx := context.Background()
	nsObj, err := cs.CoreV1().Namespaces().Get(ctx, r.ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["e2e-csi"] = "true"
	if _, err := cs.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.reading = []csiVolume{{pod: "csi-ttl60", ttl: 60}, {pod: "csi-ttl300", ttl: 300}}
	r.gone = csiVolume{pod: "csi-gone", ttl: 60}
	r.denied = csiVolume{pod: "csi-denied", ttl: 300, maxTTL: 120}
	for _, v := range append(append([]*csiVolume{}, ptrs(r.reading)...), &r.gone, &r.denied) {
		v.issuer, v.key = "e2e-"+v.pod, "ak_e2e_csi_"+v.pod
		csiIssuer(t, v.issuer, v.key, v.maxTTL)
	}
	// Before the namespace and the node plugin go (cleanups run last first): the pods, so the plugin unpublishes
	// their volumes.
	t.Cleanup(func() { deletePods(t, r.ns) })
	for _, v := range append(append([]csiVolume{}, r.reading...), r.gone, r.denied) {
		if _, err := cs.CoreV1().Pods(r.ns).Create(ctx, csiPod(r.ns, v), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// deletePods deletes the pods of ns and waits (2 minutes at most) until they are gone.
func deletePods(t *testing.T, ns string) {
	ctx := context.Background()
	if err := cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		t.Log(err)
		return
	}
	for end := time.Now().Add(2 * time.Minute); time.Now().Before(end); time.Sleep(time.Second) {
		if pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err != nil || len(pods.Items) == 0 {
			return
		}
	}
	t.Logf("pods of %s still there after 2 minutes", ns)
}

func ptrs(vs []csiVolume) []*csiVolume {
	out := make([]*csiVolume, len(vs))
	for i := range vs {
		out[i] = &vs[i]
	}
	return out
}

// csiIssuer creates a ClusterBurnerIssuer for the namespaces labelled e2e-csi, with its own API key (in the
// operator's namespace, the cluster resource namespace).
func csiIssuer(t *testing.T, name, key string, maxTTL int32) {
	t.Helper()
	sim.AddKey(key)
	ctx := context.Background()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: operatorNS, Name: name + "-key",
			Labels: map[string]string{burnerv1alpha1.APIKeyLabel: "true"}},
		StringData: map[string]string{burnerv1alpha1.DefaultAPIKeySecretKey: key},
	}
	policy := &burnerv1alpha1.IssuerPolicy{NamespaceSelector: &metav1.LabelSelector{
		MatchLabels: map[string]string{"e2e-csi": "true"}}}
	if maxTTL > 0 {
		policy.MaxTTLSeconds = &maxTTL
	}
	issuer := &burnerv1alpha1.ClusterBurnerIssuer{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: burnerv1alpha1.BurnerIssuerSpec{APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: secret.Name},
			Policy: policy}}
	for _, o := range []client.Object{secret, issuer} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = k8s.Delete(context.Background(), issuer)
			_ = k8s.Delete(context.Background(), secret)
		}
	})
}

// csiPod is consumer.Pod with a token volume instead of a Secret: every 500 ms it prints expiresAt and the first 12
// hex digits of the token's SHA-256 (never the token).
func csiPod(ns string, v csiVolume) *corev1.Pod {
	p := consumer.Pod(ns, v.pod, "")
	dir := consumer.MountPath
	p.Spec.Containers[0].Command = []string{"/bin/sh", "-c", "while true; do echo \"$(cat " + dir +
		"/expiresAt) $(sha256sum " + dir + "/token | cut -c1-12)\"; sleep 0.5; done"}
	p.Spec.Volumes = []corev1.Volume{{Name: "token", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{
		Driver: csiDriver, ReadOnly: new(true), VolumeAttributes: map[string]string{
			csiDriver + "/issuer-kind":    burnerv1alpha1.ClusterBurnerIssuerKind,
			csiDriver + "/issuer-name":    v.issuer,
			csiDriver + "/wallet-address": wallet,
			csiDriver + "/ttl-seconds":    strconv.Itoa(int(v.ttl)),
		}}}}}
	return p
}

// hash is how the pods print a token.
func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])[:12]
}

func (r *csiRun) mints(key string) []burnersim.Minted {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]burnersim.Minted(nil), r.minted[burnersim.Fingerprint(key)]...)
}

// csiRead is one line of a pod: when, the expiresAt and token hash it read, or what it printed instead.
type csiRead struct {
	at              time.Time
	expiresAt, hash string
	ok              bool
}

func (r *csiRun) reads(pod string) ([]csiRead, error) {
	lines, err := consumer.Reads(context.Background(), cs, r.ns, pod)
	if err != nil {
		return nil, err
	}
	out := make([]csiRead, 0, len(lines))
	for _, l := range lines {
		exp, h, _ := strings.Cut(l.ExpiresAt, " ")
		_, perr := time.Parse(time.RFC3339, exp)
		out = append(out, csiRead{at: l.At, expiresAt: exp, hash: h, ok: perr == nil && len(h) == 12})
	}
	return out, nil
}

// check runs the CSI tests side by side with the rest of TestInstallYAML.
func (r *csiRun) check(t *testing.T) {
	t.Run("refused mount", func(t *testing.T) { t.Parallel(); r.refused(t) })
	t.Run("pod deletion", func(t *testing.T) { t.Parallel(); r.deletion(t) })
	t.Run("reads, refreshes and a node plugin restart", func(t *testing.T) { t.Parallel(); r.readsAndRestart(t) })
}

// refused: a ttl above the issuer's maxTTLSeconds leaves the pod ContainerCreating with the reason in an event, and
// nothing is minted.
func (r *csiRun) refused(t *testing.T) {
	eventually(t, 2*time.Minute, 2*time.Second, "a FailedMount event naming PolicyDenied", func() error {
		evs, err := cs.CoreV1().Events(r.ns).List(context.Background(), metav1.ListOptions{
			FieldSelector: "involvedObject.name=" + r.denied.pod})
		if err != nil {
			return err
		}
		for _, e := range evs.Items {
			if strings.Contains(e.Message, "MountVolume.SetUp failed") && strings.Contains(e.Message, "PolicyDenied: ") {
				t.Logf("event %s: %s", e.Reason, e.Message)
				return nil
			}
		}
		return fmt.Errorf("%d events, none MountVolume.SetUp failed ... PolicyDenied", len(evs.Items))
	})
	p, err := cs.CoreV1().Pods(r.ns).Get(context.Background(), r.denied.pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w := p.Status.ContainerStatuses; p.Status.Phase != corev1.PodPending || len(w) == 0 || w[0].State.Waiting == nil ||
		w[0].State.Waiting.Reason != "ContainerCreating" {
		t.Errorf("pod %s: phase %s, containers %+v; want Pending, ContainerCreating", p.Name, p.Status.Phase, w)
	}
	if n := len(r.mints(r.denied.key)); n != 0 {
		t.Errorf("%d tokens minted for a refused volume", n)
	}
}

// deletion: once the pod has read a refreshed token, deleting it removes its volume's files and ends the refresh.
func (r *csiRun) deletion(t *testing.T) {
	ctx := context.Background()
	v := r.gone
	eventually(t, 3*time.Minute, 2*time.Second, v.pod+" reading its second token", func() error {
		reads, err := r.reads(v.pod)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, rd := range reads {
			if rd.ok {
				seen[rd.hash] = true
			}
		}
		if len(seen) < 2 {
			return fmt.Errorf("%d tokens read", len(seen))
		}
		return nil
	})
	p, err := cs.CoreV1().Pods(r.ns).Get(ctx, v.pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	files := nodePath("/var/lib/kubelet/pods", string(p.UID), "volumes", "kubernetes.io~csi", "token", "mount")
	if files != "" {
		if _, err := os.Stat(filepath.Join(files, "token")); err != nil {
			t.Errorf("before deletion, the volume's token file on the node: %v", err)
		}
	}
	if err := cs.CoreV1().Pods(r.ns).Delete(ctx, v.pod, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	eventually(t, 2*time.Minute, time.Second, v.pod+" gone", func() error {
		_, err := cs.CoreV1().Pods(r.ns).Get(ctx, v.pod, metav1.GetOptions{})
		if err == nil {
			return errors.New("still there")
		}
		return client.IgnoreNotFound(err)
	})
	if files != "" {
		eventually(t, time.Minute, time.Second, "the volume's files removed", func() error {
			if _, err := os.Stat(filepath.Join(files, "token")); !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("token file: %v", err)
			}
			return nil
		})
	}
	before := len(r.mints(v.key))
	// Two lifetimes: a refresh still scheduled would have happened by then.
	time.Sleep(2 * time.Duration(v.ttl) * time.Second)
	after := r.mints(v.key)
	if len(after) != before {
		t.Errorf("%d tokens minted for the volume after its pod was gone", len(after)-before)
	}
	for _, m := range after {
		if m.At.After(deleted) {
			t.Logf("mint at %s, %.1fs after the deletion", m.At.Format(time.RFC3339Nano), m.At.Sub(deleted).Seconds())
		}
	}
	t.Logf("%s: %d tokens minted, files removed, none minted in the %ds after deletion", v.pod, len(after), 2*v.ttl)
}

// readsAndRestart follows the pods for csiReadFor, restarting the node plugin half way, then checks every read
// against the mints: never an expired token, each refresh read within csiMaxVisible of its mint, one mint per
// refresh (the restart mints nothing), and no token in etcd.
func (r *csiRun) readsAndRestart(t *testing.T) {
	for _, v := range r.reading {
		eventually(t, 3*time.Minute, time.Second, v.pod+" reading", func() error {
			reads, err := r.reads(v.pod)
			if err != nil {
				return err
			}
			if len(reads) == 0 || !reads[len(reads)-1].ok {
				return fmt.Errorf("%d reads", len(reads))
			}
			return nil
		})
	}
	time.Sleep(time.Until(r.started.Add(csiReadFor / 2)))
	restartedAt, readyAt := restartNodePlugin(t)
	t.Logf("node plugin restarted: new pod Ready %.1fs after the deletion", readyAt.Sub(restartedAt).Seconds())
	time.Sleep(time.Until(r.started.Add(csiReadFor)))

	delays := make([]time.Duration, 0, 16*len(r.reading)) // a ttl-60 volume refreshes about 16 times in 10 minutes
	var tokens []string
	for _, v := range r.reading {
		minted := r.mints(v.key)
		byHash := map[string]burnersim.Minted{}
		for _, m := range minted {
			byHash[hash(m.Token)] = m
			tokens = append(tokens, m.Token)
		}
		reads, err := r.reads(v.pod)
		if err == nil && len(reads) == 0 {
			err = errors.New("no reads")
		}
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		var expired, failed, unknown int
		first := map[string]time.Time{}
		for _, rd := range reads {
			fmt.Fprintf(&b, "read %s expiresAt=%s token-sha256=%s\n", rd.at.UTC().Format(time.RFC3339Nano),
				rd.expiresAt, rd.hash)
			if !rd.ok {
				failed++
				continue
			}
			m, known := byHash[rd.hash]
			if !known {
				unknown++
				continue
			}
			if exp, _ := time.Parse(time.RFC3339, m.ExpiresAt); !rd.at.Before(exp) {
				expired++
			}
			if _, ok := first[rd.hash]; !ok {
				first[rd.hash] = rd.at
			}
		}
		var vd []time.Duration
		for i, m := range minted {
			fmt.Fprintf(&b, "mint %s expiresAt=%s token-sha256=%s\n", m.At.UTC().Format(time.RFC3339Nano),
				m.ExpiresAt, hash(m.Token))
			if i > 0 {
				if gap := m.At.Sub(minted[i-1].At); gap < time.Duration(v.ttl)*time.Second/2 {
					t.Errorf("%s: a mint %.1fs after the previous one (ttl %ds): more than one call per refresh",
						v.pod, gap.Seconds(), v.ttl)
				}
			}
			at, read := first[hash(m.Token)]
			switch {
			case i == 0: // minted before the pod started
			case read:
				vd = append(vd, at.Sub(m.At))
			case m.At.Before(reads[len(reads)-1].at.Add(-csiMaxVisible)):
				t.Errorf("%s: the token minted at %s was never read", v.pod, m.At.Format(time.RFC3339Nano))
			}
		}
		_ = os.WriteFile(filepath.Join(artifacts, "csi-reads-"+v.pod+".txt"), []byte(b.String()), 0o644)
		t.Logf("%s (ttl %d): %d reads, %d tokens minted, mint-to-read delays %v", v.pod, v.ttl, len(reads),
			len(minted), rounded(vd))
		if expired > 0 || failed > 0 || unknown > 0 {
			t.Errorf("%s: %d reads of an expired token, %d failed reads, %d reads of a token not minted for it",
				v.pod, expired, failed, unknown)
		}
		for _, d := range vd {
			if d > csiMaxVisible {
				t.Errorf("%s: a refreshed token read %.2fs after its mint (want ≤ %s)", v.pod, d.Seconds(), csiMaxVisible)
			}
		}
		delays = append(delays, vd...)
		if restarted := mintsBetween(minted, restartedAt, readyAt.Add(10*time.Second)); restarted > 0 {
			t.Logf("%s: %d mints while the node plugin restarted (each a due refresh: the gap check passed)",
				v.pod, restarted)
		}
	}
	t.Logf("CSI mint-to-read over %d refreshes: p50 %s, max %s (the pods read every 500 ms)", len(delays),
		consumer.Percentile(delays, 50).Round(10*time.Millisecond),
		consumer.Percentile(delays, 100).Round(10*time.Millisecond))
	for _, m := range r.mints(r.gone.key) {
		tokens = append(tokens, m.Token)
	}
	assertNotInEtcd(t, tokens)
}

func mintsBetween(ms []burnersim.Minted, from, to time.Time) int {
	n := 0
	for _, m := range ms {
		if !m.At.Before(from) && m.At.Before(to) {
			n++
		}
	}
	return n
}

// restartNodePlugin deletes the node plugin's pod and waits for the DaemonSet's new one to be Ready.
func restartNodePlugin(t *testing.T) (deleted, ready time.Time) {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=csi-node"}
	pods, err := cs.CoreV1().Pods(operatorNS).List(ctx, sel)
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("node plugin pods: %v, %v", pods, err)
	}
	old := pods.Items[0].UID
	if err := cs.CoreV1().Pods(operatorNS).Delete(ctx, pods.Items[0].Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	deleted = time.Now()
	eventually(t, 2*time.Minute, 250*time.Millisecond, "the new node plugin pod Ready", func() error {
		pods, err := cs.CoreV1().Pods(operatorNS).List(ctx, sel)
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			if p.UID == old || p.DeletionTimestamp != nil {
				continue
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					return nil
				}
			}
		}
		return errors.New("not yet")
	})
	return deleted, time.Now()
}

// nodePath is path in the node's mount namespace, through the kubelet's /proc root, or "" when the tests did not
// start the node.
func nodePath(path ...string) string {
	kubeletPid := kubeletPidOnce()
	if kubeletPid == 0 {
		return ""
	}
	return filepath.Join(append([]string{"/proc", strconv.Itoa(kubeletPid), "root"}, path...)...)
}

// kubeletPidOnce is the node's kubelet, looked up once (node.Pids reads all of /proc), or 0.
var kubeletPidOnce = sync.OnceValue(func() int {
	if node == nil {
		return 0
	}
	return node.Pids()["kubelet"]
})

var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// assertNotInEtcd reads every file of etcd's data directory (its database and write-ahead log) byte-wise and fails if
// any of tokens is there. A ConfigMap written just before proves the scan sees the latest writes; how many
// JWT-shaped strings the files hold (the token Secrets of the BurnerSessions) shows it would see a token.
func assertNotInEtcd(t *testing.T, tokens []string) {
	t.Helper()
	if node == nil {
		t.Log("the etcd scan needs the node the tests start (KUBECONFIG was set)")
		return
	}
	dir := filepath.Join(node.Dir, "etcd")
	ctx := context.Background()
	marker := fmt.Sprintf("etcd-scan-marker-%d", time.Now().UnixNano())
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: csiNamespace, Name: "etcd-scan-marker"},
		Data: map[string]string{"v": marker}}
	if _, err := cs.CoreV1().ConfigMaps(csiNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var found map[string]bool
	var jwts int
	eventually(t, time.Minute, time.Second, "the marker in etcd's files", func() error {
		found, jwts = map[string]bool{}, 0
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			jwts += len(jwtPattern.FindAllIndex(data, -1))
			for _, n := range append([]string{marker}, tokens...) {
				if bytes.Contains(data, []byte(n)) {
					found[n] = true
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !found[marker] {
			return errors.New("marker not found")
		}
		return nil
	})
	n := 0
	for _, tok := range tokens {
		if found[tok] {
			n++
			t.Errorf("a volume's token (sha256 %s) is stored in etcd", hash(tok))
		}
	}
	t.Logf("etcd scan: %d of the %d tokens minted for volumes found in %s (%d JWT-shaped strings there)", n,
		len(tokens), dir, jwts)
}
