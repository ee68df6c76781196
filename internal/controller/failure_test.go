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
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/burnersim"
)

// TestTransientFailuresBackOffAndKeepTheToken: the API fails at refresh time. The old token is kept and served
// (Ready stays True, Synced says why), calls follow the exponential backoff instead of storming, Ready turns
// Expired when the token does, and the first call after the fault clears recovers.
func TestTransientFailuresBackOffAndKeepTheToken(t *testing.T) {
	for _, fault := range []burnersim.Fault{burnersim.Fault503, burnersim.FaultMalformed, burnersim.FaultPastExpiry} {
		t.Run(fault.String(), func(t *testing.T) {
			f := newFixture(t)
			f.createSession("pay", nil)
			f.reconcile("pay")
			good := f.secret("pay")
			expiresAt := f.session("pay").Status.ExpiresAt.Time

			f.sim.FailNext(1000, fault)
			f.clock.SetTime(f.session("pay").Status.RefreshAt.Time)
			res := f.reconcile("pay")
			calls := f.sim.Calls().Total
			f.wantCondition("pay", burnerv1alpha1.ConditionSynced, metav1.ConditionFalse, burnerv1alpha1.ReasonUpstreamError)
			f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
			f.wantEvent(burnerv1alpha1.ReasonUpstreamError)
			if v, ok := f.sessionSeries("pay")["burner_session_refresh_failing"]; !ok || v != 1 {
				t.Fatalf("burner_session_refresh_failing = %v (exported: %v) while failing", v, ok)
			}
			if res.RequeueAfter < 10*time.Second || res.RequeueAfter > 13*time.Second {
				t.Fatalf("first backoff %s, want 10-12s", res.RequeueAfter)
			}

			// Reconciles inside the backoff window (events, resyncs) make no call.
			for range 5 {
				f.clock.Step(time.Second)
				f.reconcile("pay")
			}
			if got := f.sim.Calls().Total; got != calls {
				t.Fatalf("%d calls inside the backoff window", got-calls)
			}

			// Let time run to expiry, reconciling whenever the controller asks: the number of calls grows with the
			// log of the time, and the Secret keeps the last good token.
			for now := f.clock.Now(); now.Before(expiresAt); now = f.clock.Now() {
				f.clock.SetTime(now.Add(f.reconcile("pay").RequeueAfter))
			}
			if got := f.sim.Calls().Total; got > calls+4 {
				t.Fatalf("%d calls in %s of outage: a retry storm", got, expiresAt.Sub(f.session("pay").Status.RefreshAt.Time))
			}
			if s := f.secret("pay"); s.ResourceVersion != good.ResourceVersion {
				t.Fatal("a failed refresh touched the last good token")
			}
			f.reconcile("pay")
			f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, burnerv1alpha1.ReasonExpired)
			if st := f.session("pay").Status; st.FailedAttempts < 2 || st.LastFailureReason != burnerv1alpha1.ReasonUpstreamError {
				t.Fatalf("failure not recorded in status: %+v", st)
			}

			// Fault cleared: recovery within one backoff step.
			f.sim.FailNext(0, fault)
			f.clock.Step(f.reconcile("pay").RequeueAfter)
			f.reconcile("pay")
			f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
			f.wantCondition("pay", burnerv1alpha1.ConditionSynced, metav1.ConditionTrue, burnerv1alpha1.ReasonUpToDate)
			f.wantEvent("Recovered")
			if st := f.session("pay").Status; st.FailedAttempts != 0 || st.LastFailureTime != nil {
				t.Fatalf("failure record not cleared: %+v", st)
			}
			// A healthy session has no refresh-failing series (thousands of zeros would only cost memory).
			series := f.sessionSeries("pay")
			if _, failing := series["burner_session_refresh_failing"]; failing ||
				series["burner_token_expiration_timestamp_seconds"] != float64(f.session("pay").Status.ExpiresAt.Unix()) {
				t.Fatalf("series after recovery: %v", series)
			}
		})
	}
}

func TestBackoffSurvivesRestart(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.sim.FailNext(1000, burnersim.Fault500)
	f.reconcile("pay")
	f.reconcile("pay")
	f.r = f.newReconciler()
	f.reconcile("pay")
	if got := f.sim.Calls().Total; got != 1 {
		t.Fatalf("%d calls: a restart must not skip the backoff recorded in status", got)
	}
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, burnerv1alpha1.ReasonUpstreamError)
}

