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

package controller

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/policy"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

func TestIssuesTokenIntoOwnedSecret(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", func(bs *burnerv1alpha1.BurnerSession) {
		bs.Spec.Scopes = []burnerv1alpha1.Scope{burnerv1alpha1.ScopeWalletRead, burnerv1alpha1.ScopeTransactionsBuild}
		bs.Spec.SecretName = "pay-token"
	})
	res := f.reconcile("pay")
	f.wantMints(1)

	s := f.secret("pay-token")
	gotWallet, gotScopes, exp, err := f.sim.VerifyToken(string(s.Data[tokensecret.KeyToken]))
	if err != nil || gotWallet != wallet || len(gotScopes) != 2 {
		t.Fatalf("Secret does not hold the simulator's token: wallet=%q scopes=%v err=%v", gotWallet, gotScopes, err)
	}
	wantExpiry := f.clock.Now().Add(300 * time.Second)
	if string(s.Data[tokensecret.KeyExpiresAt]) != wantExpiry.Format(time.RFC3339) || !exp.Equal(wantExpiry) {
		t.Fatalf("expiresAt = %s (jwt exp %s), want %s", s.Data[tokensecret.KeyExpiresAt], exp, wantExpiry)
	}
	if string(s.Data[tokensecret.KeyWalletAddress]) != wallet ||
		string(s.Data[tokensecret.KeyScopes]) != "transactions:build wallet:read" {
		t.Fatalf("Secret data: wallet %q scopes %q", s.Data[tokensecret.KeyWalletAddress], s.Data[tokensecret.KeyScopes])
	}
	bs := f.session("pay")
	ref := metav1.GetControllerOf(s)
	if ref == nil || ref.UID != bs.UID || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Fatalf("Secret is not controlled by the session (garbage collection would orphan it): %+v", s.OwnerReferences)
	}
	if s.Labels[tokensecret.ManagedByLabel] != tokensecret.ManagedByValue {
		t.Fatalf("Secret lacks the managed-by label the cache selects on: %v", s.Labels)
	}

	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
	f.wantCondition("pay", burnerv1alpha1.ConditionSynced, metav1.ConditionTrue, burnerv1alpha1.ReasonUpToDate)
	f.wantNoEvents()
	st := bs.Status
	if st.ObservedGeneration != bs.Generation || st.SecretName != "pay-token" || !st.ExpiresAt.Time.Equal(wantExpiry) ||
		!st.IssuedAt.Time.Equal(f.clock.Now()) || len(st.GrantedScopes) != 2 || st.RefreshAt == nil {
		t.Fatalf("status: %+v", st)
	}
	// Requeued for exactly the refresh time (rounded up to the second), not polled.
	wantRequeue := st.RefreshAt.Sub(f.clock.Now()) + time.Second
	if res.RequeueAfter != wantRequeue {
		t.Fatalf("RequeueAfter = %s, want %s", res.RequeueAfter, wantRequeue)
	}
}

func TestRefreshesBeforeExpiryOnly(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.reconcile("pay")
	first := f.token("pay")
	refreshAt := f.session("pay").Status.RefreshAt.Time

	// Any number of reconciles before the refresh time make no call.
	f.clock.SetTime(refreshAt.Add(-time.Second))
	for range 3 {
		f.reconcile("pay")
	}
	f.wantMints(1)

	f.clock.SetTime(refreshAt)
	f.reconcile("pay")
	f.wantMints(2)
	second := f.token("pay")
	if second == first {
		t.Fatal("token not replaced at the refresh time")
	}
	// The old token still had a third of its life left: well before expiry, covering kubelet's sync delay.
	if left := f.session("pay").Status.ExpiresAt.Sub(refreshAt); left < policy.MountSyncMargin {
		t.Fatalf("refreshed only %s before expiry", left)
	}
	f.wantNoEvents()
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
}

