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

package policy

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// TestPermitted: every rule of an issuer's policy must hold, an absent rule allows all, and a session that omits
// scopes asks for all three.
func TestPermitted(t *testing.T) {
	const wallet = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"
	ttl := func(n int32) *int32 { return &n }
	read := []burnerv1alpha1.Scope{burnerv1alpha1.ScopeWalletRead}
	all := []burnerv1alpha1.Scope{burnerv1alpha1.ScopeWalletRead, burnerv1alpha1.ScopeTransactionsBuild,
		burnerv1alpha1.ScopeTransactionsSubmit}
	for _, tc := range []struct {
		name    string
		policy  *burnerv1alpha1.IssuerPolicy
		scopes  []burnerv1alpha1.Scope
		labels  labels.Set
		allowed bool
	}{
		{name: "no policy", allowed: true},
		{name: "empty policy", policy: &burnerv1alpha1.IssuerPolicy{}, allowed: true},
		{name: "selected namespace", labels: labels.Set{"team": "a"}, allowed: true, policy: &burnerv1alpha1.IssuerPolicy{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}},
		{name: "other namespace", labels: labels.Set{"team": "b"}, policy: &burnerv1alpha1.IssuerPolicy{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}},
		{name: "empty selector selects all", allowed: true, policy: &burnerv1alpha1.IssuerPolicy{
			NamespaceSelector: &metav1.LabelSelector{}}},
		{name: "wallet listed", allowed: true, policy: &burnerv1alpha1.IssuerPolicy{AllowedWallets: []string{wallet}}},
		{name: "wallet not listed", policy: &burnerv1alpha1.IssuerPolicy{AllowedWallets: []string{}}},
		{name: "scopes within", scopes: read, allowed: true, policy: &burnerv1alpha1.IssuerPolicy{AllowedScopes: read}},
		{name: "omitted scopes, some allowed", policy: &burnerv1alpha1.IssuerPolicy{AllowedScopes: read}},
		{name: "omitted scopes, all allowed", allowed: true, policy: &burnerv1alpha1.IssuerPolicy{AllowedScopes: all}},
		{name: "ttl at the maximum", allowed: true, policy: &burnerv1alpha1.IssuerPolicy{MaxTTLSeconds: ttl(300)}},
		{name: "ttl above", policy: &burnerv1alpha1.IssuerPolicy{MaxTTLSeconds: ttl(299)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs := &burnerv1alpha1.BurnerSession{ObjectMeta: metav1.ObjectMeta{Namespace: "ns"},
				Spec: burnerv1alpha1.BurnerSessionSpec{WalletAddress: wallet, Scopes: tc.scopes, TTLSeconds: 300}}
			reason, message, denied := Permitted.Evaluate(Application{Namespace: bs.Namespace, NamespaceLabels: tc.labels,
				WalletAddress: bs.Spec.WalletAddress, Scopes: bs.Spec.Scopes, TTLSeconds: bs.Spec.TTLSeconds, Policy: tc.policy})
			if denied == tc.allowed || denied && (reason != burnerv1alpha1.ReasonPolicyDenied || message == "") {
				t.Fatalf("denied=%v %s %q, want allowed=%v", denied, reason, message, tc.allowed)
			}
		})
	}
}
