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
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/operator"
	"github.com/burner-operator/burner-operator/internal/operator/operatortest"
)

// cappedIssuer creates a ClusterBurnerIssuer allowing limit sessions per namespace, with its key in a platform
// namespace, and starts a manager for it.
func cappedIssuer(t *testing.T, f *operatortest.Flow, limit int32) *burnerv1alpha1.ClusterBurnerIssuer {
	t.Helper()
	platform := env.Namespace(t)
	key := f.CreateKeySecret(platform, "platform-key")
	ci := operatortest.ClusterIssuer("capped-"+f.NS, f.URL, key.Name)
	ci.Spec.Policy = &burnerv1alpha1.IssuerPolicy{MaxSessionsPerNamespace: &limit}
	if err := env.Client.Create(f.Ctx, ci); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(f.Ctx, ci) })
	f.StartManager(func(o *operator.Options) { o.ClusterResourceNamespace = platform })
	return ci
}

// TestSessionsOverTheNamespaceCapGetNoCall: sessions past an issuer's maxSessionsPerNamespace in their namespace get
// Ready=False NamespaceSessionLimit, a message naming the limit, and no call; the limit is per namespace; a limit
// lowered under admitted sessions refuses the newest, whose token is left in its Secret untouched.
func TestSessionsOverTheNamespaceCapGetNoCall(t *testing.T) {
	f := operatortest.NewFlow(t, env)
	ci := cappedIssuer(t, f, 2)
	for _, name := range []string{"a", "b"} {
		f.CreateClusterIssuerSession(name, ci.Name)
		f.WaitReady(name)
	}
	for _, name := range []string{"c", "d"} {
		f.CreateClusterIssuerSession(name, ci.Name)
		f.WaitReason(name, burnerv1alpha1.ConditionReady, burnerv1alpha1.ReasonNamespaceSessionLimit)
	}
	if got := f.Sim.Calls().Received; got != 2 {
		t.Fatalf("%d calls for 2 admitted sessions", got)
	}
	if c := f.Condition("c", burnerv1alpha1.ConditionReady); !strings.Contains(c.Message, "maxSessionsPerNamespace "+
		"allows 2 sessions") {
		t.Fatalf("message %q does not name the limit", c.Message)
	}
	if f.TokenSecret("c") != nil {
		t.Fatal("a session over the limit got a token Secret")
	}

	// Another namespace has places of its own.
	other := env.Namespace(t)
	bs := &burnerv1alpha1.BurnerSession{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "a"},
		Spec: burnerv1alpha1.BurnerSessionSpec{WalletAddress: operatortest.Wallet,
			IssuerRef: &burnerv1alpha1.IssuerReference{Kind: burnerv1alpha1.ClusterBurnerIssuerKind, Name: ci.Name}}}
	if err := env.Client.Create(f.Ctx, bs); err != nil {
		t.Fatal(err)
	}
	f.Eventually(30*time.Second, "the other namespace's session Ready", func() bool {
		got := &burnerv1alpha1.BurnerSession{}
		return env.Client.Get(f.Ctx, client.ObjectKeyFromObject(bs), got) == nil &&
			got.Status.ExpiresAt != nil && !got.Status.ExpiresAt.IsZero()
	})

	// Lowered to 1: b, the newer of the admitted, waits; its token stays where it was.
	held := f.TokenSecret("b")
	if err := env.Client.Get(f.Ctx, client.ObjectKeyFromObject(ci), ci); err != nil {
		t.Fatal(err)
	}
	ci.Spec.Policy.MaxSessionsPerNamespace = new(int32(1))
	if err := env.Client.Update(f.Ctx, ci); err != nil {
		t.Fatal(err)
	}
	f.WaitReason("b", burnerv1alpha1.ConditionReady, burnerv1alpha1.ReasonNamespaceSessionLimit)
	f.WaitReady("a")
	if s := f.TokenSecret("b"); s == nil || s.ResourceVersion != held.ResourceVersion {
		t.Fatal("the token Secret of a session over the limit was touched")
	}
	if got := f.Sim.Calls().Received; got != 3 {
		t.Fatalf("%d calls, want 3 (2 admitted here, 1 in the other namespace)", got)
	}
}

// TestCapOverflowIsAdmittedWhenASessionIsDeleted: a session waiting for a place under maxSessionsPerNamespace is
// admitted, with no change of its own, when an admitted session is deleted; one created after it still waits
// behind it.
func TestCapOverflowIsAdmittedWhenASessionIsDeleted(t *testing.T) {
	f := operatortest.NewFlow(t, env)
	ci := cappedIssuer(t, f, 1)
	f.CreateClusterIssuerSession("first", ci.Name)
	f.WaitReady("first")
	f.CreateClusterIssuerSession("second", ci.Name)
	f.WaitReason("second", burnerv1alpha1.ConditionReady, burnerv1alpha1.ReasonNamespaceSessionLimit)
	f.CreateClusterIssuerSession("third", ci.Name)
	f.WaitReason("third", burnerv1alpha1.ConditionReady, burnerv1alpha1.ReasonNamespaceSessionLimit)

	mark := f.LogMark()
	first := &burnerv1alpha1.BurnerSession{ObjectMeta: metav1.ObjectMeta{Namespace: f.NS, Name: "first"}}
	if err := env.Client.Delete(f.Ctx, first); err != nil {
		t.Fatal(err)
	}
	f.WaitReady("second")
	f.WaitReconciled(mark, 1, "third")
	if c := f.Condition("third", burnerv1alpha1.ConditionReady); c.Reason != burnerv1alpha1.ReasonNamespaceSessionLimit {
		t.Fatalf("third is %s, want still waiting behind second", c.Reason)
	}
	if got := f.Sim.TotalMints(); got != 2 {
		t.Fatalf("%d mints, want 2 (first, then second)", got)
	}
}