func TestUsesExpiresAtNotRequestedTTL(t *testing.T) {
	f := newFixture(t)
	f.sim.SetMaxLifetime(2 * time.Minute)
	f.createSession("pay", func(bs *burnerv1alpha1.BurnerSession) { bs.Spec.TTLSeconds = 3600 })
	res := f.reconcile("pay")
	st := f.session("pay").Status
	if got := st.ExpiresAt.Sub(f.clock.Now()); got != 2*time.Minute {
		t.Fatalf("expiresAt %s from now, want the API's 2m", got)
	}
	// Lifetime 120 s: refresh at half-life, and warn that a mounted copy may lag.
	if res.RequeueAfter > 61*time.Second {
		t.Fatalf("requeue after %s for a 2m token", res.RequeueAfter)
	}
	f.wantEvent(burnerv1alpha1.ReasonShortLifetime)
	// Warned once per spec generation, not at every refresh; the Ready message keeps saying it.
	f.clock.SetTime(f.session("pay").Status.RefreshAt.Time)
	f.reconcile("pay")
	f.wantMints(2)
	f.wantNoEvents()
	if c := meta.FindStatusCondition(f.session("pay").Status.Conditions, burnerv1alpha1.ConditionReady); c == nil ||
		!strings.Contains(c.Message, policy.ShortLifetimeMessage) {
		t.Fatalf("Ready does not carry the short-lifetime warning: %+v", c)
	}
}

func TestRestartMakesNoCalls(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"a", "b", "c"} {
		f.createSession(name, nil)
		f.reconcile(name)
	}
	f.wantMints(3)
	f.clock.Step(time.Minute)
	f.r = f.newReconciler()
	for _, name := range []string{"a", "b", "c"} {
		f.reconcile(name)
		f.wantCondition(name, burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
	}
	f.wantMints(3)
}

func TestSpecChangeReissuesLabelChangeDoesNot(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.reconcile("pay")
	f.update("pay", func(bs *burnerv1alpha1.BurnerSession) { bs.Labels = map[string]string{"team": "payments"} })
	f.reconcile("pay")
	f.wantMints(1)

	edits := []func(*burnerv1alpha1.BurnerSession){
		func(bs *burnerv1alpha1.BurnerSession) { bs.Spec.WalletAddress = wallet2 },
		func(bs *burnerv1alpha1.BurnerSession) {
			bs.Spec.Scopes = []burnerv1alpha1.Scope{burnerv1alpha1.ScopeWalletRead}
		},
		func(bs *burnerv1alpha1.BurnerSession) { bs.Spec.TTLSeconds = 900 },
		func(bs *burnerv1alpha1.BurnerSession) { bs.Spec.APIKeySecretRef.Key = "other" },
	}
	f.createKey("other-key", apiKey)
	for i, edit := range edits {
		f.update("pay", edit)
		if i == len(edits)-1 {
			// The new key reference points at a Secret without that key; point it at one that has it.
			f.update("pay", func(bs *burnerv1alpha1.BurnerSession) {
				bs.Spec.APIKeySecretRef = burnerv1alpha1.SecretKeySelector{Name: "other-key", Key: "apiKey"}
			})
		}
		f.reconcile("pay")
		f.wantMints(2 + i)
	}
	s := f.secret("pay")
	if string(s.Data[tokensecret.KeyWalletAddress]) != wallet2 || string(s.Data[tokensecret.KeyScopes]) != "wallet:read" {
		t.Fatalf("Secret not reissued for the new spec: %s", s.Data[tokensecret.KeyScopes])
	}
}

func TestForceRefreshMintsExactlyOnce(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.reconcile("pay")
	first := f.token("pay")
	f.update("pay", func(bs *burnerv1alpha1.BurnerSession) {
		bs.Annotations = map[string]string{burnerv1alpha1.ForceRefreshAnnotation: "2026-11-25T10:00"}
	})
	for range 3 {
		f.reconcile("pay")
	}
	f.wantMints(2)
	// Still exactly once after a restart: the handled value is recorded on the Secret with the token.
	f.r = f.newReconciler()
	f.reconcile("pay")
	f.wantMints(2)
	if f.token("pay") == first {
		t.Fatal("force-refresh did not replace the token")
	}
	f.update("pay", func(bs *burnerv1alpha1.BurnerSession) {
		bs.Annotations[burnerv1alpha1.ForceRefreshAnnotation] = "again"
	})
	f.reconcile("pay")
	f.wantMints(3)
}

