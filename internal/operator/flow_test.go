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
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/operator"
	"github.com/burner-operator/burner-operator/internal/operator/operatortest"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// TestKeySecretChangeRetriggers runs the whole manager: a session whose key is rejected waits, and updating the
// API key Secret (not cached, watched by metadata only) brings it back without any timer, whatever labels the key
// Secret carries (with the managed-by label it is seen through the main cache instead).
func TestKeySecretChangeRetriggers(t *testing.T) {
	for _, labelled := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "managed-by label"}[labelled], func(t *testing.T) {
			f := operatortest.NewFlow(t, env)
			key := f.TokenSecret(operatortest.KeySecret)
			if labelled {
				key.Labels[tokensecret.ManagedByLabel] = tokensecret.ManagedByValue
				if err := env.Client.Update(f.Ctx, key); err != nil {
					t.Fatal(err)
				}
			}
			f.Sim.RevokeKey(operatortest.APIKey)
			f.StartManager(nil)
			f.CreateSession("pay", 300)
			f.WaitReason("pay", burnerv1alpha1.ConditionReady, "InvalidAPIKey")

			const rotated = "ak_test_flow_rotated_77aa"
			f.Sim.AddKey(rotated)
			key = f.TokenSecret(operatortest.KeySecret)
			key.Data["apiKey"] = []byte(rotated)
			if err := env.Client.Update(f.Ctx, key); err != nil {
				t.Fatal(err)
			}
			f.WaitReady("pay")
			if got := f.Sim.TotalMints(); got != 1 {
				t.Fatalf("%d mints", got)
			}
		})
	}
}

// TestManagerRestartMakesNoCalls: a new manager over valid tokens reads them from its cache and calls nothing.
func TestManagerRestartMakesNoCalls(t *testing.T) {
	f := operatortest.NewFlow(t, env)
	stop := f.StartManager(nil)
	for _, name := range []string{"a", "b", "c", "d"} {
		f.CreateSession(name, 300)
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		f.WaitReady(name)
	}
	stop()
	calls := f.Sim.Calls().Total
	if calls != 4 {
		t.Fatalf("%d calls for 4 sessions", calls)
	}
	mark := f.LogMark()
	f.StartManager(nil)
	f.WaitReconciled(mark, 1, "a", "b", "c", "d")
	if got := f.Sim.Calls().Total; got != calls {
		t.Fatalf("restarted manager made %d calls while every token was valid", got-calls)
	}
}

// TestTokenSecretDeletedIsRepaired: the owned-Secret watch repairs a deleted Secret from the token in memory.
func TestTokenSecretDeletedIsRepaired(t *testing.T) {
	f := operatortest.NewFlow(t, env)
	f.StartManager(nil)
	f.CreateSession("pay", 300)
	f.WaitReady("pay")
	token := string(f.TokenSecret("pay").Data[tokensecret.KeyToken])
	if err := env.Client.Delete(f.Ctx, f.TokenSecret("pay")); err != nil {
		t.Fatal(err)
	}
	f.Eventually(10*time.Second, "Secret recreated", func() bool {
		s := f.TokenSecret("pay")
		return s != nil && string(s.Data[tokensecret.KeyToken]) == token
	})
	if got := f.Sim.TotalMints(); got != 1 {
		t.Fatalf("%d mints", got)
	}
}

// TestLeaderElection: two managers, one leader; only the leader calls the API. When it stops, the other takes over.
func TestLeaderElection(t *testing.T) {
	f := operatortest.NewFlow(t, env)
	withLE := func(o *operator.Options) { o.Manager.LeaderElection = true }
	stopFirst := f.StartManager(withLE)
	f.CreateSession("a", 300)
	f.WaitReady("a")
	f.StartManager(withLE)
	f.CreateSession("b", 300)
	f.WaitReady("b")
	if got := f.Sim.TotalMints(); got != 2 {
		t.Fatalf("%d mints for 2 sessions with two managers running", got)
	}
	stopFirst() // releases the lease on the way out
	f.CreateSession("c", 300)
	f.WaitReady("c")
	if got := f.Sim.TotalMints(); got != 3 {
		t.Fatalf("%d mints after failover", got)
	}
}

// TestNeverServesAnExpiredToken runs at wall-clock speed with the shortest ttl: polling the Secret every 500 ms
// until it has held the first token and two refreshes (due at half of the 60 s lifetime), it never holds an expired
// one. The token in the Secret is the only deadline: a refresh too late for it fails the test as an expired token,
// and one merely slowed by a busy machine, with time to spare before that expiry, does not.
func TestNeverServesAnExpiredToken(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for over a minute of wall-clock time")
	}
	f := operatortest.NewFlow(t, env)
	f.StartManager(nil)
	f.CreateSession("pay", 60)
	f.WaitReady("pay")
	seen := map[string]bool{}
	for len(seen) < 3 {
		s := f.TokenSecret("pay")
		if s == nil {
			t.Fatal("token Secret disappeared")
		}
		exp, err := time.Parse(time.RFC3339, string(s.Data[tokensecret.KeyExpiresAt]))
		if err != nil || !time.Now().Before(exp) {
			t.Fatalf("Secret holds an expired token after %d refreshes (expiresAt %s, now %s)",
				len(seen)-1, exp, time.Now().UTC())
		}
		seen[string(s.Data[tokensecret.KeyToken])] = true
		time.Sleep(500 * time.Millisecond)
	}
	var short bool
	for _, e := range f.Events() {
		short = short || e.Reason == "ShortLifetime"
	}
	if !short {
		t.Fatal("no ShortLifetime event for a 60 s token")
	}
}

