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

package policy

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

func TestChains(t *testing.T) {
	issued := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	session := func() *burnerv1alpha1.BurnerSession {
		return &burnerv1alpha1.BurnerSession{
			ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", UID: "uid-1"},
			Spec: burnerv1alpha1.BurnerSessionSpec{
				WalletAddress: "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy", TTLSeconds: 300,
				APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: "key", Key: "apiKey"},
			},
		}
	}
	secretFor := func(bs *burnerv1alpha1.BurnerSession) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns", OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "burner.aerosol.com/v1alpha1", Kind: "BurnerSession", Name: "s", UID: "uid-1", Controller: new(true),
		}}}}
		tokensecret.Write(s, bs.Spec.WalletAddress, tokensecret.Token{
			Value: "t", IssuedAt: issued, ExpiresAt: issued.Add(5 * time.Minute), SpecHash: tokensecret.SpecHash(bs.Spec),
			ForceRefresh: bs.Annotations[burnerv1alpha1.ForceRefreshAnnotation],
		})
		return s
	}
	cases := []struct {
		name         string
		mutate       func(bs *burnerv1alpha1.BurnerSession, s *corev1.Secret) *corev1.Secret
		now          time.Duration
		wantRefresh  string
		wantNotReady string
	}{
		{name: "fresh token", now: time.Minute},
		{name: "missing", mutate: func(_ *burnerv1alpha1.BurnerSession, _ *corev1.Secret) *corev1.Secret { return nil },
			wantRefresh: burnerv1alpha1.ReasonSecretMissing, wantNotReady: burnerv1alpha1.ReasonSecretMissing},
		{name: "not owned", mutate: func(_ *burnerv1alpha1.BurnerSession, s *corev1.Secret) *corev1.Secret {
			s.OwnerReferences = nil
			return s
		}, wantNotReady: burnerv1alpha1.ReasonSecretNotOwned}, // a refusal, checked before NeedsToken
		{name: "token removed", mutate: func(_ *burnerv1alpha1.BurnerSession, s *corev1.Secret) *corev1.Secret {
			delete(s.Data, tokensecret.KeyToken)
			return s
		}, wantRefresh: burnerv1alpha1.ReasonSecretMissingData, wantNotReady: burnerv1alpha1.ReasonSecretMissingData},
		{name: "bad expiresAt", mutate: func(_ *burnerv1alpha1.BurnerSession, s *corev1.Secret) *corev1.Secret {
			s.Data[tokensecret.KeyExpiresAt] = []byte("tomorrow")
			return s
		}, wantRefresh: burnerv1alpha1.ReasonExpiresAtUnparsable, wantNotReady: burnerv1alpha1.ReasonExpiresAtUnparsable},
		{name: "wallet changed", mutate: func(bs *burnerv1alpha1.BurnerSession, s *corev1.Secret) *corev1.Secret {
			bs.Spec.WalletAddress = "11111111111111111111111111111111"
			return s
		}, wantRefresh: burnerv1alpha1.ReasonSpecChanged, wantNotReady: burnerv1alpha1.ReasonSpecChanged},
		{name: "scope order is not a change", mutate: func(bs *burnerv1alpha1.BurnerSession, _ *corev1.Secret) *corev1.Secret {
			bs.Spec.Scopes = []burnerv1alpha1.Scope{"wallet:read", "transactions:build"}
			s := secretFor(bs)
			bs.Spec.Scopes = []burnerv1alpha1.Scope{"transactions:build", "wallet:read"}
			return s
		}},
		{name: "labels are not a change", mutate: func(bs *burnerv1alpha1.BurnerSession, s *corev1.Secret) *corev1.Secret {
			bs.Labels = map[string]string{"team": "x"}
			return s
		}},
		{name: "force refresh", mutate: func(bs *burnerv1alpha1.BurnerSession, s *corev1.Secret) *corev1.Secret {
			bs.Annotations = map[string]string{burnerv1alpha1.ForceRefreshAnnotation: "1"}
			return s
		}, wantRefresh: burnerv1alpha1.ReasonForceRefreshRequested},
		{name: "force refresh answered", mutate: func(bs *burnerv1alpha1.BurnerSession, _ *corev1.Secret) *corev1.Secret {
			bs.Annotations = map[string]string{burnerv1alpha1.ForceRefreshAnnotation: "1"}
			return secretFor(bs)
		}},
		{name: "due for refresh", now: 4 * time.Minute, wantRefresh: burnerv1alpha1.ReasonNearingExpiry},
		{name: "expired", now: 5 * time.Minute, wantRefresh: burnerv1alpha1.ReasonNearingExpiry, wantNotReady: burnerv1alpha1.ReasonExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bs := session()
			s := secretFor(bs)
			if tc.mutate != nil {
				s = tc.mutate(bs, s)
			}
			in := NewInput(bs, s, issued.Add(tc.now))
			if reason, _, _ := NeedsToken.Evaluate(in); reason != tc.wantRefresh {
				t.Errorf("NeedsToken: %q, want %q", reason, tc.wantRefresh)
			}
			if reason, _, _ := NotReady.Evaluate(in); reason != tc.wantNotReady {
				t.Errorf("NotReady: %q, want %q", reason, tc.wantNotReady)
			}
		})
	}
}
