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
