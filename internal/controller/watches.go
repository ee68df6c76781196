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
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/secrets"
)

// notASessionsSecret passes the events of main-cache Secrets that can matter to other than their owner: any
// deletion (a Secret in the way gone), and any change of a Secret no session controls (a key Secret with the
// managed-by label).
var notASessionsSecret = predicate.Funcs{
	CreateFunc:  func(e event.CreateEvent) bool { return !secrets.ControlledBySession(e.Object) },
	UpdateFunc:  func(e event.UpdateEvent) bool { return !secrets.ControlledBySession(e.ObjectNew) },
	DeleteFunc:  func(event.DeleteEvent) bool { return true },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// issuerChanged passes the issuer events its sessions must see: a new spec (policy, key, URL), a Ready that flips,
// creation and deletion. Other status writes are left out: a ClusterBurnerIssuer may serve thousands of sessions.
var issuerChanged = predicate.Or(predicate.GenerationChangedPredicate{}, predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		return readyOf(e.ObjectOld) != readyOf(e.ObjectNew)
	},
})

// seatLeft passes the session events that can free a place under an issuer's maxSessionsPerNamespace: a deletion,
// and a new spec (another issuer, or one its policy refuses). A new session never takes an admitted one's place.
var seatLeft = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	UpdateFunc:  func(e event.UpdateEvent) bool { return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() },
	DeleteFunc:  func(event.DeleteEvent) bool { return true },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// readyOf is an issuer's Ready status and reason, for telling whether it flipped.
func readyOf(obj client.Object) string {
	status := obj.(burnerv1alpha1.GenericIssuer).GetStatus()
	if c := meta.FindStatusCondition(status.Conditions, burnerv1alpha1.ConditionReady); c != nil {
		return string(c.Status) + "/" + c.Reason
	}
	return ""
}

// sessionsReferencing maps a Secret to the sessions that use it: as the API key or token Secret of their namespace
// (a session writing to its own name is found by that name rather than through the index, which so holds one set
// per API key instead of one per session), or as the key of the issuer they reference.
func (r *BurnerSessionReconciler) sessionsReferencing(ctx context.Context, secret client.Object) []reconcile.Request {
	reqs := r.sessionsMatching(ctx, client.InNamespace(secret.GetNamespace()),
		client.MatchingFields{secretRefsIndex: secret.GetName()})
	same := &burnerv1alpha1.BurnerSession{}
	if err := r.Get(ctx, client.ObjectKeyFromObject(secret), same); err == nil && same.Spec.SecretName == "" {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(same)})
	}
	for _, o := range issuersOfKey(ctx, r.Client, secret) {
		reqs = append(reqs, r.sessionsOfIssuer(ctx, o)...)
	}
	return reqs
}

// issuersOfKey lists the issuers, of both kinds, whose key is this Secret.
func issuersOfKey(ctx context.Context, c client.Reader, secret client.Object) []burnerv1alpha1.GenericIssuer {
	key := client.MatchingFields{keySecretIndex: client.ObjectKeyFromObject(secret).String()}
	var out []burnerv1alpha1.GenericIssuer
	var cluster burnerv1alpha1.ClusterBurnerIssuerList
	if err := c.List(ctx, &cluster, key); err == nil {
		for i := range cluster.Items {
			out = append(out, &cluster.Items[i])
		}
	}
	var namespaced burnerv1alpha1.BurnerIssuerList
	if err := c.List(ctx, &namespaced, client.InNamespace(secret.GetNamespace()), key); err == nil {
		for i := range namespaced.Items {
			out = append(out, &namespaced.Items[i])
		}
	}
	return out
}

// sessionsOfIssuer maps an issuer to the sessions that reference it.
func (r *BurnerSessionReconciler) sessionsOfIssuer(ctx context.Context, o client.Object) []reconcile.Request {
	return r.sessionsMatching(ctx, client.MatchingFields{issuerRefIndex: issuer.IndexKey(o.(burnerv1alpha1.GenericIssuer))})
}

// sessionsInNamespace maps a namespace whose labels changed to its sessions that use an issuer, whose
// namespaceSelector may now say otherwise.
func (r *BurnerSessionReconciler) sessionsInNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	var list burnerv1alpha1.BurnerSessionList
	if err := r.List(ctx, &list, client.InNamespace(ns.GetName()), client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		if ref := list.Items[i].Spec.IssuerRef; ref != nil && ref.Kind == burnerv1alpha1.ClusterBurnerIssuerKind {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return reqs
}

// sessionsMatching maps the sessions a list finds to requests. Only their names are read, so the cached objects are
// not copied: an issuer's change can map to thousands of sessions.
func (r *BurnerSessionReconciler) sessionsMatching(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	var list burnerv1alpha1.BurnerSessionList
	if err := r.List(ctx, &list, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}
