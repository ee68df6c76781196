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
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/operator"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// TestIssuerChangesReachSessions runs the whole manager with a ClusterBurnerIssuer whose key lives in the cluster
// resource namespace: a policy change, a key rotation and a URL change reach its session at once (watches, no
// timer); a restart makes no call; deleting the issuer turns the session IssuerNotFound and leaves its token alone.
func TestIssuerChangesReachSessions(t *testing.T) {
	f := newFlow(t)
	platform := env.Namespace(t)
	key := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: platform, Name: "platform-key",
			Labels: map[string]string{burnerv1alpha1.APIKeyLabel: "true"}},
		Data: map[string][]byte{"apiKey": []byte(apiKey)},
	}
	ci := clusterIssuer("platform-"+f.ns, f.url, key.Name)
	for _, o := range []client.Object{key, ci} {
		if err := env.Client.Create(f.ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = env.Client.Delete(f.ctx, ci) })
	withPlatform := func(o *operator.Options) { o.ClusterResourceNamespace = platform }
	stop := f.startManager(withPlatform)
	f.createClusterIssuerSession("pay", ci.Name)
	f.waitReady("pay")
	first := f.tokenSecret("pay")
	editIssuer := func(edit func(*burnerv1alpha1.BurnerIssuerSpec)) {
		t.Helper()
		if err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(ci), ci); err != nil {
			t.Fatal(err)
		}
		edit(&ci.Spec)
		if err := env.Client.Update(f.ctx, ci); err != nil {
			t.Fatal(err)
		}
	}

	// Policy: tightened, the session says so at once; loosened, the token it still holds is Ready again.
	editIssuer(func(s *burnerv1alpha1.BurnerIssuerSpec) {
		s.Policy = &burnerv1alpha1.IssuerPolicy{AllowedWallets: []string{"11111111111111111111111111111111"}}
	})
	f.waitReason("pay", burnerv1alpha1.ConditionReady, burnerv1alpha1.ReasonPolicyDenied)
	editIssuer(func(s *burnerv1alpha1.BurnerIssuerSpec) { s.Policy = nil })
	f.waitReady("pay")

	// Key rotation: the old key is revoked, a refresh fails and waits for a change; rotating the key Secret is one.
	f.sim.RevokeKey(apiKey)
	f.forceRefresh("pay", "1")
	f.waitReason("pay", burnerv1alpha1.ConditionSynced, burnerv1alpha1.ReasonInvalidAPIKey)
	const rotated = "ak_test_flow_platform_rotated"
	f.sim.AddKey(rotated)
	key.Data["apiKey"] = []byte(rotated)
	if err := env.Client.Update(f.ctx, key); err != nil {
		t.Fatal(err)
	}
	f.waitReason("pay", burnerv1alpha1.ConditionSynced, burnerv1alpha1.ReasonUpToDate)

	// URL: the API moves; a refresh that fails on the old one succeeds once the issuer points to the new one.
	moved := burnersim.New(burnersim.WithKeys(rotated))
	movedURL, err := moved.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(moved.Close)
	f.sim.RevokeKey(rotated)
	f.forceRefresh("pay", "2")
	f.waitReason("pay", burnerv1alpha1.ConditionSynced, burnerv1alpha1.ReasonInvalidAPIKey)
	editIssuer(func(s *burnerv1alpha1.BurnerIssuerSpec) { s.URL = movedURL })
	f.waitReason("pay", burnerv1alpha1.ConditionSynced, burnerv1alpha1.ReasonUpToDate)
	if got := moved.TotalMints(); got != 1 {
		t.Fatalf("%d mints at the new URL", got)
	}

	// A restart makes no call.
	stop()
	calls := f.sim.Calls().Received + moved.Calls().Received
	mark := f.logMark()
	f.startManager(withPlatform)
	f.waitReconciled(mark, 1, "pay")
	if got := f.sim.Calls().Received + moved.Calls().Received; got != calls {
		t.Fatalf("restarted manager made %d calls", got-calls)
	}

	// Deleting the issuer is not blocked; its session says so and keeps its token.
	held := f.tokenSecret("pay")
	if held.Annotations[tokensecret.ForceRefreshAnnotation] != "2" || string(held.Data[tokensecret.KeyToken]) ==
		string(first.Data[tokensecret.KeyToken]) {
		t.Fatal("the refreshes did not reach the Secret")
	}
	if err := env.Client.Delete(f.ctx, ci); err != nil {
		t.Fatal(err)
	}
	f.waitReason("pay", burnerv1alpha1.ConditionReady, burnerv1alpha1.ReasonIssuerNotFound)
	if s := f.tokenSecret("pay"); s.ResourceVersion != held.ResourceVersion {
		t.Fatal("the token Secret was touched after the issuer was deleted")
	}
}
