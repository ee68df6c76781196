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
	"errors"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// Field indexes: sessions by the names of the Secrets they reference in their namespace (an inline API key Secret,
// a token Secret named in spec.secretName), sessions by the issuer they reference (issuer.RefOf), and issuers by
// their key Secret ("namespace/name").
const (
	secretRefsIndex = "burner.aerosol.com/secret-refs"
	issuerRefIndex  = "burner.aerosol.com/issuer-ref"
	keySecretIndex  = "burner.aerosol.com/key-secret"
)

// CacheOptions scopes the manager's cache: Secrets are cached only when they carry the managed-by label, so the
// operator does not hold every Secret of the cluster in memory, and of those only the Secrets a BurnerSession
// controls are kept whole (anyone who can create a Secret can add the label). Managed fields are stripped from every
// object, and kubectl's last-applied-configuration (a copy of the whole spec) from sessions: the operator never
// writes a session's metadata, so the stripped copy cannot leak back into the apiserver. Token Secrets keep theirs,
// as an update of the cached copy would drop it.
func CacheOptions(watchNamespaces []string) cache.Options {
	return cache.Options{
		DefaultNamespaces: namespaces(watchNamespaces),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {
				Label:     labels.SelectorFromSet(labels.Set{tokensecret.ManagedByLabel: tokensecret.ManagedByValue}),
				Transform: trimSecret,
			},
			&burnerv1alpha1.BurnerSession{}: {Transform: trimSession},
		},
		DefaultTransform: cache.TransformStripManagedFields(),
	}
}

// trimSecret keeps a Secret whole only if a BurnerSession controls it; of any other, the metadata that says whose
// it is. The operator never writes a Secret it does not control, and reads API keys straight from the apiserver.
func trimSecret(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	s.ManagedFields = nil
	if !controlledBySession(s) {
		s.Data, s.StringData, s.Annotations = nil, nil, nil
	}
	return s, nil
}

// controlledBySession says whether a BurnerSession is the object's controller.
func controlledBySession(obj metav1.Object) bool {
	owner := metav1.GetControllerOf(obj)
	return owner != nil && owner.Kind == "BurnerSession" &&
		strings.HasPrefix(owner.APIVersion, burnerv1alpha1.GroupVersion.Group+"/")
}

// trimSession drops what the operator never reads from a session before it is cached.
func trimSession(obj any) (any, error) {
	if bs, ok := obj.(*burnerv1alpha1.BurnerSession); ok {
		bs.ManagedFields = nil
		delete(bs.Annotations, corev1.LastAppliedConfigAnnotation)
	}
	return obj, nil
}