// TestSecretsNeverLeak drives a manager through issue, refresh, force-refresh, failures and recovery, then scans
// its logs (most verbose level), the events, the conditions and the metrics for the API key and every token.
func TestSecretsNeverLeak(t *testing.T) {
	f := operatortest.NewFlow(t, env, burnersim.WithMaxLifetime(61*time.Second))
	f.StartManager(nil)
	f.CreateSession("pay", 300)
	f.WaitReady("pay")
	tokens := map[string]bool{string(f.TokenSecret("pay").Data[tokensecret.KeyToken]): true}

	f.ForceRefresh("pay", "1")
	f.Eventually(10*time.Second, "force refresh", func() bool {
		tokens[string(f.TokenSecret("pay").Data[tokensecret.KeyToken])] = true
		return len(tokens) == 2
	})
	f.Sim.FailNext(1, burnersim.FaultMalformed)
	f.ForceRefresh("pay", "2")
	f.WaitReason("pay", burnerv1alpha1.ConditionSynced, "UpstreamError")
	f.Sim.RevokeKey(operatortest.APIKey)
	f.CreateSession("rejected", 300)
	f.WaitReason("rejected", burnerv1alpha1.ConditionReady, "InvalidAPIKey")

	var haystack strings.Builder
	haystack.WriteString(f.Logs.String())
	for _, e := range f.Events() {
		haystack.WriteString(e.Reason + " " + e.Note + "\n")
	}
	for _, name := range []string{"pay", "rejected"} {
		b := &burnerv1alpha1.BurnerSession{}
		if err := env.Client.Get(f.Ctx, clientKey(f.NS, name), b); err != nil {
			t.Fatal(err)
		}
		for _, c := range b.Status.Conditions {
			haystack.WriteString(c.Reason + " " + c.Message + "\n")
		}
	}
	haystack.WriteString(metricsText(t))
	text := haystack.String()
	if !strings.Contains(text, "burner_token_expiration_timestamp_seconds") || !strings.Contains(text, "InvalidAPIKey") {
		t.Fatal("the scan did not see the metrics and events it is meant to check")
	}
	for secret := range tokens {
		if secret == "" || strings.Contains(text, secret) {
			t.Fatal("a token appears in logs, events, conditions or metrics")
		}
		// JWTs share a header; look for the signature, the part unique to each token.
		if sig := secret[strings.LastIndex(secret, ".")+1:]; strings.Contains(text, sig) {
			t.Fatal("a token's signature appears in logs, events, conditions or metrics")
		}
	}
	if strings.Contains(text, operatortest.APIKey) {
		t.Fatal("the API key appears in logs, events, conditions or metrics")
	}
}

// TestSecretInTheWay: a foreign Secret at the token Secret's name (the default one, or spec.secretName) is left
// alone; removing it brings the session back with no timer, whatever labels it carried: unlabelled Secrets are seen
// through the metadata watch, those with the managed-by label (another session's, or someone's copy) through the
// main cache.
func TestSecretInTheWay(t *testing.T) {
	f := operatortest.NewFlow(t, env)
	inTheWay := map[string]map[string]string{
		"pay": nil, "custom-target": nil,
		"labelled": {tokensecret.ManagedByLabel: tokensecret.ManagedByValue},
	}
	for name, labels := range inTheWay {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.NS, Name: name, Labels: labels}}
		if err := env.Client.Create(f.Ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	f.StartManager(nil)
	f.CreateSession("pay", 300)
	f.CreateSession("labelled", 300)
	custom := &burnerv1alpha1.BurnerSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.NS, Name: "other"},
		Spec: burnerv1alpha1.BurnerSessionSpec{
			WalletAddress: operatortest.Wallet, TTLSeconds: 300, SecretName: "custom-target",
			APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: operatortest.KeySecret},
		},
	}
	if err := env.Client.Create(f.Ctx, custom); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pay", "other", "labelled"} {
		f.WaitReason(name, burnerv1alpha1.ConditionReady, "SecretNotOwned")
	}
	for name := range inTheWay {
		if err := env.Client.Delete(f.Ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.NS, Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"pay", "other", "labelled"} {
		f.WaitReady(name)
	}
	if s := f.TokenSecret("custom-target"); s == nil || len(s.Data[tokensecret.KeyToken]) == 0 {
		t.Fatal("no token in spec.secretName")
	}
	if got := f.Sim.TotalMints(); got != 3 {
		t.Fatalf("%d mints", got)
	}
}

// TestForeignSecretInTheWayIsNotRead: a foreign Secret at the token Secret's name is judged by its metadata alone
// (whose it is): the manager never reads it whole from the apiserver, so somebody else's data never reaches its
// memory.
func TestForeignSecretInTheWayIsNotRead(t *testing.T) {
	f := operatortest.NewFlow(t, env)
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.NS, Name: "pay"},
		Data: map[string][]byte{"password": []byte("somebody else's")}}
	if err := env.Client.Create(f.Ctx, foreign); err != nil {
		t.Fatal(err)
	}
	var wholeReads atomic.Int32
	path := "/api/v1/namespaces/" + f.NS + "/secrets/pay"
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodGet && req.URL.Path == path &&
				!strings.Contains(req.Header.Get("Accept"), "as=PartialObjectMetadata") {
				wholeReads.Add(1)
			}
			return next.RoundTrip(req)
		})
	})
	f.StartManagerWithConfig(cfg, nil)
	mark := f.LogMark()
	f.CreateSession("pay", 300)
	f.WaitReason("pay", burnerv1alpha1.ConditionReady, "SecretNotOwned")
	f.ForceRefresh("pay", "1")
	f.WaitReconciled(mark, 2, "pay")
	if n := wholeReads.Load(); n != 0 {
		t.Fatalf("the foreign Secret was read whole %d times", n)
	}
	if got := f.Sim.TotalMints(); got != 0 {
		t.Fatalf("%d mints", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
