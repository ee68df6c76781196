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

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/policy"
)

// source resolves where the session's tokens come from, and checks, at every reconcile and before anything is due,
// what forbids using it: an issuer that is missing or not Ready, its policy, a key Secret that does not opt in. Such
// a refusal is returned as a failure: it shows on Ready at once, and the current token is left to expire.
func (r *BurnerSessionReconciler) source(ctx context.Context, bs *burnerv1alpha1.BurnerSession) (issuer.Source, *failure, error) {
	resolver := issuer.Resolver{Reader: r.Client, ClusterResourceNamespace: r.ClusterResourceNamespace}
	src, reason, message, err := resolver.Resolve(ctx, bs)
	if err != nil || reason != "" {
		return src, refusal(reason, message), err
	}
	if src.Policy != nil {
		req := policy.Request{Session: bs, Policy: src.Policy}
		if src.Policy.NamespaceSelector != nil {
			ns := &corev1.Namespace{}
			if err := r.Get(ctx, client.ObjectKey{Name: bs.Namespace}, ns); err != nil {
				return src, nil, err
			}
			req.NamespaceLabels = ns.Labels
		}
		if reason, message, denied := policy.Permitted.Evaluate(req); denied {
			return src, refusal(reason, message), nil
		}
	}
	if m := r.secrets.meta(ctx, src.KeySecret); m != nil && !optedIn(m) {
		return src, notLabelled(src.KeySecret), nil
	}
	return src, nil, nil
}

func refusal(reason, message string) *failure {
	if reason == "" {
		return nil
	}
	return &failure{Reason: reason, Message: message}
}
