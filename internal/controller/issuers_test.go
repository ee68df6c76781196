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

	"golang.org/x/time/rate"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/policy"
)

// TestClusterIssuerKeyStaysWithThePlatform: a session in an app namespace gets a token from a ClusterBurnerIssuer
// whose key Secret lives only in the cluster resource namespace, which a user with BurnerSession rights in the app
// namespace cannot read.
func TestClusterIssuerKeyStaysWithThePlatform(t *testing.T) {
	f := newFixture(t)
	if err := env.Client.Delete(f.ctx, f.secret("burner-api-key")); err != nil {
		t.Fatal(err)
	}
	name := f.clusterIssuer(nil)
	f.createSession("pay", useIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, name))
	f.reconcile("pay")
	f.wantMints(1)
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid)

	// An app team member with the editor role for sessions in their namespace.
	editor := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "alice-sessions"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "alice"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "burnersession-editor-" + f.ns},
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: editor.RoleRef.Name}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{burnerv1alpha1.GroupVersion.Group}, Resources: []string{"burnersessions"},
		Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"},
	}}}
	for _, o := range []client.Object{role, editor} {
		if err := env.Client.Create(f.ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	asAlice := rest.CopyConfig(env.Config)
	asAlice.Impersonate = rest.ImpersonationConfig{UserName: "alice"}
	alice, err := client.New(asAlice, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	may := func(verb, group, resource, namespace string) bool {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: verb, Group: group, Resource: resource, Namespace: namespace,
			}}}
		if err := alice.Create(f.ctx, review); err != nil {
			t.Fatal(err)
		}
		return review.Status.Allowed
	}
	if !may("create", burnerv1alpha1.GroupVersion.Group, "burnersessions", f.ns) {
		t.Fatal("the app team cannot create sessions")
	}
	for _, ns := range []string{clusterResourceNamespace, f.ns} {
		if may("get", "", "secrets", ns) || may("list", "", "secrets", ns) {
			t.Fatalf("a session creator can read Secrets in %s", ns)
		}
	}
}

// TestRefusedWithoutCall: what an issuer's policy forbids, an issuer that does not exist or serves another
// namespace, and a key Secret that does not opt in, are refused before any call, with the rule named.
func TestRefusedWithoutCall(t *testing.T) {
	wallets := []string{wallet2}
	scopes := []burnerv1alpha1.Scope{burnerv1alpha1.ScopeWalletRead}
	maxTTL := int32(120)
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"burner.aerosol.com/tenant": "yes"}}
	for _, tc := range []struct {
		name   string
		policy *burnerv1alpha1.IssuerPolicy
		edit   func(*burnerv1alpha1.BurnerSession)
		reason string
		names  string // what the message must name
	}{
		{name: "namespace outside the selector", policy: &burnerv1alpha1.IssuerPolicy{NamespaceSelector: selector},
			reason: burnerv1alpha1.ReasonPolicyDenied, names: "namespaceSelector"},
		{name: "wallet not allowed", policy: &burnerv1alpha1.IssuerPolicy{AllowedWallets: wallets},
			reason: burnerv1alpha1.ReasonPolicyDenied, names: "allowedWallets"},
		{name: "scope not allowed", policy: &burnerv1alpha1.IssuerPolicy{AllowedScopes: scopes},
			edit: func(bs *burnerv1alpha1.BurnerSession) {
				bs.Spec.Scopes = []burnerv1alpha1.Scope{burnerv1alpha1.ScopeWalletRead, burnerv1alpha1.ScopeTransactionsSubmit}
			}, reason: burnerv1alpha1.ReasonPolicyDenied, names: `"transactions:submit" of spec.scopes`},
		{name: "omitted scopes ask for all", policy: &burnerv1alpha1.IssuerPolicy{AllowedScopes: scopes},
			reason: burnerv1alpha1.ReasonPolicyDenied, names: "omitted: all scopes"},
		{name: "ttl above the maximum", policy: &burnerv1alpha1.IssuerPolicy{MaxTTLSeconds: &maxTTL},
			reason: burnerv1alpha1.ReasonPolicyDenied, names: "maxTTLSeconds 120"},
		{name: "issuer missing", edit: useIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, "nope"),
			reason: burnerv1alpha1.ReasonIssuerNotFound, names: `"nope" not found`},
		{name: "BurnerIssuer of another namespace", edit: useIssuer(burnerv1alpha1.BurnerIssuerKind, "elsewhere"),
			reason: burnerv1alpha1.ReasonIssuerNotFound, names: "serves its own namespace only"},
		{name: "key Secret not labelled", edit: func(bs *burnerv1alpha1.BurnerSession) {
			bs.Spec.IssuerRef, bs.Spec.APIKeySecretRef.Name = nil, "unlabelled"
		}, reason: burnerv1alpha1.ReasonAPIKeySecretNotLabelled, names: burnerv1alpha1.APIKeyLabel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			name := f.clusterIssuer(tc.policy)
			other := env.Namespace(t) // a BurnerIssuer there, named as the session asks, serves only that namespace
			if err := env.Client.Create(f.ctx, &burnerv1alpha1.BurnerIssuer{
				ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: "elsewhere"},
				Spec: burnerv1alpha1.BurnerIssuerSpec{
					APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: "burner-api-key"}},
			}); err != nil {
				t.Fatal(err)
			}
			unlabelled := f.createKey("unlabelled", apiKey)
			delete(unlabelled.Labels, burnerv1alpha1.APIKeyLabel)
			if err := env.Client.Update(f.ctx, unlabelled); err != nil {
				t.Fatal(err)
			}
			f.createSession("pay", func(bs *burnerv1alpha1.BurnerSession) {
				useIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, name)(bs)
				if tc.edit != nil {
					tc.edit(bs)
				}
			})
			f.reconcile("pay")
			if got := f.sim.Calls().Received; got != 0 {
				t.Fatalf("%d calls", got)
			}
			f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, tc.reason)
			f.wantEvent(tc.reason)
			if c := f.condition("pay", burnerv1alpha1.ConditionReady); !strings.Contains(c.Message, tc.names) ||
				strings.Contains(c.Message, apiKey) {
				t.Fatalf("message %q does not name %q (or names the key)", c.Message, tc.names)
			}
		})
	}
}

