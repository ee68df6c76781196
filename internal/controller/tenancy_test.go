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
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/policy"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// TestForceRefreshInALoopMintsAtMostOncePerInterval: `kubectl burner refresh` in a loop cannot spend the key. New
// force-refresh values within the interval after the last token are not lost: the session says when they will be
// answered (Synced reason and one event), comes back then, and one token answers the last of them.
func TestForceRefreshInALoopMintsAtMostOncePerInterval(t *testing.T) {
	f := newFixture(t)
	interval := policy.ForceRefreshMinInterval
	f.r.ForceRefreshInterval = interval
	f.createSession("pay", nil)
	f.reconcile("pay")
	issued := f.clock.Now()
	f.wantMints(1)
	until := issued.Add(interval)

	var res time.Duration
	last := ""
	for i := range 10 {
		last = fmt.Sprintf("loop-%d", i)
		f.update("pay", func(bs *burnerv1alpha1.BurnerSession) {
			bs.Annotations = map[string]string{burnerv1alpha1.ForceRefreshAnnotation: last}
		})
		res = f.reconcile("pay").RequeueAfter
		f.clock.Step(interval / 20)
	}
	f.wantMints(1)
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)
	f.wantCondition("pay", burnerv1alpha1.ConditionSynced, metav1.ConditionTrue,
		burnerv1alpha1.ReasonForceRefreshDeferred)
	if c := f.condition("pay", burnerv1alpha1.ConditionSynced); !strings.Contains(c.Message,
		until.UTC().Format(time.RFC3339)) {
		t.Fatalf("Synced message %q does not say when (%s)", c.Message, until.UTC().Format(time.RFC3339))
	}
	// The last reconcile, at issued + 9/20 of the interval, comes back when the interval has passed.
	if want := until.Sub(issued.Add(9 * interval / 20)); res < want || res > want+time.Second {
		t.Fatalf("requeued after %s, want the end of the interval, %s", res, want)
	}
	f.wantEvent(burnerv1alpha1.ReasonForceRefreshDeferred)
	f.wantNoEvents() // one event for the deferral, not one per value

	f.clock.SetTime(until)
	f.reconcile("pay")
	f.reconcile("pay")
	f.wantMints(2)
	if got := f.secret("pay").Annotations[tokensecret.ForceRefreshAnnotation]; got != last {
		t.Fatalf("the token answers force-refresh %q, want the last value %q", got, last)
	}
	f.wantCondition("pay", burnerv1alpha1.ConditionSynced, metav1.ConditionTrue, burnerv1alpha1.ReasonUpToDate)

	// The interval counts from that token: a value set right after it waits again.
	f.update("pay", func(bs *burnerv1alpha1.BurnerSession) {
		bs.Annotations[burnerv1alpha1.ForceRefreshAnnotation] = "after"
	})
	f.reconcile("pay")
	f.wantMints(2)
	f.wantCondition("pay", burnerv1alpha1.ConditionSynced, metav1.ConditionTrue,
		burnerv1alpha1.ReasonForceRefreshDeferred)
}

// TestForceRefreshDoesNotDelayADueRefresh: the interval only defers a token asked for by force-refresh alone; a
// token due for its refresh time, or for a new spec, is minted at once.
func TestForceRefreshDoesNotDelayADueRefresh(t *testing.T) {
	f := newFixture(t)
	f.r.ForceRefreshInterval = time.Hour // longer than the token lives
	f.createSession("pay", nil)
	f.reconcile("pay")
	f.update("pay", func(bs *burnerv1alpha1.BurnerSession) {
		bs.Annotations = map[string]string{burnerv1alpha1.ForceRefreshAnnotation: "1"}
	})
	f.reconcile("pay")
	f.wantMints(1)
	f.clock.SetTime(f.session("pay").Status.RefreshAt.Time)
	f.reconcile("pay")
	f.wantMints(2)
	f.update("pay", func(bs *burnerv1alpha1.BurnerSession) {
		bs.Annotations[burnerv1alpha1.ForceRefreshAnnotation] = "2"
		bs.Spec.TTLSeconds = 600
	})
	f.reconcile("pay")
	f.wantMints(3)
}

// TestCapacityCountsOnlyAdmittedSessions: sessions the issuer's policy refuses (a namespace it does not select, a
// place over maxSessionsPerNamespace) make no call, so they do not count in its demand: a denied namespace cannot
// raise a false DemandExceedsRate.
func TestCapacityCountsOnlyAdmittedSessions(t *testing.T) {
	f := newFixture(t)
	ns := &corev1.Namespace{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Name: f.ns}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels = map[string]string{"burner.aerosol.com/tenant": "yes"}
	if err := env.Client.Update(f.ctx, ns); err != nil {
		t.Fatal(err)
	}
	name := f.clusterIssuer(&burnerv1alpha1.IssuerPolicy{
		NamespaceSelector:       &metav1.LabelSelector{MatchLabels: ns.Labels},
		MaxSessionsPerNamespace: new(int32(1)),
	})
	denied := env.Namespace(t) // not selected
	for i := range 3 {
		f.createSession(fmt.Sprintf("s%d", i), useIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, name))
		bs := &burnerv1alpha1.BurnerSession{
			ObjectMeta: metav1.ObjectMeta{Namespace: denied, Name: fmt.Sprintf("s%d", i)},
			Spec:       burnerv1alpha1.BurnerSessionSpec{WalletAddress: wallet},
		}
		useIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, name)(bs)
		if err := env.Client.Create(f.ctx, bs); err != nil {
			t.Fatal(err)
		}
	}
	// Six sessions without a token yet need one call per 200 s (two thirds of their ttl) each, 0.03 calls/s; the
	// one admitted needs 0.005.
	f.checkIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, client.ObjectKey{Name: name}, fixedRate(0.006))
	ci := &burnerv1alpha1.ClusterBurnerIssuer{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Name: name}, ci); err != nil {
		t.Fatal(err)
	}
	if c := meta.FindStatusCondition(ci.Status.Conditions, burnerv1alpha1.ConditionCapacity); c == nil ||
		c.Status != metav1.ConditionTrue {
		t.Fatalf("Capacity %+v: refused sessions counted", c)
	}
	labels := map[string]string{"kind": burnerv1alpha1.ClusterBurnerIssuerKind, "namespace": "", "name": name}
	if d, _ := registered(t, "burner_issuer_demand_calls_per_second", labels); math.Abs(d-1.0/200) > 1e-9 {
		t.Fatalf("demand %v, want one admitted session's 1/200", d)
	}
}
