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

// Package issuer answers one question for the BurnerSession reconciler: where do this session's tokens come from?
// A session names either an issuer (a BurnerIssuer of its own namespace, or a ClusterBurnerIssuer, whose key lives in
// the cluster resource namespace) or an API key Secret of its own namespace; Resolve turns either into a Source.
package issuer

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// Source is where a session's tokens come from.
type Source struct {
	// URL is the API to call; "" for the manager's --burner-api-url.
	URL string
	// KeySecret and KeyField locate the API key.
	KeySecret client.ObjectKey
	KeyField  string
	// Policy is the issuer's, nil when there is none (or no issuer).
	Policy *burnerv1alpha1.IssuerPolicy
}

// Resolver reads issuers, through the manager's cache.
type Resolver struct {
	Reader client.Reader
	// ClusterResourceNamespace holds the key Secrets of ClusterBurnerIssuers.
	ClusterResourceNamespace string
}

// ErrUnchecked is returned for an issuer its reconciler has not checked yet (no Ready condition): not a refusal, the
// answer is a moment away, and its Ready condition appearing brings the session back.
var ErrUnchecked = errors.New("the issuer has not been checked yet")

// Resolve returns the session's Source. A missing issuer, or one that is not Ready, is a refusal: its reason
// (IssuerNotFound, IssuerNotReady) and message are returned instead, with a nil error.
func (r Resolver) Resolve(ctx context.Context, bs *burnerv1alpha1.BurnerSession) (src Source, reason, message string, err error) {
	ref := bs.Spec.IssuerRef
	if ref == nil {
		key := bs.Spec.APIKeySecretRef
		return Source{KeySecret: client.ObjectKey{Namespace: bs.Namespace, Name: key.Name}, KeyField: keyField(key)},
			"", "", nil
	}
	var obj client.Object = &burnerv1alpha1.BurnerIssuer{}
	key := client.ObjectKey{Namespace: bs.Namespace, Name: ref.Name}
	if ref.Kind == burnerv1alpha1.ClusterBurnerIssuerKind {
		obj, key.Namespace = &burnerv1alpha1.ClusterBurnerIssuer{}, ""
	}
	if err = r.Reader.Get(ctx, key, obj); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return Source{}, burnerv1alpha1.ReasonIssuerNotFound, fmt.Sprintf("%s %q not found%s", kindOf(ref),
				ref.Name, inNamespace(ref, bs.Namespace)), nil
		}
		return Source{}, "", "", err
	}
	spec, status := Parts(obj)
	ready := meta.FindStatusCondition(status.Conditions, burnerv1alpha1.ConditionReady)
	if ready == nil {
		return Source{}, "", "", ErrUnchecked
	}
	if ready.Status != "True" {
		return Source{}, burnerv1alpha1.ReasonIssuerNotReady, fmt.Sprintf("%s %q is not ready (%s)", kindOf(ref),
			ref.Name, ready.Reason), nil
	}
	keySecret, keyField := r.KeyOf(obj)
	return Source{URL: spec.URL, Policy: spec.Policy, KeySecret: keySecret, KeyField: keyField}, "", "", nil
}

// KeyOf locates the API key of an issuer of either kind: its Secret (in the cluster resource namespace for a
// ClusterBurnerIssuer, in the issuer's own namespace for a BurnerIssuer) and the field that holds the key.
func (r Resolver) KeyOf(obj client.Object) (client.ObjectKey, string) {
	spec, _ := Parts(obj)
	namespace := obj.GetNamespace()
	if _, cluster := obj.(*burnerv1alpha1.ClusterBurnerIssuer); cluster {
		namespace = r.ClusterResourceNamespace
	}
	return client.ObjectKey{Namespace: namespace, Name: spec.APIKeySecretRef.Name}, keyField(spec.APIKeySecretRef)
}

// Parts returns the spec and status of either kind of issuer.
func Parts(obj client.Object) (*burnerv1alpha1.BurnerIssuerSpec, *burnerv1alpha1.BurnerIssuerStatus) {
	switch o := obj.(type) {
	case *burnerv1alpha1.ClusterBurnerIssuer:
		return &o.Spec, &o.Status
	case *burnerv1alpha1.BurnerIssuer:
		return &o.Spec, &o.Status
	}
	panic(fmt.Sprintf("not an issuer: %T", obj))
}

// RefOf is the index key of the issuer a session references, "" when it references none: "ClusterBurnerIssuer/name"
// or "BurnerIssuer/namespace/name".
func RefOf(bs *burnerv1alpha1.BurnerSession) string {
	ref := bs.Spec.IssuerRef
	if ref == nil {
		return ""
	}
	if ref.Kind == burnerv1alpha1.ClusterBurnerIssuerKind {
		return ClusterRef(ref.Name)
	}
	return NamespacedRef(bs.Namespace, ref.Name)
}

// ClusterRef and NamespacedRef are the index keys of a ClusterBurnerIssuer and of a BurnerIssuer.
func ClusterRef(name string) string { return burnerv1alpha1.ClusterBurnerIssuerKind + "/" + name }

func NamespacedRef(namespace, name string) string {
	return burnerv1alpha1.BurnerIssuerKind + "/" + namespace + "/" + name
}

func kindOf(ref *burnerv1alpha1.IssuerReference) string {
	if ref.Kind == "" {
		return burnerv1alpha1.BurnerIssuerKind
	}
	return ref.Kind
}

func inNamespace(ref *burnerv1alpha1.IssuerReference, namespace string) string {
	if ref.Kind == burnerv1alpha1.ClusterBurnerIssuerKind {
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