// Setup registers the BurnerSession controller and the two issuer controllers, which share a reader of key Secrets
// and a second, metadata-only cache of every Secret without the managed-by label (the main cache holds those with
// it). Through it a change of an API key Secret, or the removal of a foreign Secret in the way, brings back the
// sessions and issuers that reference it; key Secrets are read directly, only when a token is minted or an issuer
// checked. Leaving token Secrets out of it spares the apiserver a second stream of every token write. Secrets that
// do carry the label are watched through the main cache for the same purposes (a key Secret or a Secret in the way
// can carry it too): any deletion, and any change of a Secret no session controls.
func Setup(mgr ctrl.Manager, r *BurnerSessionReconciler, opts SetupOptions) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if err := addIndexes(mgr.GetFieldIndexer(), r.ClusterResourceNamespace); err != nil {
		return err
	}
	notOurs, err := labels.NewRequirement(tokensecret.ManagedByLabel, selection.NotEquals,
		[]string{tokensecret.ManagedByValue})
	if err != nil {
		return err
	}
	secretMeta, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(), DefaultTransform: keepIdentity,
		DefaultLabelSelector: labels.NewSelector().Add(*notOurs),
		DefaultNamespaces:    namespaces(opts.Namespaces),
	})
	if err != nil {
		return err
	}
	if err := mgr.Add(secretMeta); err != nil {
		return err
	}
	r.secrets = &secretReader{cache: mgr.GetCache(), otherSecrets: secretMeta, apiServer: r.APIReader, clock: r.Clock}
	sessionMetrics.use(mgr.GetCache(), mgr.Elected())

	secretEvents := func(h handler.EventHandler) (client.Object, handler.EventHandler, builder.WatchesOption) {
		return &corev1.Secret{}, h, builder.WithPredicates(notASessionsSecret)
	}
	secretMetaEvents := func(h handler.TypedEventHandler[client.Object, reconcile.Request]) source.Source {
		return source.Kind(secretMeta, client.Object(secretMetadata()), h)
	}
	toSessions := handler.EnqueueRequestsFromMapFunc(r.sessionsReferencing)
	err = ctrl.NewControllerManagedBy(mgr).
		// force-refresh is an annotation and does not bump the generation; status-only writes are ignored.
		For(&burnerv1alpha1.BurnerSession{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.Secret{}).
		Watches(secretEvents(toSessions)).
		WatchesRawSource(secretMetaEvents(toSessions)).
		Watches(&burnerv1alpha1.ClusterBurnerIssuer{}, handler.EnqueueRequestsFromMapFunc(r.sessionsOfIssuer),
			builder.WithPredicates(issuerChanged)).
		Watches(&burnerv1alpha1.BurnerIssuer{}, handler.EnqueueRequestsFromMapFunc(r.sessionsOfIssuer),
			builder.WithPredicates(issuerChanged)).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.sessionsInNamespace),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		WithOptions(opts.Controller).
		Named("burnersession").
		Complete(r)
	if err != nil {
		return err
	}
	for _, ir := range []*IssuerReconciler{{Cluster: true}, {}} {
		ir.Client, ir.Recorder, ir.secrets, ir.ClusterResourceNamespace, ir.Limiter =
			mgr.GetClient(), r.Recorder, r.secrets, r.ClusterResourceNamespace, opts.Limiter
		toIssuers := handler.EnqueueRequestsFromMapFunc(ir.issuersOfKey)
		err := ctrl.NewControllerManagedBy(mgr).
			For(ir.newObject(), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
			Watches(secretEvents(toIssuers)).
			WatchesRawSource(secretMetaEvents(toIssuers)).
			Named(strings.ToLower(ir.kind())).
			Complete(ir)
		if err != nil {
			return err
		}
	}
	return nil
}

// SetupOptions configure the controllers.
type SetupOptions struct {
	// Controller configures the BurnerSession controller (its concurrency).
	Controller controller.Options
	// Namespaces limits the Secrets watched to these namespaces (the manager's cache must be limited alike); empty:
	// all namespaces.
	Namespaces []string
	// Limiter is the per-key limiter the issuers' Capacity weighs their demand against; nil: no Capacity.
	Limiter RateReporter
}

// namespaces is a cache's DefaultNamespaces for a list of namespaces; nil (all) for none.
func namespaces(list []string) map[string]cache.Config {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]cache.Config, len(list))
	for _, ns := range list {
		m[ns] = cache.Config{}
	}
	return m
}

// addIndexes registers the field indexes the watches map through.
func addIndexes(indexer client.FieldIndexer, clusterResourceNamespace string) error {
	ctx := context.Background()
	return errors.Join(
		indexer.IndexField(ctx, &burnerv1alpha1.BurnerSession{}, secretRefsIndex, func(o client.Object) []string {
			spec := o.(*burnerv1alpha1.BurnerSession).Spec
			var names []string
			for _, name := range []string{spec.APIKeySecretRef.Name, spec.SecretName} {
				if name != "" {
					names = append(names, name)
				}
			}
			return names
		}),
		indexer.IndexField(ctx, &burnerv1alpha1.BurnerSession{}, issuerRefIndex, func(o client.Object) []string {
			if ref := issuer.RefOf(o.(*burnerv1alpha1.BurnerSession)); ref != "" {
				return []string{ref}
			}
			return nil
		}),
		indexer.IndexField(ctx, &burnerv1alpha1.ClusterBurnerIssuer{}, keySecretIndex, func(o client.Object) []string {
			return []string{clusterResourceNamespace + "/" + o.(*burnerv1alpha1.ClusterBurnerIssuer).Spec.APIKeySecretRef.Name}
		}),
		indexer.IndexField(ctx, &burnerv1alpha1.BurnerIssuer{}, keySecretIndex, func(o client.Object) []string {
			return []string{o.GetNamespace() + "/" + o.(*burnerv1alpha1.BurnerIssuer).Spec.APIKeySecretRef.Name}
		}),
	)
}

