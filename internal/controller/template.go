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

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/policy"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// shape is the observed token Secret (a new one when there is none) with its labels and annotations as tmpl says,
// and whether that changes the Secret that exists; nil when no template shapes it, now or before. A template the
// apiserver would refuse on that Secret is a refusal (SecretTemplateInvalid): nothing is minted for a Secret that
// could not be written, so it cannot become a loop of failed writes.
func shape(in policy.Input, tmpl burnerv1alpha1.SecretTemplate) (*corev1.Secret, bool, *failure.Error) {
	if !tokensecret.Shapes(in.Secret, tmpl) {
		return nil, false, nil
	}
	shaped := &corev1.Secret{}
	if in.Secret != nil {
		shaped = in.Secret.DeepCopy()
	}
	changed := tokensecret.ApplyTemplate(shaped, tmpl)
	if err := tokensecret.CheckTemplate(shaped, tmpl); err != nil {
		return nil, false, failure.New(burnerv1alpha1.ReasonSecretTemplateInvalid,
			"the secretTemplate (the session's over its issuer's) cannot be put on Secret %q: %s",
			in.Session.TokenSecretName(), err.Error())
	}
	return shaped, changed && in.Secret != nil, nil
}

// reshape writes the template's change of the token Secret's labels and annotations, and nothing else: a merge patch
// of the metadata from the version observed (a Secret changed meanwhile is a conflict, re-read on the requeue). The
// data is left as it is: the cached copy holds a digest in place of the token, so it is never written back.
func (r *BurnerSessionReconciler) reshape(ctx context.Context, observed, shaped *corev1.Secret) error {
	logf.FromContext(ctx).V(1).Info("writing the secretTemplate's labels and annotations", "secret", shaped.Name)
	return r.Patch(ctx, shaped, client.MergeFromWithOptions(observed, client.MergeFromWithOptimisticLock{}))
}
