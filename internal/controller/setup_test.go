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
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// TestTrimSession: the cached copy of a session loses the managed fields and kubectl's copy of the spec, and keeps
// the annotations the operator reads.
func TestTrimSession(t *testing.T) {
	bs := &burnerv1alpha1.BurnerSession{ObjectMeta: metav1.ObjectMeta{
		Annotations: map[string]string{
			corev1.LastAppliedConfigAnnotation:    `{"spec":{"walletAddress":"..."}}`,
			burnerv1alpha1.ForceRefreshAnnotation: "1",
		},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
	}}
	out, err := trimSession(bs)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*burnerv1alpha1.BurnerSession)
	if got.ManagedFields != nil || len(got.Annotations) != 1 || got.Annotations[burnerv1alpha1.ForceRefreshAnnotation] != "1" {
		t.Fatalf("trimmed session: %+v", got.ObjectMeta)
	}
}