// notASessionsSecret passes the events of main-cache Secrets that can matter to other than their owner: any
// deletion (a Secret in the way gone), and any change of a Secret no session controls (a key Secret with the
// managed-by label).
var notASessionsSecret = predicate.Funcs{
	CreateFunc:  func(e event.CreateEvent) bool { return !controlledBySession(e.Object) },
	UpdateFunc:  func(e event.UpdateEvent) bool { return !controlledBySession(e.ObjectNew) },
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
	key := client.MatchingFields{keySecretIndex: secret.GetNamespace() + "/" + secret.GetName()}
	var cluster burnerv1alpha1.ClusterBurnerIssuerList
	if err := r.List(ctx, &cluster, key); err == nil {
		for _, ci := range cluster.Items {
			reqs = append(reqs, r.sessionsMatching(ctx, client.MatchingFields{issuerRefIndex: issuer.ClusterRef(ci.Name)})...)
		}
	}
	var namespaced burnerv1alpha1.BurnerIssuerList
	if err := r.List(ctx, &namespaced, client.InNamespace(secret.GetNamespace()), key); err == nil {
		for _, ni := range namespaced.Items {
			reqs = append(reqs, r.sessionsMatching(ctx,
				client.MatchingFields{issuerRefIndex: issuer.NamespacedRef(ni.Namespace, ni.Name)})...)
		}
	}
	return reqs
}

// sessionsOfIssuer maps an issuer to the sessions that reference it.
func (r *BurnerSessionReconciler) sessionsOfIssuer(ctx context.Context, o client.Object) []reconcile.Request {
	ref := issuer.ClusterRef(o.GetName())
	if _, ok := o.(*burnerv1alpha1.BurnerIssuer); ok {
		ref = issuer.NamespacedRef(o.GetNamespace(), o.GetName())
	}
	return r.sessionsMatching(ctx, client.MatchingFields{issuerRefIndex: ref})
}

// sessionsInNamespace maps a namespace whose labels changed to its sessions that use an issuer, whose
// namespaceSelector may now say otherwise.
func (r *BurnerSessionReconciler) sessionsInNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	var list burnerv1alpha1.BurnerSessionList
	if err := r.List(ctx, &list, client.InNamespace(ns.GetName())); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, bs := range list.Items {
		if bs.Spec.IssuerRef != nil && bs.Spec.IssuerRef.Kind == burnerv1alpha1.ClusterBurnerIssuerKind {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&bs)})
		}
	}
	return reqs
}

func (r *BurnerSessionReconciler) sessionsMatching(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	var list burnerv1alpha1.BurnerSessionList
	if err := r.List(ctx, &list, opts...); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, bs := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&bs)})
	}
	return reqs
}

// keepIdentity drops everything but the identity, version, ownership and API key opt-in label of a Secret's
// metadata before it is cached: labels and annotations can be large (kubectl's last-applied-configuration
// annotation even holds the Secret's data).
func keepIdentity(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	kept := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta, ObjectMeta: metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		OwnerReferences: m.OwnerReferences,
	}}
	if v, ok := m.Labels[burnerv1alpha1.APIKeyLabel]; ok {
		kept.Labels = map[string]string{burnerv1alpha1.APIKeyLabel: v}
	}
	return kept, nil
}
