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

package secrets

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// CacheOptions scopes the manager's cache: Secrets are cached only when they carry the managed-by label, so the
// operator does not hold every Secret of the cluster in memory, and of those only the Secrets a BurnerSession
// controls keep their data, compacted (anyone who can create a Secret can add the label). Managed fields are
// stripped from every object, and kubectl's last-applied-configuration (a copy of the whole spec) from sessions: the
// operator never writes a session's metadata, so the stripped copy cannot leak back into the apiserver. Token
// Secrets keep theirs, as an update of the cached copy would drop it.
func CacheOptions(watchNamespaces []string) cache.Options {
	return cache.Options{
		DefaultNamespaces: namespaces(watchNamespaces),
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

// trimSecret keeps of a Secret a BurnerSession controls what decisions read (its data compacted: a digest in place
// of the token; its labels and annotations whole, which the secretTemplate is kept in sync with); of any other, the
// metadata that says whose it is. The operator never writes a Secret it does not
// control, and reads API keys straight from the apiserver.
func trimSecret(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	s.ManagedFields = nil
	if ControlledBySession(s) {
		tokensecret.Compact(s)
	} else {
		s.Data, s.StringData, s.Annotations = nil, nil, nil
	}
	return s, nil
}

// ControlledBySession says whether a BurnerSession is the object's controller.
func ControlledBySession(obj metav1.Object) bool {
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

// namespaces is a cache's DefaultNamespaces for a list of namespaces; nil (all) for none.
func namespaces(list []string) map[string]cache.Config {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]cache.Config, len(list))
	for _, ns := range list {
		m[ns] = cache.Config{}
	}
	return m
}

// OthersCache is a metadata-only cache of every Secret without the managed-by label (the main cache holds those
// with it), holding of each what keepIdentity keeps. Through it a change of an API key Secret, or the removal of a
// foreign Secret in the way, is seen without caching any Secret's data.
func OthersCache(cfg *rest.Config, scheme *runtime.Scheme, mapper meta.RESTMapper, watch []string) (cache.Cache, error) {
	notOurs, err := labels.NewRequirement(tokensecret.ManagedByLabel, selection.NotEquals,
		[]string{tokensecret.ManagedByValue})
	if err != nil {
		return nil, err
	}
	return cache.New(cfg, cache.Options{
		Scheme: scheme, Mapper: mapper, DefaultTransform: keepIdentity,
		DefaultLabelSelector: labels.NewSelector().Add(*notOurs),
		DefaultNamespaces:    namespaces(watch),
	})
}

// keepIdentity drops everything but the identity, version, ownership and API key opt-in label of a Secret's
// metadata before it is cached: labels and annotations can be large (kubectl's last-applied-configuration
// annotation even holds the Secret's data).
func keepIdentity(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	kept := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta, ObjectMeta: metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		OwnerReferences: m.OwnerReferences,
	}}
	if v, ok := m.Labels[burnerv1alpha1.APIKeyLabel]; ok {
		kept.Labels = map[string]string{burnerv1alpha1.APIKeyLabel: v}
	}
	return kept, nil
}
