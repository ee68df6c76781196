package controller

import (
	"context"
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
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// secretRefsIndex indexes BurnerSessions by the names of the Secrets they reference: the API key Secret and a token
// Secret named in spec.secretName.
const secretRefsIndex = "burner.aerosol.com/secret-refs"

// CacheOptions scopes the manager's cache: Secrets are cached only when they carry the managed-by label, so the
// operator does not hold every Secret of the cluster in memory, and of those only the Secrets a BurnerSession
// controls are kept whole (anyone who can create a Secret can add the label). Managed fields are stripped from every
// object, and kubectl's last-applied-configuration (a copy of the whole spec) from sessions: the operator never
// writes a session's metadata, so the stripped copy cannot leak back into the apiserver. Token Secrets keep theirs,
// as an update of the cached copy would drop it.
func CacheOptions() cache.Options {
	return cache.Options{
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

// SetupWithManager registers the controller. Besides its own objects it watches the metadata of every other Secret
// (those without the managed-by label, which the main cache holds) through a second, metadata-only cache that keeps
// nothing but names, so that a change of an API key Secret, or the removal of a foreign Secret in the way, brings
// back the sessions that reference it. API key Secrets are then read directly, only when a token is minted. Leaving
// token Secrets out of this watch spares the apiserver a second stream of every token write. Secrets that do carry
// the label are watched through the main cache for the same two purposes (a key Secret or a Secret in the way can
// carry it too): any deletion, and any change of a Secret no session controls.
func (r *BurnerSessionReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &burnerv1alpha1.BurnerSession{}, secretRefsIndex,
		func(o client.Object) []string {
			bs := o.(*burnerv1alpha1.BurnerSession)
			if bs.Spec.SecretName != "" {
				return []string{bs.Spec.APIKeySecretRef.Name, bs.Spec.SecretName}
			}
			return []string{bs.Spec.APIKeySecretRef.Name}
		}); err != nil {
		return err
	}
	notOurs, err := labels.NewRequirement(tokensecret.ManagedByLabel, selection.NotEquals,
		[]string{tokensecret.ManagedByValue})
	if err != nil {
		return err
	}
	secretNames, err := cache.New(mgr.GetConfig(), cache.Options{
		Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(), DefaultTransform: keepIdentity,
		DefaultLabelSelector: labels.NewSelector().Add(*notOurs),
	})
	if err != nil {
		return err
	}
	if err := mgr.Add(secretNames); err != nil {
		return err
	}
	r.otherSecrets = secretNames
	sessionMetrics.use(mgr.GetCache(), mgr.Elected())

	return ctrl.NewControllerManagedBy(mgr).
		// force-refresh is an annotation and does not bump the generation; status-only writes are ignored.
		For(&burnerv1alpha1.BurnerSession{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&corev1.Secret{}).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.sessionsReferencing),
			builder.WithPredicates(predicate.Funcs{
				CreateFunc:  func(e event.CreateEvent) bool { return !controlledBySession(e.Object) },
				UpdateFunc:  func(e event.UpdateEvent) bool { return !controlledBySession(e.ObjectNew) },
				DeleteFunc:  func(event.DeleteEvent) bool { return true },
				GenericFunc: func(event.GenericEvent) bool { return false },
			})).
		WatchesRawSource(source.Kind(secretNames, client.Object(secretMetadata()),
			handler.EnqueueRequestsFromMapFunc(r.sessionsReferencing))).
		WithOptions(opts).
		Named("burnersession").
		Complete(r)
}

// sessionsReferencing maps a Secret to the sessions in its namespace that use it as API key or token Secret. A
// session writing to the default name (its own) is found by that name rather than through the index, which so
// holds one set per API key instead of one per session.
func (r *BurnerSessionReconciler) sessionsReferencing(ctx context.Context, secret client.Object) []reconcile.Request {
	var list burnerv1alpha1.BurnerSessionList
	if err := r.List(ctx, &list, client.InNamespace(secret.GetNamespace()),
		client.MatchingFields{secretRefsIndex: secret.GetName()}); err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items)+1)
	for _, bs := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&bs)})
	}
	same := &burnerv1alpha1.BurnerSession{}
	if err := r.Get(ctx, client.ObjectKeyFromObject(secret), same); err == nil && same.Spec.SecretName == "" {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(same)})
	}
	return reqs
}

// keepIdentity drops everything but the identity, version and ownership of a Secret's metadata before it is cached:
// labels and annotations can be large (kubectl's last-applied-configuration annotation even holds the Secret's
// data).
func keepIdentity(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	return &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta, ObjectMeta: metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		OwnerReferences: m.OwnerReferences,
	}}, nil
}
