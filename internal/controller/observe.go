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
	"errors"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// tokenSecret returns the session's token Secret, or nil when there is none. Managed Secrets come from the cache.
// Of a Secret of that name the cache does not hold (unlabelled), the metadata cache says whose it is: somebody
// else's is returned as its metadata alone (its data is none of the operator's business, and never read); one this
// session controls, its label stripped by hand, is read once directly, to be rewritten.
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
	m := r.Secrets.UnmanagedMeta(ctx, key)
	if m == nil {
		return nil, nil
	}
	if !metav1.IsControlledBy(m, bs) {
		return &corev1.Secret{ObjectMeta: m.ObjectMeta}, nil
	}
	if err := r.APIReader.Get(ctx, key, s); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return s, nil
}

// liveSecret reads the Secret observed in the cache from the apiserver, whole; a Secret changed since is a conflict,
// as an update of the version observed would be.
func (r *BurnerSessionReconciler) liveSecret(ctx context.Context, observed *corev1.Secret) (*corev1.Secret, error) {
	live := &corev1.Secret{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(observed), live); err != nil {
		return nil, err
	}
	if live.ResourceVersion != observed.ResourceVersion {
		return nil, apierrors.NewConflict(corev1.Resource("secrets"), observed.Name,
			errors.New("the Secret changed since it was observed"))
	}
	return live, nil
}
