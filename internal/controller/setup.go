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
	"time"

	"golang.org/x/time/rate"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
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
	if opts.Controller.RateLimiter == nil {
		opts.Controller.RateLimiter = errorBackoff()
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

// errorBackoff paces the retries of reconciles that returned an error (the apiserver refused or was unreachable):
// controller-runtime's default starts at 5 ms, which during an apiserver outage retries each session's Secret write
// and status patch dozens of times a second; this one starts at half a second, doubling to 5 minutes, with the
// default's overall bucket.
func errorBackoff() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](500*time.Millisecond, 5*time.Minute),
		&workqueue.TypedBucketRateLimiter[reconcile.Request]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}

// addIndexes registers the field indexes the watches map through.
func addIndexes(indexer client.FieldIndexer, clusterResourceNamespace string) error {
	ctx := context.Background()
	keySecret := func(o client.Object) []string {
		key, _ := issuer.Resolver{ClusterResourceNamespace: clusterResourceNamespace}.KeyOf(o)
		return []string{key.String()}
	}
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
		indexer.IndexField(ctx, &burnerv1alpha1.ClusterBurnerIssuer{}, keySecretIndex, keySecret),
		indexer.IndexField(ctx, &burnerv1alpha1.BurnerIssuer{}, keySecretIndex, keySecret),
	)
}
