package controller

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// writeToken writes t into the session's token Secret: a create when there is none, otherwise one update of the
// existing object (optimistic concurrency: a conflict is retried with the token kept in memory, not re-minted).
func (r *BurnerSessionReconciler) writeToken(
	ctx context.Context, bs *burnerv1alpha1.BurnerSession, existing *corev1.Secret, t tokensecret.Issued,
) (*corev1.Secret, error) {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: bs.Namespace, Name: bs.TokenSecretName()}}
	if existing != nil {
		s = existing.DeepCopy()
	}
	tokensecret.Write(s, bs, t)
	if err := controllerutil.SetControllerReference(bs, s, r.Scheme); err != nil {
		return nil, err
	}
	if existing == nil {
		return s, r.Create(ctx, s)
	}
	return s, r.Update(ctx, s)
}

// restoreIfEdited rewrites a Secret whose token data no longer matches the last token this process wrote for the
// same spec (edited by hand), without minting. After a restart nothing is remembered and the Secret is trusted.
func (r *BurnerSessionReconciler) restoreIfEdited(ctx context.Context, bs *burnerv1alpha1.BurnerSession, s *corev1.Secret) error {
	last, ok := r.issued.reusable(bs, r.Clock.Now())
	if !ok {
		return nil
	}
	want := s.DeepCopy()
	tokensecret.Write(want, bs, last)
	if maps.EqualFunc(want.Data, s.Data, func(a, b []byte) bool { return string(a) == string(b) }) &&
		maps.Equal(want.Labels, s.Labels) {
		return nil
	}
	if _, err := r.writeToken(ctx, bs, s, last); err != nil {
		return err
	}
	r.Recorder.Eventf(bs, nil, corev1.EventTypeNormal, "Repaired", "Repair",
		"restored the current token into Secret %q after it was edited", s.Name)
	return nil
}

// secretVersion is the resourceVersion of a Secret in the metadata-only cache of unmanaged Secrets, "" when there is
// no such Secret (or no such cache: a reconciler driven directly by tests).
func (r *BurnerSessionReconciler) secretVersion(ctx context.Context, key client.ObjectKey) string {
	if r.existing == nil {
		return ""
	}
	m := secretMetadata()
	if err := r.existing.Get(ctx, key, m); err != nil {
		return ""
	}
	return m.ResourceVersion
}

func secretMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return m
}
