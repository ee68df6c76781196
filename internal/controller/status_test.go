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
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnersim"
)

// lagging serves one session as an earlier version of it, as the manager's cache does until the watch brings the
// status patch back; everything else, and every write, goes to the apiserver.
type lagging struct {
	client.Client
	session *burnerv1alpha1.BurnerSession
}

func (l lagging) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if bs, ok := obj.(*burnerv1alpha1.BurnerSession); ok && key == client.ObjectKeyFromObject(l.session) {
		l.session.DeepCopyInto(bs)
		return nil
	}
	return l.Client.Get(ctx, key, obj, opts...)
}

// TestStatusFromTheSameCachedVersionIsNotLost: two reconciles of the same cached version of a session that decide
// differently (a 500, then a revoked key) both reach status: the second is not skipped as a repeat of the first,
// whose event already went out.
func TestStatusFromTheSameCachedVersionIsNotLost(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.r.Client = lagging{Client: env.Client, session: f.session("pay")}

	f.sim.FailNext(1, burnersim.Fault500)
	f.reconcile("pay")
	f.wantCondition("pay", burnerv1alpha1.ConditionSynced, metav1.ConditionFalse, burnerv1alpha1.ReasonUpstreamError)

	f.sim.RevokeKey(apiKey)
	f.clock.Step(15 * time.Second)
	f.reconcile("pay")
	f.wantEvent(burnerv1alpha1.ReasonInvalidAPIKey)
	f.wantCondition("pay", burnerv1alpha1.ConditionSynced, metav1.ConditionFalse, burnerv1alpha1.ReasonInvalidAPIKey)
}

// TestStatusBackToTheCachedOneIsNotLost: a reconcile of a cached version that lags behind the last status patch,
// and decides the status that version shows (Ready again once a policy refusal is lifted), still writes it: the
// apiserver holds the refusal the patch set, and no watch event would bring the session back before its refresh.
func TestStatusBackToTheCachedOneIsNotLost(t *testing.T) {
	f := newFixture(t)
	name := f.clusterIssuer(&burnerv1alpha1.IssuerPolicy{})
	f.createSession("pay", useIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, name))
	f.reconcile("pay")
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
	f.r.Client = lagging{Client: f.r.Client, session: f.session("pay")}

	setMaxTTL := func(ttl int32) {
		t.Helper()
		ci := &burnerv1alpha1.ClusterBurnerIssuer{}
		if err := env.Client.Get(f.ctx, client.ObjectKey{Name: name}, ci); err != nil {
			t.Fatal(err)
		}
		ci.Spec.Policy.MaxTTLSeconds = &ttl
		if err := env.Client.Update(f.ctx, ci); err != nil {
			t.Fatal(err)
		}
		f.checkIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, client.ObjectKey{Name: name})
	}
	setMaxTTL(120)
	f.reconcile("pay")
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, burnerv1alpha1.ReasonPolicyDenied)

	setMaxTTL(3600)
	f.reconcile("pay")
	f.wantMints(1)
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
}

// TestBackoffCountsOnAfterAWriteFailure: a failed Secret write and the failed mint after it are attempts with the
// same inputs, so the backoff counts on instead of starting again.
func TestBackoffCountsOnAfterAWriteFailure(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.reconcile("pay")
	f.immutableSecretAndForceRefresh("pay")
	f.reconcile("pay")
	f.wantCondition("pay", burnerv1alpha1.ConditionSynced, metav1.ConditionFalse, burnerv1alpha1.ReasonSecretWriteFailed)

	// After a restart the minted token is gone from memory: the next attempt mints again, and fails.
	f.r = f.newReconciler()
	f.sim.FailNext(1, burnersim.Fault503)
	f.clock.Step(15 * time.Second)
	f.reconcile("pay")
	f.wantCondition("pay", burnerv1alpha1.ConditionSynced, metav1.ConditionFalse, burnerv1alpha1.ReasonUpstreamError)
	if st := f.session("pay").Status; st.FailedAttempts != 2 {
		t.Fatalf("failedAttempts = %d after a failed write and a failed mint, want 2", st.FailedAttempts)
	}
}

// TestObservedGenerationMeansReconciledSuccessfully: status.observedGeneration moves to a generation only once the
// session was reconciled without a failure at it; the conditions say what became of a failing one.
func TestObservedGenerationMeansReconciledSuccessfully(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.reconcile("pay")
	if st := f.session("pay"); st.Status.ObservedGeneration != st.Generation {
		t.Fatalf("observedGeneration %d after a success at generation %d", st.Status.ObservedGeneration, st.Generation)
	}
	f.update("pay", func(bs *burnerv1alpha1.BurnerSession) { bs.Spec.TTLSeconds = 600 })
	f.sim.FailNext(1, burnersim.Fault500)
	f.reconcile("pay")
	bs := f.session("pay")
	if bs.Status.ObservedGeneration != bs.Generation-1 {
		t.Fatalf("observedGeneration %d after a failure at generation %d, want the last success's",
			bs.Status.ObservedGeneration, bs.Generation)
	}
	f.clock.Step(15 * time.Second)
	f.reconcile("pay")
	if bs := f.session("pay"); bs.Status.ObservedGeneration != bs.Generation {
		t.Fatalf("observedGeneration %d after recovering at generation %d", bs.Status.ObservedGeneration, bs.Generation)
	}
}

// TestTokenTimesClearedWithTheToken: status reports a token's times only while the Secret holds a token of the
// session's: not after the Secret was replaced by a foreign one, nor while it is gone and no new token came.
func TestTokenTimesClearedWithTheToken(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.reconcile("pay")
	noTimes := func(why string) {
		t.Helper()
		st := f.session("pay").Status
		if st.IssuedAt != nil || st.ExpiresAt != nil || st.RefreshAt != nil || st.GrantedScopes != nil {
			t.Fatalf("%s: status still reports a token: %+v", why, st)
		}
	}

	if err := env.Client.Delete(f.ctx, f.secret("pay")); err != nil {
		t.Fatal(err)
	}
	f.r = f.newReconciler() // a restart: no token in memory to restore
	f.sim.FailNext(1, burnersim.Fault503)
	f.reconcile("pay")
	noTimes("Secret deleted, refresh failing")

	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "pay"},
		Data: map[string][]byte{"token": []byte("someone else's")}}
	if err := env.Client.Create(f.ctx, foreign); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(15 * time.Second)
	f.reconcile("pay")
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, burnerv1alpha1.ReasonSecretNotOwned)
	noTimes("a foreign Secret in its place")
}
