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
	if r.secrets.meta(ctx, key) == nil {
		return nil, nil
	}
	if err := r.APIReader.Get(ctx, key, s); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return s, nil
}

func secretMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return m
}
