//go:build e2e

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

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnersim"
)

// wallet is any valid address: the simulator mints for it, the tests count mints by API key.
const wallet = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"

// namespace creates a namespace for one test, ready for pods; it is deleted at the end unless the test failed (the
// dump shows it).
func namespace(t *testing.T, name string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8s.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = k8s.Delete(context.Background(), ns)
		}
	})
	// Pods are refused until the controller-manager has given the namespace its default ServiceAccount.
	eventually(t, time.Minute, 200*time.Millisecond, "the default ServiceAccount in "+name, func() error {
		_, err := cs.CoreV1().ServiceAccounts(name).Get(context.Background(), "default", metav1.GetOptions{})
		return err
	})
	return name
}

// newSession creates a BurnerSession with its own API key, so that the simulator counts its mints apart (see
// mints), and returns that key.
func newSession(t *testing.T, ns, name string, ttl int32) string {
	t.Helper()
	key := fmt.Sprintf("ak_e2e_%s_%s", ns, name)
	sim.AddKey(key)
	ctx := context.Background()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-key",
			Labels: map[string]string{burnerv1alpha1.APIKeyLabel: "true"}},
		StringData: map[string]string{burnerv1alpha1.DefaultAPIKeySecretKey: key},
	}
	bs := &burnerv1alpha1.BurnerSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: burnerv1alpha1.BurnerSessionSpec{WalletAddress: wallet, TTLSeconds: ttl,
			APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: secret.Name}},
	}
	for _, o := range []client.Object{secret, bs} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	return key
}

// mints is how many tokens the simulator issued for key.
func mints(key string) int { return sim.Calls().MintsByKey[burnersim.Fingerprint(key)] }

// waitReady waits for a session's Ready condition (through kubectl wait, as the README tells users).
func waitReady(t *testing.T, ns, name string, timeout time.Duration) {
	t.Helper()
	if _, err := kubectl(nil, "wait", "-n", ns, "--for=condition=Ready", "burnersession/"+name,
		fmt.Sprintf("--timeout=%ds", int(timeout.Seconds()))); err != nil {
		t.Fatal(err)
	}
}

// tokenSecret is a session's token Secret.
func tokenSecret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	return cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}
