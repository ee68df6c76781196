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
	"time"

	"golang.org/x/time/rate"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/metrics"
	"github.com/burner-operator/burner-operator/internal/mint"
	"github.com/burner-operator/burner-operator/internal/secrets"
)

// Setup registers the BurnerSession controller and the two issuer controllers, and returns the mint path they share
// with any other caller in the manager. They share a reader of key Secrets and a second, metadata-only cache of every Secret without the managed-by label (the main cache holds those with
// it). Through it a change of an API key Secret, or the removal of a foreign Secret in the way, brings back the
// sessions and issuers that reference it; key Secrets are read directly, only when a token is minted or an issuer
// checked. Leaving token Secrets out of it spares the apiserver a second stream of every token write. Secrets that
// do carry the label are watched through the main cache for the same purposes (a key Secret or a Secret in the way
// can carry it too): any deletion, and any change of a Secret no session controls.
func Setup(mgr ctrl.Manager, api mint.Client, opts SetupOptions) (*mint.Minter, error) {
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	if opts.Controller.RateLimiter == nil {
		opts.Controller.RateLimiter = errorBackoff()
	}
	issuers := issuer.Resolver{Reader: mgr.GetClient(), ClusterResourceNamespace: opts.ClusterResourceNamespace,
		URLs: opts.AllowedURLs}
	if err := addIndexes(mgr.GetFieldIndexer(), issuers); err != nil {
		return nil, err
	}
	secretMeta, err := secrets.OthersCache(mgr.GetConfig(), mgr.GetScheme(), mgr.GetRESTMapper(), opts.Namespaces)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(secretMeta); err != nil {
		return nil, err
	}
	reader := secrets.NewReader(mgr.GetCache(), secretMeta, mgr.GetAPIReader(), clk)
	if err := mgr.Add(reader); err != nil { // it sweeps the keys no one uses out of memory
		return nil, err
	}
	minter := &mint.Minter{Issuers: issuers, Secrets: reader, API: api, Clock: clk}
	r := &BurnerSessionReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Scheme: mgr.GetScheme(), Recorder: opts.Recorder,
		Clock: clk, Minter: minter, Secrets: reader, ForceRefreshInterval: opts.ForceRefreshInterval,
	}
	metrics.Sessions.Use(mgr.GetCache(), mgr.Elected())

	secretEvents := func(h handler.EventHandler) (client.Object, handler.EventHandler, builder.WatchesOption) {
		return &corev1.Secret{}, h, builder.WithPredicates(notASessionsSecret)
	}
	secretMetaEvents := func(h handler.TypedEventHandler[client.Object, reconcile.Request]) source.Source {
		return source.Kind(secretMeta, client.Object(secrets.Metadata()), h)
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
		// A session deleted or moved away leaves a place under its issuer's maxSessionsPerNamespace.
		Watches(&burnerv1alpha1.BurnerSession{}, handler.EnqueueRequestsFromMapFunc(r.sessionsWaitingForASeat),
			builder.WithPredicates(seatLeft)).
		WithOptions(opts.Controller).
		Named("burnersession").
		Complete(r)
	if err != nil {
		return nil, err
	}
	for _, kind := range []string{burnerv1alpha1.ClusterBurnerIssuerKind, burnerv1alpha1.BurnerIssuerKind} {
		ir := &IssuerReconciler{Client: mgr.GetClient(), Recorder: opts.Recorder, Kind: kind, Keys: issuers,
			Secrets: reader, Limiter: opts.Limiter}
		prototype, err := ir.newObject()
		if err != nil {
			return nil, err
		}
		toIssuers := handler.EnqueueRequestsFromMapFunc(ir.issuersOfKey)
		err = ctrl.NewControllerManagedBy(mgr).
			For(prototype, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
			Watches(secretEvents(toIssuers)).
			WatchesRawSource(secretMetaEvents(toIssuers)).
			Named(strings.ToLower(kind)).
			Complete(ir)
		if err != nil {
			return nil, err
		}
	}
	return minter, nil
}

// SetupOptions configure the controllers.
type SetupOptions struct {
	// ClusterResourceNamespace holds the key Secrets of ClusterBurnerIssuers.
	ClusterResourceNamespace string
	// AllowedURLs are the API URLs an issuer may send its key to (the zero value: only the manager's own).
	AllowedURLs burnerapi.AllowedURLs
	// Recorder records the events of sessions and issuers.
	Recorder events.EventRecorder
	// Clock is the only source of time for decisions; nil: the real clock.
	Clock clock.PassiveClock
	// Controller configures the BurnerSession controller (its concurrency).
	Controller controller.Options
	// Namespaces limits the Secrets watched to these namespaces (the manager's cache must be limited alike); empty:
	// all namespaces.
	Namespaces []string
	// Limiter is the per-key limiter the issuers' Capacity weighs their demand against; nil: no Capacity.
	Limiter RateReporter
	// ForceRefreshInterval is the least time from a session's last token to one a force-refresh asks for; 0: none.
	ForceRefreshInterval time.Duration
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
