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
// operator does not hold every Secret of the cluster in memory. Every object is reduced to what decisions read
// before it is cached (allowlists of labels and annotations, the controller reference alone, long values as their
// digest), so that what users put on objects they control costs the manager a bounded amount of memory per object,
// whatever its size: a token Secret is compacted (tokensecret.Compact), a session keeps its spec, status and
// force-refresh value. The operator never writes back a cached copy: a token Secret is written by a patch of what
// the operator sets or from the copy read from the apiserver, a session's or an issuer's status by a patch.
func CacheOptions(watchNamespaces []string) cache.Options {
	return cache.Options{
		DefaultNamespaces: namespaces(watchNamespaces),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}: {
				Label:     labels.SelectorFromSet(labels.Set{tokensecret.ManagedByLabel: tokensecret.ManagedByValue}),
				Transform: trimSecret,
			},
			&burnerv1alpha1.BurnerSession{}:       {Transform: trimMeta(burnerv1alpha1.ForceRefreshAnnotation)},
			&burnerv1alpha1.BurnerIssuer{}:        {Transform: trimMeta()},
			&burnerv1alpha1.ClusterBurnerIssuer{}: {Transform: trimMeta()},
		},
		DefaultTransform: cache.TransformStripManagedFields(),
	}
}

// trimSecret keeps of a Secret a BurnerSession controls what decisions read (tokensecret.Compact); of any other,
// the metadata that says whose it is and whether it is an API key. The operator never writes a Secret it does not
// control, and reads API keys straight from the apiserver.
func trimSecret(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	s.ManagedFields, s.Finalizers = nil, nil
	s.OwnerReferences = controllerOnly(s.OwnerReferences)
	if ControlledBySession(s) {
		tokensecret.Compact(s)
	} else {
		s.Data, s.StringData, s.Annotations = nil, nil, nil
		s.Labels = tokensecret.Kept(s.Labels, tokensecret.ManagedByLabel, burnerv1alpha1.APIKeyLabel)
	}
	return s, nil
}

// ControlledBySession says whether a BurnerSession is the object's controller.
func ControlledBySession(obj metav1.Object) bool {
	owner := metav1.GetControllerOf(obj)
	return owner != nil && owner.Kind == "BurnerSession" &&
		strings.HasPrefix(owner.APIVersion, burnerv1alpha1.GroupVersion.Group+"/")
}

// trimMeta is a transform that drops of an object's metadata what the operator never reads: managed fields, owner
// references, finalizers, labels, and every annotation but those named (their values Capped). kubectl's
// last-applied-configuration annotation alone is a copy of the whole object.
func trimMeta(annotations ...string) func(any) (any, error) {
	return func(obj any) (any, error) {
		if o, ok := obj.(metav1.Object); ok {
			o.SetManagedFields(nil)
			o.SetOwnerReferences(nil)
			o.SetFinalizers(nil)
			o.SetLabels(nil)
			o.SetAnnotations(tokensecret.Kept(o.GetAnnotations(), annotations...))
		}
		return obj, nil
	}
}

// controllerOnly is the controller reference of refs, alone, when its fields are of the lengths the apiserver
// allows an object's name and kind; none otherwise. Decisions read no other owner reference, and an
// over-long one is no session's (it can only say "not controlled by this session", as no reference does).
func controllerOnly(refs []metav1.OwnerReference) []metav1.OwnerReference {
	for _, ref := range refs {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		if len(ref.APIVersion) > maxAPIVersion || len(ref.Kind) > maxKind || len(ref.Name) > maxName ||
			len(ref.UID) > maxName {
			return nil
		}
		return []metav1.OwnerReference{ref}
	}
	return nil
}

// The longest owner reference fields kept: an API group (a DNS subdomain) with a version, a kind, a name.
const (
	maxAPIVersion = 253 + 1 + 63
	maxKind       = 63
	maxName       = 253
)

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

// keepIdentity drops everything but the identity, version, controller and API key opt-in label of a Secret's
// metadata before it is cached: labels, annotations and owner references can be large (kubectl's
// last-applied-configuration annotation even holds the Secret's data).
func keepIdentity(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil
	}
	kept := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta, ObjectMeta: metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		OwnerReferences: controllerOnly(m.OwnerReferences),
		Labels:          tokensecret.Kept(m.Labels, burnerv1alpha1.APIKeyLabel),
	}}
	return kept, nil
}
