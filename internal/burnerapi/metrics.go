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

package burnerapi

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of a KeyLimiter, labelled by key_id: the first 8 hex digits (32 bits) of the key's SHA-256 digest. That
// is enough to tell a cluster's few keys apart and to match the simulator's Fingerprint, and safe to publish: a
// hash prefix cannot be reversed, and 32 bits cannot confirm a guess at a key with the entropy of an API key (about
// 2^96 other keys of that entropy share any prefix).
var (
	keyLabels     = []string{"key_id"}
	rateLimitDesc = prometheus.NewDesc("burner_api_key_rate_limit",
		"Calls per second the adaptive limiter currently allows with the API key.", keyLabels, nil)
	reservedDesc = prometheus.NewDesc("burner_api_key_reserved_slots",
		"Callers held back with a slot or a place in line kept for them.", keyLabels, nil)
	heldBackDesc = prometheus.NewDesc("burner_api_key_held_back_total",
		"Calls the limiter held back (told to come back later) instead of sending.", keyLabels, nil)
)

// Collector returns a prometheus.Collector reporting the limiter's per-key rate, held slots and held-back calls.
// Nothing is registered globally; register it where the metrics are served, e.g.
// metrics.Registry.MustRegister(limiter.Collector()) in controller-runtime.
func (l *KeyLimiter) Collector() prometheus.Collector { return limiterCollector{l} }

type limiterCollector struct{ l *KeyLimiter }

func (c limiterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rateLimitDesc
	ch <- reservedDesc
	ch <- heldBackDesc
}

func (c limiterCollector) Collect(ch chan<- prometheus.Metric) {
	c.l.mu.Lock()
	states := make([]*keyState, 0, len(c.l.keys))
	for _, st := range c.l.keys {
		states = append(states, st)
	}
	c.l.mu.Unlock()
	for _, st := range states {
		id := hex.EncodeToString(st.id[:keyIDBytes])
		st.mu.Lock()
		limit, reserved, heldBack := float64(st.lim.Limit()), float64(len(st.holds)), float64(st.heldBack)
		st.mu.Unlock()
		ch <- prometheus.MustNewConstMetric(rateLimitDesc, prometheus.GaugeValue, limit, id)
		ch <- prometheus.MustNewConstMetric(reservedDesc, prometheus.GaugeValue, reserved, id)
		ch <- prometheus.MustNewConstMetric(heldBackDesc, prometheus.CounterValue, heldBack, id)
	}
}

// keyIDBytes of a key's SHA-256 digest name it in metrics and in the simulator's stats.
const keyIDBytes = 4

// KeyID names an API key without revealing it: the first 8 hex digits of its SHA-256 digest (see key_id above).
func KeyID(apiKey string) string {
	digest := sha256.Sum256([]byte(apiKey))
	return hex.EncodeToString(digest[:keyIDBytes])
}
