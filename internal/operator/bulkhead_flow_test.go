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
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/operator"
	"github.com/burner-operator/burner-operator/internal/operator/operatortest"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// TestHungIssuerDoesNotDelayAnotherIssuersSessions: with one BurnerIssuer pointing at an API that never answers,
// the sessions of another issuer are issued and refreshed at once; the hung API holds no more calls than its
// bulkhead allows, and once it has failed enough times in a row its sessions say its circuit is open.
func TestHungIssuerDoesNotDelayAnotherIssuersSessions(t *testing.T) {
	const (
		workers, bound  = 8, 2
		hungSessions    = 3 * workers
		healthySessions = 10
		callTimeout     = 5 * time.Second
		onTime          = callTimeout - time.Second // a session stuck behind a hung call waits a whole timeout
	)
	f := operatortest.NewFlow(t, env)
	hung := burnersim.New(burnersim.WithKeys(operatortest.APIKey))
	hung.FailRandomly(1, burnersim.FaultTimeout)
	hungURL, err := hung.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hung.Close)
	for name, url := range map[string]string{"healthy": f.URL, "hung": hungURL} {
		issuer := &burnerv1alpha1.BurnerIssuer{ObjectMeta: metav1.ObjectMeta{Namespace: f.NS, Name: name},
			Spec: burnerv1alpha1.BurnerIssuerSpec{URL: url,
				APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: operatortest.KeySecret}}}
		if err := env.Client.Create(f.Ctx, issuer); err != nil {
			t.Fatal(err)
		}
	}
	f.StartManager(func(o *operator.Options) {
		o.Concurrency, o.MaxInFlightPerHost, o.APITimeout = workers, bound, callTimeout
	})
	for i := range hungSessions {
		f.CreateIssuerSession(fmt.Sprintf("hung-%d", i), burnerv1alpha1.IssuerReference{Name: "hung"})
	}
	f.Eventually(10*time.Second, "calls hanging at the hung API", func() bool { return hung.Calls().InFlight >= bound })

	healthy := func(i int) string { return fmt.Sprintf("healthy-%d", i) }
	start := time.Now()
	for i := range healthySessions {
		f.CreateIssuerSession(healthy(i), burnerv1alpha1.IssuerReference{Name: "healthy"})
	}
	allHealthy := func(what string, done func(name string) bool) {
		t.Helper()
		f.Eventually(30*time.Second, what, func() bool {
			for i := range healthySessions {
				if !done(healthy(i)) {
					return false
				}
			}
			return true
		})
		if took := time.Since(start); took > onTime {
			t.Fatalf("%s took %s while another issuer's API hung: it waited behind the hung calls", what, took)
		}
	}
	allHealthy("the healthy issuer's sessions Ready", func(name string) bool {
		c := f.Condition(name, burnerv1alpha1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionTrue
	})
	start = time.Now()
	for i := range healthySessions {
		f.ForceRefresh(healthy(i), "1")
	}
	allHealthy("the healthy issuer's sessions refreshed", func(name string) bool {
		s := f.TokenSecret(name)
		return s != nil && s.Annotations[tokensecret.ForceRefreshAnnotation] == "1"
	})

	f.Eventually(60*time.Second, "a hung session saying the circuit is open", func() bool {
		for i := range hungSessions {
			c := f.Condition(fmt.Sprintf("hung-%d", i), burnerv1alpha1.ConditionReady)
			if c != nil && c.Reason == burnerv1alpha1.ReasonUpstreamError && strings.Contains(c.Message, "circuit open") {
				return true
			}
		}
		return false
	})
	if got := hung.Calls().MaxInFlight; got > bound {
		t.Fatalf("%d calls in flight at once to the hung API, want at most %d", got, bound)
	}
}