// TestRefusalLeavesTheTokenToExpire: a policy tightened under a session with a valid token shows on Ready at once;
// the token stays in the Secret, untouched, and is not refreshed; a deleted issuer likewise.
func TestRefusalLeavesTheTokenToExpire(t *testing.T) {
	f := newFixture(t)
	name := f.clusterIssuer(nil)
	f.createSession("pay", useIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, name))
	f.reconcile("pay")
	before := f.secret("pay")

	ci := &burnerv1alpha1.ClusterBurnerIssuer{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Name: name}, ci); err != nil {
		t.Fatal(err)
	}
	ci.Spec.Policy = &burnerv1alpha1.IssuerPolicy{AllowedWallets: []string{wallet2}}
	if err := env.Client.Update(f.ctx, ci); err != nil {
		t.Fatal(err)
	}
	f.reconcile("pay")
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, burnerv1alpha1.ReasonPolicyDenied)
	f.clock.Step(4 * time.Minute) // past the refresh time
	f.reconcile("pay")
	f.wantMints(1)

	if err := env.Client.Delete(f.ctx, ci); err != nil {
		t.Fatal(err)
	}
	f.reconcile("pay")
	f.wantCondition("pay", burnerv1alpha1.ConditionReady, metav1.ConditionFalse, burnerv1alpha1.ReasonIssuerNotFound)
	f.wantMints(1)
	if after := f.secret("pay"); after.ResourceVersion != before.ResourceVersion {
		t.Fatal("the token Secret was touched")
	}
}

// TestIssuerReadyCondition: an issuer is Ready when its key Secret exists, opts in and holds a key; checking it
// makes no API call.
func TestIssuerReadyCondition(t *testing.T) {
	f := newFixture(t)
	issuer := &burnerv1alpha1.BurnerIssuer{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "team"},
		Spec:       burnerv1alpha1.BurnerIssuerSpec{APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: "team-key"}},
	}
	if err := env.Client.Create(f.ctx, issuer); err != nil {
		t.Fatal(err)
	}
	wantReady := func(status metav1.ConditionStatus, reason string) {
		t.Helper()
		f.checkIssuer(burnerv1alpha1.BurnerIssuerKind, client.ObjectKeyFromObject(issuer))
		got := &burnerv1alpha1.BurnerIssuer{}
		if err := env.Client.Get(f.ctx, client.ObjectKeyFromObject(issuer), got); err != nil {
			t.Fatal(err)
		}
		c := got.Status.Conditions
		if len(c) != 1 || c[0].Status != status || c[0].Reason != reason || got.Status.ObservedGeneration != got.Generation {
			t.Fatalf("status %+v, want Ready=%s %s", got.Status, status, reason)
		}
	}
	wantReady(metav1.ConditionFalse, burnerv1alpha1.ReasonAPIKeySecretNotFound)
	key := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "team-key"},
		Data: map[string][]byte{"apiKey": []byte(apiKey)}}
	if err := env.Client.Create(f.ctx, key); err != nil {
		t.Fatal(err)
	}
	wantReady(metav1.ConditionFalse, burnerv1alpha1.ReasonAPIKeySecretNotLabelled)
	key.Labels = map[string]string{burnerv1alpha1.APIKeyLabel: "true"}
	key.Data = map[string][]byte{"other": []byte(apiKey)}
	if err := env.Client.Update(f.ctx, key); err != nil {
		t.Fatal(err)
	}
	wantReady(metav1.ConditionFalse, burnerv1alpha1.ReasonAPIKeyMissing)
	key.Data = map[string][]byte{"apiKey": []byte(apiKey)}
	if err := env.Client.Update(f.ctx, key); err != nil {
		t.Fatal(err)
	}
	wantReady(metav1.ConditionTrue, burnerv1alpha1.ReasonKeyAvailable)
	if got := f.sim.Calls().Received; got != 0 {
		t.Fatalf("checking the issuer made %d calls", got)
	}
}