func TestUnownedSecretIsNotOverwritten(t *testing.T) {
	f := newFixture(t)
	foreign := f.createKey("pay", "somebody else's data")
	f.createSession("pay", nil)
	f.reconcile("pay")
	f.wantMints(0)
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, burnerv1alpha1.ReasonSecretNotOwned)
	f.wantEvent(burnerv1alpha1.ReasonSecretNotOwned)
	if s := f.secret("pay"); s.ResourceVersion != foreign.ResourceVersion {
		t.Fatal("foreign Secret was modified")
	}
	// Once the foreign Secret is gone, the session gets its token.
	if err := env.Client.Delete(f.ctx, foreign); err != nil {
		t.Fatal(err)
	}
	f.reconcile("pay")
	f.wantMints(1)
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
}

func TestDeletedOrEditedSecretIsRepairedWithoutMint(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.reconcile("pay")
	token := f.token("pay")

	if err := env.Client.Delete(f.ctx, f.secret("pay")); err != nil {
		t.Fatal(err)
	}
	f.reconcile("pay")
	f.wantEvent("Repaired")

	s := f.secret("pay")
	s.Data[tokensecret.KeyToken] = []byte("tampered")
	delete(s.Data, tokensecret.KeyWalletAddress)
	s.Data["added-by-hand"] = []byte("x")
	s.Labels["team"] = "pay" // someone else's: stays
	if err := env.Client.Update(f.ctx, s); err != nil {
		t.Fatal(err)
	}
	f.reconcile("pay")
	s = f.secret("pay")
	if string(s.Data[tokensecret.KeyToken]) != token || string(s.Data[tokensecret.KeyWalletAddress]) != wallet ||
		s.Data["added-by-hand"] != nil || s.Labels["team"] != "pay" {
		t.Fatalf("Secret not restored to the current token, or others' labels lost: %v, %v", slices.Sorted(maps.Keys(s.Data)),
			s.Labels)
	}
	f.wantMints(1)

	// After a restart nothing is remembered: a deleted Secret costs one new token, no more.
	f.r = f.newReconciler()
	if err := env.Client.Delete(f.ctx, f.secret("pay")); err != nil {
		t.Fatal(err)
	}
	f.reconcile("pay")
	f.reconcile("pay")
	f.wantMints(2)
}

// TestRememberedTokenIsForgottenOnceExpiredOrRefused: the last token written stays in memory, for repairs, only
// while it may still be written: a refused session's is forgotten at once, an expired one at the next reconcile.
func TestRememberedTokenIsForgottenOnceExpiredOrRefused(t *testing.T) {
	f := newFixture(t)
	remembered := func(name string) bool {
		_, ok := f.r.lastIssued.token(f.session(name))
		return ok
	}
	f.createSession("pay", nil)
	f.createSession("refused", nil)
	f.reconcile("pay")
	f.reconcile("refused")
	if !remembered("pay") || !remembered("refused") {
		t.Fatal("the tokens written are not remembered")
	}

	setOptIn := func(value string) {
		t.Helper()
		key := &corev1.Secret{}
		if err := env.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "burner-api-key"}, key); err != nil {
			t.Fatal(err)
		}
		key.Labels[burnerv1alpha1.APIKeyLabel] = value
		if err := env.Client.Update(f.ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	setOptIn("false")
	f.reconcile("refused")
	f.wantCondition("refused", burnerv1alpha1.ConditionReady, metav1.ConditionFalse,
		burnerv1alpha1.ReasonAPIKeySecretNotLabelled)
	if remembered("refused") {
		t.Fatal("a refused session's token stays in memory")
	}

	setOptIn("true")
	f.sim.FailNext(1000, burnersim.Fault503)
	f.clock.Step(301 * time.Second) // past the expiry of a ttl-300 token, with no new one to replace it
	f.reconcile("pay")
	if remembered("pay") {
		t.Fatal("an expired token stays in memory")
	}
}
