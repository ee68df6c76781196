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
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// TestSecretWriteFailureIsAFailure: a token Secret the apiserver refuses to update (immutable here; a ResourceQuota
// or a webhook alike) is a recorded failure with backoff and an event, and the minted token is written on the next
// attempt, without minting another, once the Secret can be written.
func TestSecretWriteFailureIsAFailure(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.reconcile("pay")
	s := f.immutableSecretAndForceRefresh("pay")
	res := f.reconcile("pay")
	f.wantMints(2)
	f.wantCondition("pay", burnerv1alpha1.ConditionSynced, metav1.ConditionFalse, burnerv1alpha1.ReasonSecretWriteFailed)
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
	f.wantEvent(burnerv1alpha1.ReasonSecretWriteFailed)
	st := f.session("pay").Status
	if st.FailedAttempts != 1 || res.RequeueAfter < 10*time.Second || res.RequeueAfter > 13*time.Second {
		t.Fatalf("failure record %+v, requeue %s: want one attempt and the 10 s backoff", st, res.RequeueAfter)
	}
	if c := f.condition("pay", burnerv1alpha1.ConditionSynced); !strings.Contains(c.Message, "immutable") {
		t.Fatalf("Synced message %q does not say why", c.Message)
	}

	f.clock.Step(15 * time.Second)
	f.reconcile("pay")
	f.wantMints(2)
	if st := f.session("pay").Status; st.FailedAttempts != 2 {
		t.Fatalf("second failed write not counted: %+v", st)
	}

	if err := env.Client.Delete(f.ctx, s); err != nil {
		t.Fatal(err)
	}
	f.reconcile("pay")
	f.wantMints(2)
	f.wantCondition("pay", burnerv1alpha1.ConditionSynced, metav1.ConditionTrue, burnerv1alpha1.ReasonUpToDate)
	if got := f.secret("pay"); got.Annotations[tokensecret.ForceRefreshAnnotation] != "1" {
		t.Fatal("the token minted for the force-refresh was not written")
	}
}

// TestHeldBackSessionTurnsExpiredOnTime: a session the per-key limiter keeps holding back comes back no later than
// its token's expiry, and Ready turns False with Expired then.
func TestHeldBackSessionTurnsExpiredOnTime(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.reconcile("pay")
	api, err := burnerapi.New(f.apiURL, burnerapi.WithClock(f.clock),
		burnerapi.WithLimiter(burnerapi.NewKeyLimiter(0.0001, 1, clock.RealClock{})))
	if err != nil {
		t.Fatal(err)
	}
	f.r.Minter.API = api
	f.createSession("warm-up", nil)
	f.reconcile("warm-up") // takes the limiter's one token: everything after it waits hours
	f.clock.Step(4 * time.Minute)
	res := f.reconcile("pay")
	f.wantMints(2)
	if res.RequeueAfter > time.Minute+time.Second {
		t.Fatalf("held-back session requeued after %s, past its token's expiry in 1m", res.RequeueAfter)
	}
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
	f.clock.Step(time.Minute)
	f.reconcile("pay")
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, burnerv1alpha1.ReasonExpired)
	f.wantNoEvents()
}

// TestImplausibleExpiresAtIsReissued: a token Secret whose expiresAt is further from issuedAt than the API ever
// grants is not trusted after a restart: it is treated as damaged and a new token is issued.
func TestImplausibleExpiresAtIsReissued(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.reconcile("pay")
	s := f.secret("pay")
	s.Data[tokensecret.KeyExpiresAt] = []byte(f.clock.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339))
	if err := env.Client.Update(f.ctx, s); err != nil {
		t.Fatal(err)
	}
	f.r = f.newReconciler()
	f.reconcile("pay")
	f.wantMints(2)
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
	if exp := f.session("pay").Status.ExpiresAt; exp.Sub(f.clock.Now()) > time.Hour {
		t.Fatalf("status still reports the damaged expiry %s", exp)
	}
}

// TestFailingRefreshGetsALastChance: two failures in a row at a 60 s token's refresh time would, with the 10 s and
// 20 s backoff, outlast the 30 s left on it; the last attempt is brought forward to 10 s before expiry, and the
// token is refreshed in time.
func TestFailingRefreshGetsALastChance(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", func(bs *burnerv1alpha1.BurnerSession) { bs.Spec.TTLSeconds = 60 })
	f.reconcile("pay")
	expiresAt := f.session("pay").Status.ExpiresAt.Time
	f.sim.FailNext(2, burnersim.Fault503)
	f.clock.SetTime(f.session("pay").Status.RefreshAt.Time)
	for range 2 {
		res := f.reconcile("pay")
		f.clock.Step(res.RequeueAfter)
	}
	if !f.clock.Now().Before(expiresAt.Add(-5 * time.Second)) {
		t.Fatalf("the third attempt comes at %s, too close to the expiry at %s", f.clock.Now(), expiresAt)
	}
	f.reconcile("pay")
	f.wantMints(2)
	f.wantCondition("pay", burnerv1alpha1.ConditionSynced, metav1.ConditionTrue, burnerv1alpha1.ReasonUpToDate)
}
