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

package testenv

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// HostileObjects build the objects someone with edit in a namespace can create, each near the apiserver's limits:
// about 500 KB of labels, annotations at the 256 KiB total limit (kubectl's last-applied-configuration typically),
// 300 owner references, and for a Secret that claims to be a session's, 200 KiB of data in the keys the cache keeps.
func HostileObjects(ns string) []func(name string) client.Object {
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: hugeLabels(), OwnerReferences: manyOwners(),
			Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: strings.Repeat("a", 250<<10)}}
	}
	managed := func(name string) metav1.ObjectMeta {
		m := meta(name)
		m.Labels[tokensecret.ManagedByLabel] = tokensecret.ManagedByValue
		return m
	}
	return []func(string) client.Object{
		func(name string) client.Object { // labelled as the operator's, owned by no session
			return &corev1.Secret{ObjectMeta: managed("labelled-" + name)}
		},
		func(name string) client.Object { // labelled, with a forged controller reference to a session
			m := managed("forged-" + name)
			m.OwnerReferences = append(m.OwnerReferences[1:], metav1.OwnerReference{
				APIVersion: burnerv1alpha1.GroupVersion.String(), Kind: "BurnerSession", Name: "pay",
				UID: "0a1b2c3d-0000-4000-8000-000000000000", Controller: new(true)})
			big := []byte(strings.Repeat("1", 100<<10))
			return &corev1.Secret{ObjectMeta: m, Data: map[string][]byte{
				tokensecret.KeyToken: []byte("x"), tokensecret.KeyExpiresAt: big, tokensecret.KeyScopes: big}}
		},
		func(name string) client.Object { // any other Secret: the metadata cache
			return &corev1.Secret{ObjectMeta: meta("other-" + name)}
		},
		func(name string) client.Object {
			return &burnerv1alpha1.BurnerSession{ObjectMeta: meta("session-" + name),
				Spec: burnerv1alpha1.BurnerSessionSpec{WalletAddress: "11111111111111111111111111111111",
					APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: "key"}}}
		},
	}
}

// hugeLabels are 1,500 labels of the longest key and value Kubernetes allows: about 500 KB.
func hugeLabels() map[string]string {
	labels := make(map[string]string, 1500)
	dns := strings.Join([]string{strings.Repeat("x", 63), strings.Repeat("y", 63), strings.Repeat("z", 63)}, ".")
	for i := range 1500 {
		labels[fmt.Sprintf("k%04d.%s.example/%s", i, dns, strings.Repeat("n", 63))] = strings.Repeat("v", 63)
	}
	return labels
}

// manyOwners are 300 owner references with long names, none of them a controller.
func manyOwners() []metav1.OwnerReference {
	refs := make([]metav1.OwnerReference, 300)
	for i := range refs {
		refs[i] = metav1.OwnerReference{APIVersion: "example.com/v1", Kind: "Thing",
			Name: fmt.Sprintf("%03d-%s", i, strings.Repeat("o", 240)), UID: types.UID(fmt.Sprintf("uid-%d", i))}
	}
	return refs
}
