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

package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// The issuer layout's ClusterBurnerIssuer, and the cluster resource namespace its key Secret lives in (the
// manager is started with it in every layout).
const (
	benchIssuer     = "bench"
	benchPlatformNS = "bench-platform"
	keySecretName   = "burner-api-key"
)

// keyLayout is how the sessions' API keys are laid out: the one place to add a ClusterBurnerIssuer layout.
type keyLayout string

const (
	perNamespaceKeys keyLayout = "per-namespace" // each namespace's key Secret holds its own key
	sharedKey        keyLayout = "shared"        // every key Secret holds the same key: one upstream limit for all
	issuerKey        keyLayout = "issuer"        // one ClusterBurnerIssuer, its key in the platform namespace
)

func (k *keyLayout) String() string { return string(*k) }

func (k *keyLayout) Set(s string) error {
	if l := keyLayout(s); l == perNamespaceKeys || l == sharedKey || l == issuerKey {
		*k = l
		return nil
	}
	return fmt.Errorf("want %s, %s or %s", perNamespaceKeys, sharedKey, issuerKey)
}

// keyOf is the API key of namespace ns.
func (c config) keyOf(ns int) string {
	if c.oneKey() {
		return apiKey(0)
	}
	return apiKey(ns)
}

// oneKey says whether every session uses the same key.
func (c config) oneKey() bool { return c.keys == sharedKey || c.keys == issuerKey }

// sessionsPerKey is how many sessions the busiest key serves: what an upstream limit per key divides.
func (c config) sessionsPerKey() int {
	if c.oneKey() {
		return c.sessions
	}
	return min(c.perNamespace, c.sessions)
}

// ideal is the time the upstream limit allows for one call per session (0: no limit).
func (c config) ideal() time.Duration {
	if c.upstreamRate <= 0 {
		return 0
	}
	return time.Duration(float64(c.sessionsPerKey()) / c.upstreamRate * float64(time.Second))
}

// bucketBurst is -upstream-burst, or one second's worth of the rate.
func (c config) bucketBurst() int {
	if c.upstreamBurst > 0 {
		return c.upstreamBurst
	}
	return max(1, int(math.Ceil(c.upstreamRate)))
}

// apiKeys are the distinct keys the namespaces use.
func (c config) apiKeys() []string {
	keys := make([]string, 0, c.namespaces())
	for i := range c.namespaces() {
		keys = append(keys, c.keyOf(i))
	}
	return slices.Compact(keys)
}

func (c config) namespaces() int { return (c.sessions + c.perNamespace - 1) / c.perNamespace }

// limitUpstream applies the configured upstream limit to every key (none when -upstream-rate is 0).
func (h *harness) limitUpstream() {
	h.setUpstreamLimit(h.c.upstreamRate, h.c.bucketBurst(), time.Second)
}

func (h *harness) setUpstreamLimit(perSecond float64, burst int, retryAfter time.Duration) {
	for _, k := range h.c.apiKeys() {
		h.sim.SetRateLimit(k, perSecond, burst, retryAfter)
	}
}

func (h *harness) createKeySecrets(ctx context.Context) error {
	keySecret := func(ns string, i int) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: keySecretName,
				Labels: map[string]string{burnerv1alpha1.APIKeyLabel: "true"}},
			Data: map[string][]byte{"apiKey": []byte(h.c.keyOf(i))},
		}
	}
	// The manager's cluster resource namespace, where it also keeps its key_id Secret, exists in every install.
	if err := h.cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchPlatformNS}}); err != nil {
		return err
	}
	if h.c.keys == issuerKey {
		return errors.Join(
			h.cl.Create(ctx, keySecret(benchPlatformNS, 0)),
			h.cl.Create(ctx, &burnerv1alpha1.ClusterBurnerIssuer{
				ObjectMeta: metav1.ObjectMeta{Name: benchIssuer},
				Spec: burnerv1alpha1.BurnerIssuerSpec{
					APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: keySecretName}},
			}))
	}
	return forEach(h.c.namespaces(), 8, func(i int) error {
		return h.cl.Create(ctx, keySecret(namespace("bench", i), i))
	})
}

// keyReference points a session at its key: its namespace's key Secret, or the issuer.
func (c config) keyReference(spec *burnerv1alpha1.BurnerSessionSpec) {
	if c.keys == issuerKey {
		spec.IssuerRef = &burnerv1alpha1.IssuerReference{Kind: burnerv1alpha1.ClusterBurnerIssuerKind, Name: benchIssuer}
		return
	}
	spec.APIKeySecretRef = burnerv1alpha1.SecretKeySelector{Name: keySecretName}
}
