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

// Package flow_test runs a pod's token volume end to end on a real apiserver, without a kubelet: the node plugin's
// gRPC server publishes the volume as the kubelet asks, its client calls the manager's endpoint over verified TLS
// with the pod's bound ServiceAccount token, the endpoint reviews it, and the files are written, refreshed and
// removed. The mint path behind the endpoint is the manager's (internal/mint, an issuer and its policy, the per-key
// limiter, the API simulator); only the mount itself is a fake.
package flow_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/mount-utils"
	clocktesting "k8s.io/utils/clock/testing"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/csi/csitest"
	"github.com/burner-operator/burner-operator/internal/csi/driver"
	"github.com/burner-operator/burner-operator/internal/csi/storage"
	"github.com/burner-operator/burner-operator/internal/csi/volume"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/mint"
	"github.com/burner-operator/burner-operator/internal/mintapi"
	"github.com/burner-operator/burner-operator/internal/mintserver"
	"github.com/burner-operator/burner-operator/internal/secrets"
	"github.com/burner-operator/burner-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

const platformKey = "ak_test_platform"

// platformNamespace holds the platform's key Secret, and the ClusterBurnerIssuer "platform" that the volumes name
// uses it, Ready, with a policy of 60 s at most; made once for the package's tests.
var platformNamespace = sync.OnceValue(func() string {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "burner-system-"}}
	must(env.Client.Create(ctx, ns))
	must(env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "platform-key",
		Labels: map[string]string{burnerv1alpha1.APIKeyLabel: "true"}},
		Data: map[string][]byte{burnerv1alpha1.DefaultAPIKeySecretKey: []byte(platformKey)}}))
	ci := &burnerv1alpha1.ClusterBurnerIssuer{ObjectMeta: metav1.ObjectMeta{Name: "platform"},
		Spec: burnerv1alpha1.BurnerIssuerSpec{APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: "platform-key"},
			Policy: &burnerv1alpha1.IssuerPolicy{MaxTTLSeconds: new(int32(60))}}}
	must(env.Client.Create(ctx, ci))
	// The issuer reconciler's verdict, which the mint path waits for.
	ci.Status.Conditions = []metav1.Condition{{Type: burnerv1alpha1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: burnerv1alpha1.ReasonKeyAvailable, LastTransitionTime: metav1.Now()}}
	must(env.Client.Status().Update(ctx, ci))
	return ns.Name
})

func must(err error) {
	if err != nil {
		panic(err)
	}
}

var attrs = map[string]string{
	mintapi.AttributeIssuerKind: "ClusterBurnerIssuer", mintapi.AttributeIssuerName: "platform",
	mintapi.AttributeWalletAddress: "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy", mintapi.AttributeTTLSeconds: "60",
}

// node is one node plugin, on a fake clock, talking to the manager's endpoint.
type node struct {
	clock  *clocktesting.FakeClock
	store  *storage.Store
	client csi.NodeClient
	logs   *csitest.Logs

	mu     sync.Mutex
	tokens []string    // every token the fake mint path issued
	needBy []time.Time // and the needBy of each request
}

func startNode(t *testing.T) *node {
	t.Helper()
	n := &node{clock: clocktesting.NewFakeClock(time.Now()), logs: &csitest.Logs{}}
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	// The manager's endpoint, with the manager's mint path behind it: the platform's ClusterBurnerIssuer (policy:
	// at most 60 s), its key, the per-key limiter and the API simulator, all on the node's clock.
	sim := burnersim.New(burnersim.WithClock(n.clock), burnersim.WithKeys(platformKey))
	url, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	api, err := burnerapi.New(url, burnerapi.WithClock(n.clock),
		burnerapi.WithLimiter(burnerapi.NewKeyLimiter(1000, 1000, n.clock)))
	if err != nil {
		t.Fatal(err)
	}
	mintPath := mintserver.FromMinter(&mint.Minter{
		Issuers: issuer.Resolver{Reader: env.Client, ClusterResourceNamespace: platformNamespace()},
		Secrets: secrets.NewReader(env.Client, env.Client, env.Client, n.clock), API: api, Clock: n.clock,
	})
	minter := csitest.MintEndpoint(t, mintserver.NewHandler(kube, mintapi.AudienceDefault,
		func(ctx context.Context, req mintserver.Request) (mintapi.Token, error) {
			tok, err := mintPath(ctx, req)
			if err == nil {
				n.mu.Lock()
				defer n.mu.Unlock()
				n.tokens = append(n.tokens, tok.Value)
				n.needBy = append(n.needBy, req.NeedBy)
			}
			return tok, err
		}, n.logs.Logger()))
	dir := t.TempDir()
	if n.store, err = storage.New(filepath.Join(dir, "volumes"), n.clock); err != nil {
		t.Fatal(err)
	}
	volumes := volume.New(volume.Config{Store: n.store, Minter: minter, NodeID: "node-a", Clock: n.clock,
		Log: n.logs.Logger()})
	socket := filepath.Join(dir, "csi.sock")
	lis, err := driver.Listen("unix://" + socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := driver.NewServer(driver.Config{NodeID: "node-a", Manager: volumes, Store: n.store,
		Mounter: mount.NewFakeMounter(nil), Audience: mintapi.AudienceDefault, Log: n.logs.Logger()}, "test")
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		volumes.Stop()
	})
	n.client = csitest.DialNode(t, socket)
	return n
}

func (n *node) issued() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.tokens...)
}

func (n *node) file(t *testing.T, volumeID string) string {
	t.Helper()
	tok, err := n.store.ReadToken(volumeID)
	if err != nil {
		return ""
	}
	return tok.Value
}

