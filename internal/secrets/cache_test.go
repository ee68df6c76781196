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
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// TestTrimSession: the cached copy of a session loses the managed fields, labels, owner references and every
// annotation but the one the operator reads, kept short.
func TestTrimSession(t *testing.T) {
	bs := &burnerv1alpha1.BurnerSession{ObjectMeta: metav1.ObjectMeta{
		Labels: map[string]string{"team": "pay"},
		Annotations: map[string]string{
			corev1.LastAppliedConfigAnnotation:    `{"spec":{"walletAddress":"..."}}`,
			burnerv1alpha1.ForceRefreshAnnotation: strings.Repeat("1", 1<<10),
		},
		ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "pay"}},
	}}
	out, err := trimMeta(burnerv1alpha1.ForceRefreshAnnotation)(bs)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*burnerv1alpha1.BurnerSession)
	if got.ManagedFields != nil || got.Labels != nil || got.OwnerReferences != nil || len(got.Annotations) != 1 ||
		got.Annotations[burnerv1alpha1.ForceRefreshAnnotation] != tokensecret.Capped(strings.Repeat("1", 1<<10)) {
		t.Fatalf("trimmed session: %+v", got.ObjectMeta)
	}
}

// TestCacheKeepsOnlySessionSecretsData: anyone can label a Secret as managed by the operator; the cache then keeps
// its metadata only, not its data, so nobody can make the operator hold their data in memory. Of a session's token
// Secret it keeps the data compacted, and of the labels and annotations those decisions read.
func TestCacheKeepsOnlySessionSecretsData(t *testing.T) {
	big := map[string][]byte{"blob": make([]byte, 1<<20)}
	owned := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "t", OwnerReferences: []metav1.OwnerReference{{
		APIVersion: burnerv1alpha1.GroupVersion.String(), Kind: "BurnerSession", Name: "t", Controller: new(true),
	}}, Labels: map[string]string{"team": "pay"}, Annotations: map[string]string{
		tokensecret.TemplateKeysAnnotation: `{"labels":["team"]}`}}, Data: map[string][]byte{tokensecret.KeyToken: []byte("x")}}
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "f",
		Labels:      map[string]string{tokensecret.ManagedByLabel: tokensecret.ManagedByValue},
		Annotations: map[string]string{corev1.LastAppliedConfigAnnotation: string(big["blob"])}}, Data: big}
	for _, s := range []*corev1.Secret{owned, foreign} {
		if _, err := trimSecret(s); err != nil {
			t.Fatal(err)
		}
	}
	if len(owned.Data) != 1 || string(owned.Data[tokensecret.KeyToken]) == "x" {
		t.Fatalf("a session's token Secret is not compacted in the cache: %d keys", len(owned.Data))
	}
	// The secretTemplate is compared by the digest of its record and values.
	if owned.Labels != nil || owned.Annotations[tokensecret.TemplateKeysAnnotation] == "" ||
		!tokensecret.InSync(owned, burnerv1alpha1.SecretTemplate{Labels: map[string]string{"team": "pay"}}) {
		t.Fatalf("a token Secret's metadata is not cached as decisions read it: %+v", owned.ObjectMeta)
	}
	if foreign.Data != nil || foreign.Annotations != nil || foreign.Labels == nil {
		t.Fatalf("a foreign Secret keeps data or annotations in the cache: %d bytes", len(foreign.Data["blob"]))
	}
}
