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

package csitest

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/burner-operator/burner-operator/internal/mintapi"
)

// PublishRequest is what the kubelet sends to publish an inline volume of the driver with attrs for pod, handing
// over podToken for the manager's audience in the request's secrets (CSIDriver podInfoOnMount, tokenRequests and
// serviceAccountTokenInSecrets).
func PublishRequest(volumeID, target string, pod mintapi.PodRef, attrs map[string]string, podToken string,
	podTokenExpiry time.Time) *csi.NodePublishVolumeRequest {
	tokens, _ := json.Marshal(map[string]any{mintapi.AudienceDefault: map[string]any{"token": podToken,
		"expirationTimestamp": podTokenExpiry.UTC().Format(time.RFC3339)}})
	vc := map[string]string{
		"csi.storage.k8s.io/pod.name": pod.Name, "csi.storage.k8s.io/pod.namespace": pod.Namespace,
		"csi.storage.k8s.io/pod.uid": pod.UID, "csi.storage.k8s.io/serviceAccount.name": pod.ServiceAccount,
		"csi.storage.k8s.io/ephemeral": "true",
	}
	maps.Copy(vc, attrs)
	return &csi.NodePublishVolumeRequest{VolumeId: volumeID, TargetPath: target, Readonly: true,
		VolumeCapability: &csi.VolumeCapability{AccessType: &csi.VolumeCapability_Mount{
			Mount: &csi.VolumeCapability_MountVolume{}}}, VolumeContext: vc,
		Secrets: map[string]string{"csi.storage.k8s.io/serviceAccount.tokens": string(tokens)}}
}

// ServiceAccount is the ServiceAccount CreatePod runs its pods as.
const ServiceAccount = "app"

// CreatePod creates, in ns, the ServiceAccount (if missing) and a pod running as it with a volume of the
// driver carrying attrs, as a user would write it.
func CreatePod(t testing.TB, c client.Client, ns, name string, attrs map[string]string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: ServiceAccount}}
	if err := c.Create(ctx, sa); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			ServiceAccountName: ServiceAccount,
			Containers:         []corev1.Container{{Name: "app", Image: "app:1"}},
			Volumes: []corev1.Volume{{Name: "burner", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{
				Driver: mintapi.DriverName, ReadOnly: new(true), VolumeAttributes: attrs}}}},
		},
	}
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// PodRef is p as the kubelet describes it to the driver.
func PodRef(p *corev1.Pod) mintapi.PodRef {
	return mintapi.PodRef{Namespace: p.Namespace, Name: p.Name, UID: string(p.UID),
		ServiceAccount: p.Spec.ServiceAccountName}
}