// TestInvalidAPIKeyWaitsForTheKeyToChange: 401 is retried only on a slow timer (15 to 30 minutes, so an upstream
// glitch does not stop the key's sessions for good); a new key version is tried at once.
func TestInvalidAPIKeyWaitsForTheKeyToChange(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.sim.RevokeKey(apiKey)
	res := f.reconcile("pay")
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, burnerv1alpha1.ReasonInvalidAPIKey)
	f.wantEvent(burnerv1alpha1.ReasonInvalidAPIKey)
	if res.RequeueAfter < 15*time.Minute || res.RequeueAfter > 31*time.Minute {
		t.Fatalf("401 requeued after %s; want the slow timer, 15 to 30 minutes", res.RequeueAfter)
	}
	for range 2 {
		f.clock.Step(7 * time.Minute)
		f.reconcile("pay")
	}
	if got := f.sim.Calls().Total; got != 1 {
		t.Fatalf("%d calls with a rejected key within 15 minutes", got)
	}
	f.clock.Step(17 * time.Minute)
	f.reconcile("pay")
	if got := f.sim.Calls().Total; got != 2 {
		t.Fatalf("%d calls after 31 minutes with a rejected key, want the slow retry's one more", got)
	}

	const rotated = "ak_test_rotated"
	f.sim.AddKey(rotated)
	key := f.secret("burner-api-key")
	key.Data[burnerv1alpha1.DefaultAPIKeySecretKey] = []byte(rotated)
	if err := env.Client.Update(f.ctx, key); err != nil {
		t.Fatal(err)
	}
	f.reconcile("pay")
	f.wantMints(1)
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
}

func TestMissingAPIKey(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ref    burnerv1alpha1.SecretKeySelector
		reason string
	}{
		{"Secret missing", burnerv1alpha1.SecretKeySelector{Name: "nope", Key: "apiKey"}, burnerv1alpha1.ReasonAPIKeySecretNotFound},
		{"key missing", burnerv1alpha1.SecretKeySelector{Name: "burner-api-key", Key: "other"}, burnerv1alpha1.ReasonAPIKeyMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.createSession("pay", func(bs *burnerv1alpha1.BurnerSession) { bs.Spec.APIKeySecretRef = tc.ref })
			if res := f.reconcile("pay"); res.RequeueAfter < 15*time.Minute {
				t.Fatalf("requeued after %s; the key Secret watch brings the session back, the timer is slow",
					res.RequeueAfter)
			}
			f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, tc.reason)
			f.wantEvent(tc.reason)
			f.wantMints(0)
			if tc.ref.Name == "nope" {
				f.createKey("nope", apiKey)
			} else {
				key := f.secret("burner-api-key")
				key.Data["other"] = []byte(apiKey)
				if err := env.Client.Update(f.ctx, key); err != nil {
					t.Fatal(err)
				}
			}
			f.reconcile("pay")
			f.wantMints(1)
		})
	}
}

func TestRateLimitedWaitsForRetryAfter(t *testing.T) {
	f := newFixture(t)
	f.sim.SetRateLimit(apiKey, 0.001, 1, 2*time.Second)
	// The per-key limiter honours Retry-After on the test's clock.
	api, err := burnerapi.New(f.apiURL, burnerapi.WithClock(f.clock),
		burnerapi.WithLimiter(burnerapi.NewKeyLimiter(1000, 1000, f.clock)))
	if err != nil {
		t.Fatal(err)
	}
	f.r.Minter.API = api
	for _, name := range []string{"a", "b", "c", "d"} {
		f.createSession(name, nil)
	}
	f.reconcile("a")
	// A session's first 429 with a short Retry-After is the limiter meeting the API's limit: it waits for
	// Retry-After without a word in status. The second in a row is recorded.
	res := f.reconcile("b")
	if st := f.session("b").Status; res.RequeueAfter < 2*time.Second || len(st.Conditions) != 0 {
		t.Fatalf("first 429: requeued after %s, status %+v; want a quiet wait for Retry-After", res.RequeueAfter, st)
	}
	f.clock.Step(3 * time.Second)
	res = f.reconcile("b")
	f.wantCondition("b", burnerv1alpha1.ConditionSynced, metav1.ConditionFalse, burnerv1alpha1.ReasonRateLimited)
	f.wantEvent(burnerv1alpha1.ReasonRateLimited)
	if res.RequeueAfter < 2*time.Second {
		t.Fatalf("requeued after %s, before Retry-After", res.RequeueAfter)
	}

	// A long Retry-After is a quota running out, not the limiter probing: recorded at the first 429.
	f.sim.SetRateLimit(apiKey, 0.001, 0, 30*time.Second)
	f.clock.Step(3 * time.Second)
	res = f.reconcile("c")
	f.wantCondition("c", burnerv1alpha1.ConditionSynced, metav1.ConditionFalse, burnerv1alpha1.ReasonRateLimited)
	if res.RequeueAfter < 30*time.Second {
		t.Fatalf("requeued after %s, before Retry-After", res.RequeueAfter)
	}
	// The shared per-key limiter holds back the other sessions of that key without calling the API, and without
	// writing a failure for them: they just come back after Retry-After.
	calls := f.sim.Calls().Total
	if res := f.reconcile("d"); res.RequeueAfter < 25*time.Second {
		t.Fatalf("held-back session requeued after %s", res.RequeueAfter)
	}
	if got := f.sim.Calls().Total; got != calls {
		t.Fatal("a session sharing the rate-limited key called the API before Retry-After")
	}
	if st := f.session("d").Status; st.FailedAttempts != 0 || len(st.Conditions) != 0 {
		t.Fatalf("a held-back session recorded a failure: %+v", st)
	}
}

