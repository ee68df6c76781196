package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// tokenSecretWith is the session's token Secret holding t: a copy of the existing one (its other labels and
// annotations kept), or a new one when there is none.
func tokenSecretWith(bs *burnerv1alpha1.BurnerSession, existing *corev1.Secret, t tokensecret.Token) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: bs.Namespace, Name: bs.TokenSecretName()}}
	if existing != nil {
		s = existing.DeepCopy()
	}
	tokensecret.Write(s, bs.Spec.WalletAddress, t)
	return s
}

// writeSecret makes the session the controller of s and writes it: a create for a new Secret, otherwise one update
// of the version read (optimistic concurrency: a conflict is retried from the token kept in memory, not re-minted).
func (r *BurnerSessionReconciler) writeSecret(ctx context.Context, bs *burnerv1alpha1.BurnerSession, s *corev1.Secret) error {
	if err := controllerutil.SetControllerReference(bs, s, r.Scheme); err != nil {
		return err
	}
	if s.ResourceVersion == "" {
		return r.Create(ctx, s)
	}
	return r.Update(ctx, s)
}
