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
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/operator"
	"github.com/burner-operator/burner-operator/internal/operator/operatortest"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// TestIssuerChangesReachSessions runs the whole manager with a ClusterBurnerIssuer whose key lives in the cluster
// resource namespace: a policy change, a template change, a key rotation and a URL change reach its session at once
// (watches, no timer); a restart makes no call; deleting the issuer turns the session IssuerNotFound and leaves its token alone.
func TestIssuerChangesReachSessions(t *testing.T) {
	f := operatortest.NewFlow(t, env)
	platform := env.Namespace(t)
	key := f.CreateKeySecret(platform, "platform-key")
	ci := operatortest.ClusterIssuer("platform-"+f.NS, f.URL, key.Name)
	if err := env.Client.Create(f.Ctx, ci); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(f.Ctx, ci) })
	withPlatform := func(o *operator.Options) { o.ClusterResourceNamespace = platform }
	stop := f.StartManager(withPlatform)
	f.CreateClusterIssuerSession("pay", ci.Name)
	f.WaitReady("pay")
	first := f.TokenSecret("pay")
	editIssuer := func(edit func(*burnerv1alpha1.BurnerIssuerSpec)) {
		t.Helper()
		if err := env.Client.Get(f.Ctx, client.ObjectKeyFromObject(ci), ci); err != nil {
			t.Fatal(err)
		}
		edit(&ci.Spec)
		if err := env.Client.Update(f.Ctx, ci); err != nil {
			t.Fatal(err)
		}
	}

	// Policy: tightened, the session says so at once; loosened, the token it still holds is Ready again.
	editIssuer(func(s *burnerv1alpha1.BurnerIssuerSpec) {
		s.Policy = &burnerv1alpha1.IssuerPolicy{AllowedWallets: []string{"11111111111111111111111111111111"}}
	})
	f.WaitReason("pay", burnerv1alpha1.ConditionReady, burnerv1alpha1.ReasonPolicyDenied)
	editIssuer(func(s *burnerv1alpha1.BurnerIssuerSpec) { s.Policy = nil })
	f.WaitReady("pay")

	// Template: the platform's default reaches the session's token Secret at once, with no call.
	mints := f.Sim.TotalMints()
	editIssuer(func(s *burnerv1alpha1.BurnerIssuerSpec) {
		s.SecretTemplate.Labels = map[string]string{"velero.io/exclude-from-backup": "true"}
	})
	f.Eventually(30*time.Second, "the issuer's template on the token Secret", func() bool {
		return f.TokenSecret("pay").Labels["velero.io/exclude-from-backup"] == "true"
	})
	if f.Sim.TotalMints() != mints {
		t.Fatal("a template change minted a token")
	}

	// Key rotation: the old key is revoked, a refresh fails and waits for a change; rotating the key Secret is one.
	f.Sim.RevokeKey(operatortest.APIKey)
	f.ForceRefresh("pay", "1")
	f.WaitReason("pay", burnerv1alpha1.ConditionSynced, burnerv1alpha1.ReasonInvalidAPIKey)
	const rotated = "ak_test_flow_platform_rotated"
	f.Sim.AddKey(rotated)
	key.Data["apiKey"] = []byte(rotated)
	if err := env.Client.Update(f.Ctx, key); err != nil {
		t.Fatal(err)
	}
	f.WaitReason("pay", burnerv1alpha1.ConditionSynced, burnerv1alpha1.ReasonUpToDate)

	// URL: the API moves; a refresh that fails on the old one succeeds once the issuer points to the new one.
	moved := burnersim.New(burnersim.WithKeys(rotated))
	movedURL, err := moved.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(moved.Close)
	f.Sim.RevokeKey(rotated)
	f.ForceRefresh("pay", "2")
	f.WaitReason("pay", burnerv1alpha1.ConditionSynced, burnerv1alpha1.ReasonInvalidAPIKey)
	editIssuer(func(s *burnerv1alpha1.BurnerIssuerSpec) { s.URL = movedURL })
	f.WaitReason("pay", burnerv1alpha1.ConditionSynced, burnerv1alpha1.ReasonUpToDate)
	if got := moved.TotalMints(); got != 1 {
		t.Fatalf("%d mints at the new URL", got)
	}

	// A restart makes no call.
	stop()
	calls := f.Sim.Calls().Received + moved.Calls().Received
	mark := f.LogMark()
	f.StartManager(withPlatform)
	f.WaitReconciled(mark, 1, "pay")
	if got := f.Sim.Calls().Received + moved.Calls().Received; got != calls {
		t.Fatalf("restarted manager made %d calls", got-calls)
	}

	// Deleting the issuer is not blocked; its session says so and keeps its token.
	held := f.TokenSecret("pay")
	if held.Annotations[tokensecret.ForceRefreshAnnotation] != "2" || string(held.Data[tokensecret.KeyToken]) ==
		string(first.Data[tokensecret.KeyToken]) {
		t.Fatal("the refreshes did not reach the Secret")
	}
	if err := env.Client.Delete(f.Ctx, ci); err != nil {
		t.Fatal(err)
	}
	f.WaitReason("pay", burnerv1alpha1.ConditionReady, burnerv1alpha1.ReasonIssuerNotFound)
	if s := f.TokenSecret("pay"); s.ResourceVersion != held.ResourceVersion {
		t.Fatal("the token Secret was touched after the issuer was deleted")
	}
}
