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

// Application is a request for tokens (a session's, or a pod volume's) as an issuer's policy judges it.
type Application struct {
	Namespace string
	// NamespaceLabels are the labels of the requester's namespace.
	NamespaceLabels labels.Set
	WalletAddress   string
	// Scopes asked for; none asks for all.
	Scopes     []burnerv1alpha1.Scope
	TTLSeconds int32
	// Policy is the issuer's; nil allows everything.
	Policy *burnerv1alpha1.IssuerPolicy
}

// Permitted says whether an issuer's policy allows a request, and if not, which rule it breaks. Every
// rule must hold; the first one broken is reported.
var Permitted = Chain[Application]{NamespaceSelected, WalletAllowed, ScopesAllowed, TTLAllowed}

func denied(format string, args ...any) (string, string, bool) {
	return burnerv1alpha1.ReasonPolicyDenied, fmt.Sprintf(format, args...), true
}

// NamespaceSelected is violated when the session's namespace is not selected by policy.namespaceSelector.
func NamespaceSelected(r Application) (string, string, bool) {
	if r.Policy == nil || r.Policy.NamespaceSelector == nil {
		return "", "", false
	}
	sel, err := metav1.LabelSelectorAsSelector(r.Policy.NamespaceSelector)
	if err != nil {
		return denied("the issuer's policy.namespaceSelector is invalid: %v", err)
	}
	if !sel.Matches(r.NamespaceLabels) {
		return denied("namespace %q is not selected by the issuer's policy.namespaceSelector", r.Namespace)
	}
	return "", "", false
}

// WalletAllowed is violated when the wallet is not in policy.allowedWallets.
func WalletAllowed(r Application) (string, string, bool) {
	if r.Policy == nil || r.Policy.AllowedWallets == nil || slices.Contains(r.Policy.AllowedWallets, r.WalletAddress) {
		return "", "", false
	}
	return denied("spec.walletAddress %s is not in the issuer's policy.allowedWallets", r.WalletAddress)
}

// ScopesAllowed is violated when a scope asked for is not in policy.allowedScopes. A session that omits scopes asks
// for all of them; a disallowed scope is never silently dropped.
func ScopesAllowed(r Application) (string, string, bool) {
	if r.Policy == nil || r.Policy.AllowedScopes == nil {
		return "", "", false
	}
	asked, field := r.Scopes, "spec.scopes"
	if len(asked) == 0 {
		asked = burnerv1alpha1.AllScopes()
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
func TTLAllowed(r Application) (string, string, bool) {
	if r.Policy == nil || r.Policy.MaxTTLSeconds == nil || r.TTLSeconds <= *r.Policy.MaxTTLSeconds {
		return "", "", false
	}
	return denied("spec.ttlSeconds %d exceeds the issuer's policy.maxTTLSeconds %d", r.TTLSeconds,
		*r.Policy.MaxTTLSeconds)
}