// rejecting answers every call with a 400, which the CRD's validation makes hard to provoke through the simulator.
type rejecting struct{ calls int }

func (r *rejecting) CreateSession(context.Context, string, burnerapi.Request) (*burnerapi.Session, error) {
	r.calls++
	return nil, &burnerapi.Error{Kind: burnerapi.KindInvalidRequest, StatusCode: 400, Message: "rejected"}
}

// TestInvalidRequestWaitsForASpecChange: 400 waits for a new spec, retrying only on the slow timer meanwhile.
func TestInvalidRequestWaitsForASpecChange(t *testing.T) {
	f := newFixture(t)
	api := &rejecting{}
	f.r.Minter.API = api
	f.createSession("pay", nil)
	for range 3 {
		f.clock.Step(5 * time.Minute)
		if res := f.reconcile("pay"); res.RequeueAfter < 5*time.Minute {
			t.Fatalf("400 requeued after %s; want the slow timer, 15 to 30 minutes after the failure", res.RequeueAfter)
		}
	}
	if api.calls != 1 {
		t.Fatalf("%d calls for a rejected spec within 15 minutes", api.calls)
	}
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, burnerv1alpha1.ReasonInvalidRequest)
	f.update("pay", func(bs *burnerv1alpha1.BurnerSession) { bs.Spec.TTLSeconds = 600 })
	f.reconcile("pay")
	if api.calls != 2 {
		t.Fatalf("spec change did not retry (%d calls)", api.calls)
	}
	if st := f.session("pay").Status; st.FailedAttempts != 1 {
		t.Fatalf("a spec change must restart the failure count: %+v", st)
	}
}

// TestInvalidWalletMakesNoCall: an address that passes the CRD pattern but does not decode to 32 bytes.
func TestInvalidWalletMakesNoCall(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", func(bs *burnerv1alpha1.BurnerSession) {
		bs.Spec.WalletAddress = "1111111111111111111111111111111111111111"
	})
	f.reconcile("pay")
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, burnerv1alpha1.ReasonInvalidSpec)
	f.wantEvent(burnerv1alpha1.ReasonInvalidSpec)
	if got := f.sim.Calls().Total; got != 0 {
		t.Fatalf("%d API calls for an invalid wallet", got)
	}
}

// TestHeldBackByTheKeyLimiter: a session the shared per-key limiter defers is requeued without a call, a status
// write or an event; being held back is not a failure.
func TestHeldBackByTheKeyLimiter(t *testing.T) {
	f := newFixture(t)
	api, err := burnerapi.New(f.apiURL, burnerapi.WithClock(f.clock),
		burnerapi.WithLimiter(burnerapi.NewKeyLimiter(0.001, 1, clock.RealClock{})))
	if err != nil {
		t.Fatal(err)
	}
	f.r.Minter.API = api
	f.createSession("a", nil)
	f.createSession("b", nil)
	f.reconcile("a")
	before := f.session("b")
	res := f.reconcile("b")
	f.wantMints(1)
	if res.RequeueAfter < time.Second {
		t.Fatalf("held-back session requeued after %s", res.RequeueAfter)
	}
	if after := f.session("b"); after.ResourceVersion != before.ResourceVersion {
		t.Fatalf("status written for a held-back session: %+v", after.Status)
	}
	f.wantNoEvents()
}

// TestAPIKeyWhitespace: the newline a Secret made from a file ends with is dropped; a key that still cannot be sent
// is reported as unusable, with no call, and without claiming that the API rejected it.
func TestAPIKeyWhitespace(t *testing.T) {
	f := newFixture(t)
	f.createKey("from-file", apiKey+"\n")
	f.createKey("broken", "ak bad key")
	f.createSession("pay", func(bs *burnerv1alpha1.BurnerSession) { bs.Spec.APIKeySecretRef.Name = "from-file" })
	f.createSession("bad", func(bs *burnerv1alpha1.BurnerSession) { bs.Spec.APIKeySecretRef.Name = "broken" })
	f.reconcile("pay")
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
	calls := f.sim.Calls().Total
	f.reconcile("bad")
	if got := f.sim.Calls().Total; got != calls {
		t.Fatalf("%d calls with an unusable key", got-calls)
	}
	f.wantCondition("bad", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, burnerv1alpha1.ReasonInvalidAPIKey)
	if c := meta.FindStatusCondition(f.session("bad").Status.Conditions, burnerv1alpha1.ConditionSynced); c == nil ||
		!strings.Contains(c.Message, "unusable") || strings.Contains(c.Message, "rejected") ||
		strings.Contains(c.Message, "ak bad key") {
		t.Fatalf("Synced: %+v", c)
	}
}