// fixedRate is a limiter that allows the same rate with every key.
type fixedRate rate.Limit

func (r fixedRate) Rate(string) rate.Limit { return rate.Limit(r) }

// TestIssuerSaysWhenDemandExceedsTheRate: the calls per second an issuer's sessions need (one per refresh interval
// each) are weighed against the rate the per-key limiter allows with its key, regularly; when they do not fit, the
// issuer's Capacity condition and a Warning event say so, with both figures, as the metrics do.
func TestIssuerSaysWhenDemandExceedsTheRate(t *testing.T) {
	f := newFixture(t)
	name := f.clusterIssuer(nil)
	for _, s := range []string{"a", "b", "c"} {
		f.createSession(s, useIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, name))
		f.reconcile(s) // ttl 300: refreshed every 165 to 180 s, about 0.006 calls/s each
	}
	capacity := func() *metav1.Condition {
		ci := &burnerv1alpha1.ClusterBurnerIssuer{}
		if err := env.Client.Get(f.ctx, client.ObjectKey{Name: name}, ci); err != nil {
			t.Fatal(err)
		}
		return meta.FindStatusCondition(ci.Status.Conditions, burnerv1alpha1.ConditionCapacity)
	}
	if res := f.checkIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, client.ObjectKey{Name: name}, fixedRate(1)); res.RequeueAfter != capacityInterval {
		t.Fatalf("requeued after %s: capacity is weighed every %s", res.RequeueAfter, capacityInterval)
	}
	if c := capacity(); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("Capacity %+v with room to spare", c)
	}
	f.checkIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, client.ObjectKey{Name: name}, fixedRate(0.01))
	c := capacity()
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != burnerv1alpha1.ReasonDemandExceedsRate ||
		!strings.Contains(c.Message, "need 0.0") || !strings.Contains(c.Message, "allows 0.0") {
		t.Fatalf("Capacity %+v, want False DemandExceedsRate with both figures", c)
	}
	f.wantEvent(burnerv1alpha1.ReasonDemandExceedsRate)
	labels := map[string]string{"kind": burnerv1alpha1.ClusterBurnerIssuerKind, "namespace": "", "name": name}
	// Each ttl-300 token is refreshed with the lead max(L/3, the mount-sync margin) plus up to 5 % of L of jitter
	// left: from 300 s - lead - 15 s to 300 s - lead after issue.
	latest := 300 - max(100, policy.MountSyncMargin.Seconds())
	if d, _ := registered(t, "burner_issuer_demand_calls_per_second", labels); d < 3/latest || d > 3/(latest-15) {
		t.Fatalf("demand metric %v, want 3 sessions over %.0f to %.0f s each", d, latest-15, latest)
	}

	// An issuer that is not Ready has no key to weigh: its Capacity and its series go, rather than stay stale.
	ci := &burnerv1alpha1.ClusterBurnerIssuer{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Name: name}, ci); err != nil {
		t.Fatal(err)
	}
	ci.Spec.APIKeySecretRef.Name = "missing"
	if err := env.Client.Update(f.ctx, ci); err != nil {
		t.Fatal(err)
	}
	f.checkIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, client.ObjectKey{Name: name}, fixedRate(0.01))
	if c := capacity(); c != nil {
		t.Fatalf("an issuer that is not Ready keeps Capacity %+v", c)
	}
	_, demand := registered(t, "burner_issuer_demand_calls_per_second", labels)
	if _, allowed := registered(t, "burner_issuer_allowed_calls_per_second", labels); demand || allowed {
		t.Fatal("capacity series left for an issuer that is not Ready")
	}
}
