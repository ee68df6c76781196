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
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/policy"
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

// writeSecret writes t into the session's token Secret, shaped by the template, with the session as its
// controller, and returns the Secret written. A Secret that exists is written at the version observed (optimistic
// concurrency: a conflict is retried from the token kept in memory, not re-minted): the cached copy keeps too little
// to be written back, so when it carries the template already the token goes in with one patch of what the
// operator sets (the refresh of every session), and otherwise the Secret is read from the apiserver and updated.
// Its error is a *failure.Error when the template cannot be put on that Secret.
func (r *BurnerSessionReconciler) writeSecret(ctx context.Context, bs *burnerv1alpha1.BurnerSession,
	observed *corev1.Secret, t tokensecret.Token, tmpl burnerv1alpha1.SecretTemplate,
) (*corev1.Secret, error) {
	if observed != nil && tokensecret.InSync(observed, tmpl) {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: observed.Namespace, Name: observed.Name}}
		patch := tokensecret.WritePatch(observed.ResourceVersion, bs.Spec.WalletAddress, t)
		return s, r.Patch(ctx, s, client.RawPatch(types.StrategicMergePatchType, patch))
	}
	base := observed
	if observed != nil {
		live, err := r.liveSecret(ctx, observed)
		if err != nil {
			return nil, err
		}
		if f := checkTemplate(bs, live, tmpl); f != nil {
			return nil, f
		}
		base = live
	}
	s := tokenSecretWith(bs, base, t)
	tokensecret.ApplyTemplate(s, tmpl)
	if err := controllerutil.SetControllerReference(bs, s, r.Scheme); err != nil {
		return nil, err
	}
	if s.ResourceVersion == "" {
		return s, r.Create(ctx, s)
	}
	return s, r.Update(ctx, s)
}

// writeFailed is the outcome of a token Secret write that failed. A race with another writer or with the cache
// (conflict, already exists, gone) is returned as an error, for a prompt requeue. Anything else (a ResourceQuota,
// an admission webhook's denial, an immutable Secret, a terminating namespace, a template the Secret cannot carry)
// is a failure like any other: recorded with backoff and announced. Either way the token stays in memory
// (lastIssued), and the next attempt writes it again, without minting, while it is good.
func writeFailed(in policy.Input, fingerprint string, err error) (outcome, error) {
	if f, ok := failure.As(err); ok {
		return attemptFailed(in, fingerprint, f), nil
	}
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) {
		return outcome{}, err
	}
	return attemptFailed(in, fingerprint, failure.New(burnerv1alpha1.ReasonSecretWriteFailed, "cannot write Secret %q: %s",
		in.Session.TokenSecretName(), writeError(err))), nil
}

// writeError names why the apiserver refused a write from fixed templates: its own text may quote an admission
// webhook's, which the operator does not control.
func writeError(err error) string {
	text := err.Error()
	switch {
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return "the namespace is terminating"
	case apierrors.IsForbidden(err) && strings.Contains(text, "exceeded quota"):
		return "a ResourceQuota is exhausted"
	case strings.Contains(text, "admission webhook"):
		return "denied by an admission webhook"
	case apierrors.IsInvalid(err) && strings.Contains(text, "immutable"):
		return "the Secret is immutable"
	}
	return failure.StatusReason(err)
}