func TestVolumeFromMountToUnmount(t *testing.T) {
	n := startNode(t)
	ns := env.Namespace(t)
	p := csitest.CreatePod(t, env.Client, ns, "app-0", attrs)
	podToken := env.BoundToken(t, p, mintapi.AudienceDefault)
	target := filepath.Join(t.TempDir(), "mount")
	req := csitest.PublishRequest("csi-flow-1", target, csitest.PodRef(p), attrs, podToken, time.Now().Add(time.Hour))
	ctx := context.Background()

	if _, err := n.client.NodePublishVolume(ctx, req); err != nil {
		t.Fatal(err)
	}
	if issued := n.issued(); len(issued) != 1 || n.file(t, "csi-flow-1") != issued[0] {
		t.Fatalf("after the mount the volume does not hold the one token minted (%d minted)", len(issued))
	}
	// 40 s later (a third of the 60 s left) the node refreshes in place, proving the pod again.
	eventuallyWaiting(t, n.clock)
	n.clock.Step(40 * time.Second)
	eventually(t, "the refresh", func() bool {
		issued := n.issued()
		return len(issued) == 2 && n.file(t, "csi-flow-1") == issued[1]
	})
	n.mu.Lock()
	if !n.needBy[0].IsZero() || n.needBy[1].IsZero() {
		t.Errorf("needBy of the mount %v and of the refresh %v", n.needBy[0], n.needBy[1])
	}
	n.mu.Unlock()

	if _, err := n.client.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "csi-flow-1",
		TargetPath: target}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(n.store.DataDir("csi-flow-1"))); !os.IsNotExist(err) {
		t.Fatalf("the volume's files are left: %v", err)
	}
	n.clock.Step(time.Hour)
	time.Sleep(50 * time.Millisecond)
	if got := len(n.issued()); got != 2 {
		t.Fatalf("%d tokens issued for one mount and one refresh", got)
	}
	n.logs.CheckNoTokens(t, append(n.issued(), podToken)...)
	assertNotInEtcd(t, append(n.issued(), podToken))
}

// A mount the manager refuses fails with the reason in the message the pod's events show, and leaves nothing.
func TestRefusedMountsNameTheReason(t *testing.T) {
	n := startNode(t)
	ns := env.Namespace(t)
	long := maps.Clone(attrs)
	long[mintapi.AttributeTTLSeconds] = "600"
	p := csitest.CreatePod(t, env.Client, ns, "app-0", long)
	podToken := env.BoundToken(t, p, mintapi.AudienceDefault)
	for name, tc := range map[string]struct {
		req      *csi.NodePublishVolumeRequest
		wantCode codes.Code
		wantMsg  string
	}{
		"policy": {csitest.PublishRequest("csi-flow-2", filepath.Join(t.TempDir(), "m"), csitest.PodRef(p), long,
			podToken, time.Now().Add(time.Hour)), codes.PermissionDenied,
			"PolicyDenied: spec.ttlSeconds 600 exceeds the issuer's policy.maxTTLSeconds 60"},
		// A node that holds the pod's token asks for what the pod did not declare.
		"undeclared": {csitest.PublishRequest("csi-flow-3", filepath.Join(t.TempDir(), "m"), csitest.PodRef(p), attrs,
			podToken, time.Now().Add(time.Hour)), codes.PermissionDenied, "VolumeNotDeclared: pod " + ns + "/app-0"},
		// A token of the right pod for another audience (the apiserver's own, say) proves nothing here.
		"other audience": {csitest.PublishRequest("csi-flow-4", filepath.Join(t.TempDir(), "m"), csitest.PodRef(p), long,
			env.BoundToken(t, p, "vault"), time.Now().Add(time.Hour)), codes.PermissionDenied, "PodTokenRejected: "},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := n.client.NodePublishVolume(context.Background(), tc.req)
			st, _ := status.FromError(err)
			if st.Code() != tc.wantCode || !strings.HasPrefix(st.Message(), tc.wantMsg) {
				t.Fatalf("NodePublishVolume = %v, want %v %q...", err, tc.wantCode, tc.wantMsg)
			}
			if _, err := os.Stat(filepath.Dir(n.store.DataDir(tc.req.GetVolumeId()))); !os.IsNotExist(err) {
				t.Fatalf("the refused volume left files: %v", err)
			}
		})
	}
	if len(n.issued()) != 0 {
		t.Fatal("a refused mount was minted")
	}
}

// assertNotInEtcd searches etcd's files (WAL and database, stored unencrypted) for each secret, byte for byte, after
// writing a marker the same way a leak would be written, so the search is shown to see stored values.
func assertNotInEtcd(t *testing.T, tokens []string) {
	t.Helper()
	marker := fmt.Sprintf("etcd-scan-marker-%d", time.Now().UnixNano())
	ns := env.Namespace(t)
	if err := env.Client.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns,
		Name: "marker"}, Data: map[string]string{"v": marker}}); err != nil {
		t.Fatal(err)
	}
	var found map[string]bool
	eventually(t, "the marker in etcd's files", func() bool {
		found = scan(t, env.EtcdDataDir(), append([]string{marker}, tokens...))
		return found[marker]
	})
	for i, s := range tokens {
		if found[s] {
			t.Errorf("token %d of %d is stored in etcd", i+1, len(tokens))
		}
	}
}

func scan(t *testing.T, dir string, needles []string) map[string]bool {
	found := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(data, []byte(n)) {
				found[n] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func eventuallyWaiting(t *testing.T, clk *clocktesting.FakeClock) {
	t.Helper()
	eventually(t, "the refresh loop to wait", clk.HasWaiters)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
