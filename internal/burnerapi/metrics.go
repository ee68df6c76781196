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
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of a KeyLimiter, labelled by key_id (KeyIDs): enough to tell a cluster's few keys apart, and keyed, so
// that whoever reads the metrics cannot confirm a guess at a key.
var (
	keyLabels     = []string{"key_id"}
	rateLimitDesc = prometheus.NewDesc("burner_api_key_rate_limit",
		"Calls per second the adaptive limiter currently allows with the API key.", keyLabels, nil)
	reservedDesc = prometheus.NewDesc("burner_api_key_reserved_slots",
		"Callers held back with a slot or a place in line kept for them.", keyLabels, nil)
	heldBackDesc = prometheus.NewDesc("burner_api_key_held_back_total",
		"Calls the limiter held back (told to come back later) instead of sending.", keyLabels, nil)
)

// Collector returns a prometheus.Collector reporting the limiter's per-key rate, held slots and held-back calls,
// each key named by ids. Nothing is registered globally; register it where the metrics are served, e.g.
// metrics.Registry.MustRegister(limiter.Collector(ids)) in controller-runtime.
func (l *KeyLimiter) Collector(ids KeyIDs) prometheus.Collector { return limiterCollector{l, ids} }

type limiterCollector struct {
	l   *KeyLimiter
	ids KeyIDs
}

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
		id := c.ids.ofDigest(st.id)
		st.mu.Lock()
		limit, reserved, heldBack := float64(st.lim.Limit()), float64(len(st.holds)), float64(st.heldBack)
		st.mu.Unlock()
		ch <- prometheus.MustNewConstMetric(rateLimitDesc, prometheus.GaugeValue, limit, id)
		ch <- prometheus.MustNewConstMetric(reservedDesc, prometheus.GaugeValue, reserved, id)
		ch <- prometheus.MustNewConstMetric(heldBackDesc, prometheus.CounterValue, heldBack, id)
	}
}

// KeyIDs names API keys without revealing them, in metrics (key_id) and the simulator's stats: the first 8 hex
// digits of HMAC-SHA256, under a secret of the install, of the key's SHA-256 digest (the limiter keeps only the
// digest). An unkeyed hash would let anyone who reads the metrics confirm a guessed key offline; without the
// secret a guess cannot be checked, and the same key gets the same id as long as the secret lasts.
type KeyIDs struct{ secret []byte }

// MinKeyIDSecret is the shortest secret NewKeyIDs takes: 128 bits, beyond guessing.
const MinKeyIDSecret = 16

// keyIDBytes of the keyed hash name a key: 32 bits tell a cluster's few keys apart.
const keyIDBytes = 4

// NewKeyIDs names keys under secret, at least MinKeyIDSecret random bytes kept for the install.
func NewKeyIDs(secret []byte) (KeyIDs, error) {
	if len(secret) < MinKeyIDSecret {
		return KeyIDs{}, fmt.Errorf("key id secret has %d bytes, want at least %d", len(secret), MinKeyIDSecret)
	}
	return KeyIDs{secret: secret}, nil
}

// Of is the id of apiKey.
func (k KeyIDs) Of(apiKey string) string { return k.ofDigest(sha256.Sum256([]byte(apiKey))) }

func (k KeyIDs) ofDigest(digest [sha256.Size]byte) string {
	mac := hmac.New(sha256.New, k.secret)
	mac.Write(digest[:])
	return hex.EncodeToString(mac.Sum(nil)[:keyIDBytes])
}

// Metrics of a Client's upstream hosts, labelled by upstream: the host of the API URL (not secret: an issuer's
// spec.url), for the first hosts seen only; the others, which users could multiply, share upstream="other".
var (
	upstreamLabels = []string{"upstream"}
	inFlightDesc   = prometheus.NewDesc("burner_api_upstream_in_flight",
		"Burner API calls in flight to the host.", upstreamLabels, nil)
	circuitOpenDesc = prometheus.NewDesc("burner_api_upstream_circuit_open",
		"1 while the host's circuit breaker is open or half-open (calls fail fast); for upstream=\"other\", how many "+
			"such hosts.", upstreamLabels, nil)
	refusedDesc = prometheus.NewDesc("burner_api_upstream_refused_total",
		"Calls not sent to the host: reason=circuit_open (its circuit breaker is open) or reason=in_flight_limit (as "+
			"many calls in flight as a host may have).", append(upstreamLabels[:1:1], "reason"), nil)
)

// Collector returns a prometheus.Collector reporting, per upstream host, the calls in flight, the circuit breaker's
// state and the calls refused. Nothing is registered globally (see KeyLimiter.Collector).
func (c *Client) Collector() prometheus.Collector { return upstreamCollector{c.upstreams} }

type upstreamCollector struct{ p *upstreams }

func (c upstreamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- inFlightDesc
	ch <- circuitOpenDesc
	ch <- refusedDesc
}

func (c upstreamCollector) Collect(ch chan<- prometheus.Metric) {
	type sums struct{ inFlight, open, refusedOpen, refusedBusy float64 }
	byLabel := map[string]*sums{}
	c.p.mu.Lock()
	for _, u := range c.p.hosts {
		s := byLabel[u.label]
		if s == nil {
			s = &sums{}
			byLabel[u.label] = s
		}
		s.inFlight += float64(u.inFlight)
		if !u.openUntil.IsZero() {
			s.open++
		}
		s.refusedOpen += float64(u.refusedOpen)
		s.refusedBusy += float64(u.refusedBusy)
	}
	c.p.mu.Unlock()
	for label, s := range byLabel {
		ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, s.inFlight, label)
		ch <- prometheus.MustNewConstMetric(circuitOpenDesc, prometheus.GaugeValue, s.open, label)
		ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, s.refusedOpen, label, "circuit_open")
		ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, s.refusedBusy, label, "in_flight_limit")
	}
}
