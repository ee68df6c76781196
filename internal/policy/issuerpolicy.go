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
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// Request is a session's request as an issuer's policy judges it.
type Request struct {
	Session *burnerv1alpha1.BurnerSession
	// NamespaceLabels are the labels of the session's namespace.
	NamespaceLabels labels.Set
	// Policy is the issuer's; nil allows everything.
	Policy *burnerv1alpha1.IssuerPolicy
}

// Permitted says whether an issuer's policy allows a session's request, and if not, which rule it breaks. Every
// rule must hold; the first one broken is reported.
var Permitted = Chain[Request]{NamespaceSelected, WalletAllowed, ScopesAllowed, TTLAllowed}

func denied(format string, args ...any) (string, string, bool) {
	return burnerv1alpha1.ReasonPolicyDenied, fmt.Sprintf(format, args...), true
}

// NamespaceSelected is violated when the session's namespace is not selected by policy.namespaceSelector.
func NamespaceSelected(r Request) (string, string, bool) {
	if r.Policy == nil || r.Policy.NamespaceSelector == nil {
		return "", "", false
	}
	sel, err := metav1.LabelSelectorAsSelector(r.Policy.NamespaceSelector)
	if err != nil {
		return denied("the issuer's policy.namespaceSelector is invalid: %v", err)
	}
	if !sel.Matches(r.NamespaceLabels) {
		return denied("namespace %q is not selected by the issuer's policy.namespaceSelector", r.Session.Namespace)
	}
	return "", "", false
}

// WalletAllowed is violated when the wallet is not in policy.allowedWallets.
func WalletAllowed(r Request) (string, string, bool) {
	if r.Policy == nil || r.Policy.AllowedWallets == nil || slices.Contains(r.Policy.AllowedWallets, r.Session.Spec.WalletAddress) {
		return "", "", false
	}
	return denied("spec.walletAddress %s is not in the issuer's policy.allowedWallets", r.Session.Spec.WalletAddress)
}

// ScopesAllowed is violated when a scope asked for is not in policy.allowedScopes. A session that omits scopes asks
// for all of them; a disallowed scope is never silently dropped.
func ScopesAllowed(r Request) (string, string, bool) {
	if r.Policy == nil || r.Policy.AllowedScopes == nil {
		return "", "", false
	}
	asked, field := r.Session.Spec.Scopes, "spec.scopes"
	if len(asked) == 0 {
		asked = []burnerv1alpha1.Scope{burnerv1alpha1.ScopeWalletRead, burnerv1alpha1.ScopeTransactionsBuild,
			burnerv1alpha1.ScopeTransactionsSubmit}
		field = "spec.scopes (omitted: all scopes)"
	}
	for _, s := range asked {
		if !slices.Contains(r.Policy.AllowedScopes, s) {
			return denied("scope %q of %s is not in the issuer's policy.allowedScopes", s, field)
		}
	}
	return "", "", false
}

// TTLAllowed is violated when ttlSeconds exceeds policy.maxTTLSeconds.
func TTLAllowed(r Request) (string, string, bool) {
	if r.Policy == nil || r.Policy.MaxTTLSeconds == nil || r.Session.Spec.TTLSeconds <= *r.Policy.MaxTTLSeconds {
		return "", "", false
	}
	return denied("spec.ttlSeconds %d exceeds the issuer's policy.maxTTLSeconds %d", r.Session.Spec.TTLSeconds,
		*r.Policy.MaxTTLSeconds)
}
