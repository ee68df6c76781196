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

// shape says whether tmpl changes the token Secret that exists (the cached copy is compared by its TemplateState),
// and refuses a template the apiserver would refuse on any Secret (SecretTemplateInvalid): nothing is minted for a
// Secret that could not be written, so it cannot become a loop of failed writes. What only the Secret itself can
// say (the annotations others set, which the cache does not keep, taking the total over the limit) is checked on the
// Secret as read at the write.
func shape(in policy.Input, tmpl burnerv1alpha1.SecretTemplate) (bool, *failure.Error) {
	if !tokensecret.Shapes(in.Secret, tmpl) {
		return false, nil
	}
	if f := checkTemplate(in.Session, &corev1.Secret{}, tmpl); f != nil {
		return false, f
	}
	return in.Secret != nil && !tokensecret.InSync(in.Secret, tmpl), nil
}

// checkTemplate applies tmpl to s and says why the apiserver would refuse the result, as a SecretTemplateInvalid
// failure; s is left as it is.
func checkTemplate(bs *burnerv1alpha1.BurnerSession, s *corev1.Secret, tmpl burnerv1alpha1.SecretTemplate) *failure.Error {
	shaped := s.DeepCopy()
	tokensecret.ApplyTemplate(shaped, tmpl)
	if err := tokensecret.CheckTemplate(shaped, tmpl); err != nil {
		return failure.New(burnerv1alpha1.ReasonSecretTemplateInvalid,
			"the secretTemplate (the session's over its issuer's) cannot be put on Secret %q: %s",
			bs.TokenSecretName(), err.Error())
	}
	return nil
}

// reshape writes the template's change of the token Secret's labels and annotations, and nothing else: a merge patch
// of the metadata of the Secret read from the apiserver at the version observed (a Secret changed meanwhile is a
// conflict, re-read on the requeue). Its error is a *failure.Error when the template cannot be put on that Secret.
func (r *BurnerSessionReconciler) reshape(ctx context.Context, in policy.Input, tmpl burnerv1alpha1.SecretTemplate) error {
	live, err := r.liveSecret(ctx, in.Secret)
	if err != nil {
		return err
	}
	if f := checkTemplate(in.Session, live, tmpl); f != nil {
		return f
	}
	shaped := live.DeepCopy()
	if !tokensecret.ApplyTemplate(shaped, tmpl) {
		return nil // the cache was behind: nothing to write
	}
	logf.FromContext(ctx).V(1).Info("writing the secretTemplate's labels and annotations", "secret", shaped.Name)
	return r.Patch(ctx, shaped, client.MergeFromWithOptions(live, client.MergeFromWithOptimisticLock{}))
}
