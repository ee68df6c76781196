package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// apiKeyLabel marks the Secrets the operator may read API keys from (soon required; harmless before).
const apiKeyLabel = "burner.aerosol.com/api-key"

// keyLayout is how the sessions' API keys are laid out: the one place to add a ClusterBurnerIssuer layout.
type keyLayout string

const (
	perNamespaceKeys keyLayout = "per-namespace" // each namespace's key Secret holds its own key
	sharedKey        keyLayout = "shared"        // every key Secret holds the same key: one upstream limit for all
)

func (k *keyLayout) String() string { return string(*k) }

func (k *keyLayout) Set(s string) error {
	if l := keyLayout(s); l == perNamespaceKeys || l == sharedKey {
		*k = l
		return nil
	}
	return fmt.Errorf("want %s or %s", perNamespaceKeys, sharedKey)
}

// keyOf is the API key of namespace ns.
func (c config) keyOf(ns int) string {
	if c.keys == sharedKey {
		return apiKey(0)
	}
	return apiKey(ns)
}

// sessionsPerKey is how many sessions the busiest key serves: what an upstream limit per key divides.
func (c config) sessionsPerKey() int {
	if c.keys == sharedKey {
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
	return forEach(h.c.namespaces(), 8, func(i int) error {
		return h.cl.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: namespace("bench", i), Name: "burner-api-key",
				Labels: map[string]string{apiKeyLabel: "true"}},
			Data: map[string][]byte{"apiKey": []byte(h.c.keyOf(i))},
		})
	})
}
