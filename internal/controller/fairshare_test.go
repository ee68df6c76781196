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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
)

// TestNamespacesShareAnIssuersKeyFairly: sessions of two namespaces on one ClusterBurnerIssuer, with a key that
// allows one call a second. The first namespace's backlog does not hold back the second namespace's first session:
// it is the second namespace's turn as soon as the slots already held have passed.
func TestNamespacesShareAnIssuersKeyFairly(t *testing.T) {
	f := newFixture(t)
	api, err := burnerapi.New(f.apiURL, burnerapi.WithClock(f.clock),
		burnerapi.WithLimiter(burnerapi.NewKeyLimiter(1, 1, f.clock, burnerapi.WithRateCeiling(1))))
	if err != nil {
		t.Fatal(err)
	}
	f.r.Minter.API = api
	issuer := f.clusterIssuer(nil)
	var last time.Duration // the wait of the first namespace's last session
	for i := range 8 {
		name := fmt.Sprint("busy-", i)
		f.createSession(name, useIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, issuer))
		last = f.reconcile(name).RequeueAfter
	}
	f.wantMints(1)

	other := env.Namespace(t)
	bs := &burnerv1alpha1.BurnerSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "calm"},
		Spec:       burnerv1alpha1.BurnerSessionSpec{WalletAddress: wallet},
	}
	useIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, issuer)(bs)
	if err := env.Client.Create(f.ctx, bs); err != nil {
		t.Fatal(err)
	}
	res, err := f.r.Reconcile(f.ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(bs)})
	if err != nil {
		t.Fatal(err)
	}
	// Three slots are held (now, 1 s, 2 s); the other namespace's turn is the next one, at 3 s: it comes back when
	// that is within the limiter's 2 s horizon, at 2 s. The first namespace's last session comes back later.
	if res.RequeueAfter != 2*time.Second || last <= res.RequeueAfter {
		t.Fatalf("the other namespace waits %v, the first namespace's last session %v; want 2s, and longer",
			res.RequeueAfter, last)
	}
}
