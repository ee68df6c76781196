package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// tokenSecret returns the session's token Secret, or nil when there is none. Managed Secrets come from the cache;
// a Secret of that name that the cache does not hold (unlabelled, so not ours or stripped by hand) is read once
// directly, and only when the metadata cache says it exists.
func (r *BurnerSessionReconciler) tokenSecret(ctx context.Context, bs *burnerv1alpha1.BurnerSession) (*corev1.Secret, error) {
	key := client.ObjectKey{Namespace: bs.Namespace, Name: bs.TokenSecretName()}
	s := &corev1.Secret{}
	err := r.Get(ctx, key, s)
	if client.IgnoreNotFound(err) != nil {
		return nil, err
	}
	if err == nil {
		return s, nil
	}
	if r.otherSecrets != nil && r.secretVersion(ctx, key) == "" {
		return nil, nil
	}
	if err := r.APIReader.Get(ctx, key, s); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return s, nil
}

// secretVersion is the resourceVersion of a Secret the caches know: the metadata-only cache of unmanaged Secrets, or
// the main cache (a key Secret may carry the managed-by label too). "" when there is no such Secret (or no such
// cache: a reconciler driven directly by tests).
func (r *BurnerSessionReconciler) secretVersion(ctx context.Context, key client.ObjectKey) string {
	if r.otherSecrets == nil {
		return ""
	}
	m := secretMetadata()
	if err := r.otherSecrets.Get(ctx, key, m); err == nil {
		return m.ResourceVersion
	}
	s := &corev1.Secret{}
	if err := r.Get(ctx, key, s); err == nil {
		return s.ResourceVersion
	}
	return ""
}

func secretMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return m
}
