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

// Package issuer answers one question for the mint path: where do a request's tokens come from? A request names
// either an issuer (a BurnerIssuer of its own namespace, or a ClusterBurnerIssuer, whose key lives in the cluster
// resource namespace) or an API key Secret of its own namespace; Resolve turns either into an Origin.
package issuer

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/failure"
)

// Origin is where a request's tokens come from.
type Origin struct {
	// URL is the API to call; "" for the manager's --burner-api-url.
	URL string
	// KeySecret and KeyField locate the API key.
	KeySecret client.ObjectKey
	KeyField  string
	// Policy is the issuer's, nil when there is none (or no issuer).
	Policy *burnerv1alpha1.IssuerPolicy
	// SecretTemplate is the issuer's default shape of its sessions' token Secrets (empty without an issuer).
	SecretTemplate burnerv1alpha1.SecretTemplate
	// NamespaceWeights are the issuer's shares of its key's rate by namespace (nil: all equal).
	NamespaceWeights map[string]int32
}

// Resolver reads issuers, through the manager's cache.
type Resolver struct {
	Reader client.Reader
	// ClusterResourceNamespace holds the key Secrets of ClusterBurnerIssuers.
	ClusterResourceNamespace string
	// URLs are the API URLs an issuer's spec.url may name (--allowed-api-urls and --burner-api-url); the zero value
	// allows none, leaving only issuers without spec.url usable.
	URLs burnerapi.AllowedURLs
}

// ErrUnchecked is returned for an issuer its reconciler has not checked yet (no Ready condition): not a refusal, the
// answer is a moment away, and its Ready condition appearing brings the session back.
var ErrUnchecked = errors.New("the issuer has not been checked yet")

// Resolve returns the Origin of a request made in namespace with an issuer reference, or else an inline key
// reference. A missing issuer, or one that is not Ready, is a refusal: a *failure.Error (IssuerNotFound,
// IssuerNotReady).
func (r Resolver) Resolve(
	ctx context.Context, namespace string, ref *burnerv1alpha1.IssuerReference, key burnerv1alpha1.SecretKeySelector,
) (Origin, error) {
	if ref == nil {
		return Origin{KeySecret: client.ObjectKey{Namespace: namespace, Name: key.Name}, KeyField: keyField(key)}, nil
	}
	obj, err := burnerv1alpha1.NewIssuer(ref.Kind)
	if err != nil {
		return Origin{}, failure.New(burnerv1alpha1.ReasonIssuerNotFound, "%s", err.Error())
	}
	name := client.ObjectKey{Namespace: namespace, Name: ref.Name}
	if obj.IssuerKind() == burnerv1alpha1.ClusterBurnerIssuerKind {
		name.Namespace = ""
	}
	if err := r.Reader.Get(ctx, name, obj); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return Origin{}, failure.New(burnerv1alpha1.ReasonIssuerNotFound, "%s %q not found%s", obj.IssuerKind(),
				ref.Name, servedNamespace(obj, namespace))
		}
		return Origin{}, err
	}
	ready := meta.FindStatusCondition(obj.GetStatus().Conditions, burnerv1alpha1.ConditionReady)
	if ready == nil {
		return Origin{}, ErrUnchecked
	}
	if ready.Status != metav1.ConditionTrue {
		return Origin{}, failure.New(burnerv1alpha1.ReasonIssuerNotReady, "%s %q is not ready (%s)", obj.IssuerKind(),
			ref.Name, ready.Reason)
	}
	// Checked again here, not only by the issuer's reconciler: a Ready condition from before the allowlist changed
	// (a manager restarted with other flags) must not let one key reach a host no longer allowed.
	if err := r.CheckURL(obj); err != nil {
		return Origin{}, err
	}
	keySecret, keyField := r.KeyOf(obj)
	spec := obj.GetSpec()
	return Origin{URL: spec.URL, Policy: spec.Policy, SecretTemplate: spec.SecretTemplate,
		NamespaceWeights: spec.NamespaceWeights, KeySecret: keySecret, KeyField: keyField}, nil
}

// CheckURL is the one check of an issuer's spec.url, for its Ready condition and for every request that uses it: a
// *failure.Error with reason InvalidURL (not https, or plain http to a host other than loopback, ...) or
// URLNotAllowed (not among r.URLs); nil when the URL is usable or empty (the manager's own, always allowed).
func (r Resolver) CheckURL(obj burnerv1alpha1.GenericIssuer) error {
	raw := obj.GetSpec().URL
	if raw == "" {
		return nil
	}
	u, err := burnerapi.ValidateBaseURL(raw)
	if err != nil {
		return failure.New(burnerv1alpha1.ReasonInvalidURL, "spec.url: %s", err.Error())
	}
	if !r.URLs.Allows(u) {
		return failure.New(burnerv1alpha1.ReasonURLNotAllowed,
			"spec.url: the operator may not send API keys to %s://%s (not in the manager's --allowed-api-urls)",
			u.Scheme, u.Host)
	}
	return nil
}

// KeyOf locates the API key of an issuer: its Secret (in the cluster resource namespace for a cluster-scoped
// issuer, in the issuer's own namespace for a BurnerIssuer) and the field that holds the key.
func (r Resolver) KeyOf(obj burnerv1alpha1.GenericIssuer) (client.ObjectKey, string) {
	namespace := obj.GetNamespace()
	if namespace == "" {
		namespace = r.ClusterResourceNamespace
	}
	ref := obj.GetSpec().APIKeySecretRef
	return client.ObjectKey{Namespace: namespace, Name: ref.Name}, keyField(ref)
}

// RefOf is the index key of the issuer a session references, "" when it references none: "ClusterBurnerIssuer/name"
// or "BurnerIssuer/namespace/name".
func RefOf(bs *burnerv1alpha1.BurnerSession) string {
	ref := bs.Spec.IssuerRef
	if ref == nil {
		return ""
	}
	if ref.Kind == burnerv1alpha1.ClusterBurnerIssuerKind {
		return indexKey(burnerv1alpha1.ClusterBurnerIssuerKind, "", ref.Name)
	}
	return indexKey(burnerv1alpha1.BurnerIssuerKind, bs.Namespace, ref.Name)
}

// IndexKey is the key under which the sessions referencing the issuer are indexed (RefOf).
func IndexKey(obj burnerv1alpha1.GenericIssuer) string {
	return indexKey(obj.IssuerKind(), obj.GetNamespace(), obj.GetName())
}

func indexKey(kind, namespace, name string) string {
	if namespace == "" {
		return kind + "/" + name
	}
	return kind + "/" + namespace + "/" + name
}

// servedNamespace says, of a BurnerIssuer not found, which namespace it was looked for in.
func servedNamespace(obj burnerv1alpha1.GenericIssuer, namespace string) string {
	if obj.IssuerKind() == burnerv1alpha1.ClusterBurnerIssuerKind {
		return ""
	}
	return fmt.Sprintf(" in namespace %q (a BurnerIssuer serves its own namespace only)", namespace)
}

func keyField(ref burnerv1alpha1.SecretKeySelector) string {
	if ref.Key == "" {
		return burnerv1alpha1.DefaultAPIKeySecretKey
	}
	return ref.Key
}
