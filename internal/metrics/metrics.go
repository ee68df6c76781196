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

// Package metrics is every series of the manager's metrics endpoint: the API calls and tokens issued, the per-session
// series (produced from the cached sessions at scrape time), the issuers' capacity and the build. Labels are
// namespace/name, a result class, a condition reason or an issuer: never a key, a token or a wallet.
package metrics

import (
	"cmp"
	"context"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
)

// Metrics on the manager's metrics endpoint. Labels are namespace/name, a result class or a condition reason:
// never a key, a token or a wallet.
var (
	apiCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "burner_api_requests_total",
		Help: "Burner API session requests by result class.",
	}, []string{"result"})
	apiLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "burner_api_request_duration_seconds",
		Help:    "Latency of Burner API session requests by result class.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
	}, []string{"result"})
	tokensIssued = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "burner_tokens_issued_total",
		Help: "Tokens issued or refreshed and written to their Secret.",
	})
	issueFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "burner_token_failures_total",
		Help: "Failed attempts to issue or refresh a token, by condition reason.",
	}, []string{"reason"})
)

func init() {
	metrics.Registry.MustRegister(apiCalls, apiLatency, tokensIssued, issueFailures, Sessions, buildInfo(),
		issuerDemand, issuerAllowed)
}

// Version and revision of the build, set with -ldflags "-X <this package>.buildVersion=... -X ...buildRevision=...";
// when unset they come from the Go build information (a `go install ...@version` records both).
var buildVersion, buildRevision string

// buildInfo is burner_operator_build_info: always 1, with the build in its labels. Every replica exports it, leader
// or not, so its absence means no manager is being scraped.
func buildInfo() prometheus.Collector {
	version, revision := buildVersion, buildRevision
	if bi, ok := debug.ReadBuildInfo(); ok {
		if version == "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && revision == "" {
				revision = s.Value
			}
		}
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "burner_operator_build_info",
		Help: "Always 1; the labels say which build of the manager runs.",
		ConstLabels: prometheus.Labels{
			"version": cmp.Or(version, "unknown"), "revision": cmp.Or(revision, "unknown"), "goversion": runtime.Version(),
		},
	})
	g.Set(1)
	return g
}

// ObserveAPICall counts one Burner API call and its latency by result class.
func ObserveAPICall(err error, took time.Duration) {
	result := "success"
	if err != nil {
		result = burnerapi.KindOf(err).String()
	}
	apiCalls.WithLabelValues(result).Inc()
	apiLatency.WithLabelValues(result).Observe(took.Seconds())
}

// TokenIssued counts a token issued and written (to a Secret or a volume).
func TokenIssued() { tokensIssued.Inc() }

// IssueFailed counts a failed attempt to issue a token, by its condition reason.
func IssueFailed(reason string) { issueFailures.WithLabelValues(reason).Inc() }

// Per-session series. They are not kept in gauge vectors, which cost about 650 bytes per series in the registry,
// but produced from the cached sessions' status when Prometheus scrapes.
var (
	sessionLabels = []string{"namespace", "name"}
	reasonLabel   = "reason"

	tokenExpiryDesc = prometheus.NewDesc("burner_token_expiration_timestamp_seconds",
		"Unix time at which the token in the session's Secret expires.", sessionLabels, nil)
	refreshFailingDesc = prometheus.NewDesc("burner_session_refresh_failing",
		"1 while the session's last attempt to issue or refresh its token failed, with the failure's reason; absent "+
			"otherwise.", append(sessionLabels[:2:2], reasonLabel), nil)
	nextRefreshDesc = prometheus.NewDesc("burner_session_next_refresh_timestamp_seconds",
		"Unix time at which the operator plans to replace the session's token (status.refreshAt).", sessionLabels, nil)
	// As cert-manager's certmanager_certificate_ready_status: one series per possible status, 1 for the current one.
	readyStatusDesc = prometheus.NewDesc("burner_session_ready_status",
		"The session's Ready condition: 1 for the series whose condition label is the current status, 0 for the others.",
		append(sessionLabels[:2:2], "condition"), nil)
)

var conditionStatuses = []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown}

// Sessions is the registered collector of the per-session series; the controller's setup points it at the
// manager's cache.
var Sessions = &SessionCollector{}

// SessionCollector exports the per-session series of the sessions a reader holds, while elected is closed (only
// the leader's series count: a standby's cache holds the same sessions).
type SessionCollector struct {
	source atomic.Pointer[collectorSource]
}

type collectorSource struct {
	reader  client.Reader
	elected <-chan struct{}
}

// Use makes the collector export the sessions reader holds while elected is closed.
func (c *SessionCollector) Use(reader client.Reader, elected <-chan struct{}) {
	c.source.Store(&collectorSource{reader: reader, elected: elected})
}

func (c *SessionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tokenExpiryDesc
	ch <- refreshFailingDesc
	ch <- nextRefreshDesc
	ch <- readyStatusDesc
}

func (c *SessionCollector) Collect(ch chan<- prometheus.Metric) {
	src := c.source.Load()
	if src == nil {
		return
	}
	select {
	case <-src.elected:
	default:
		return
	}
	var list burnerv1alpha1.BurnerSessionList
	// Read-only use of the cached objects: no need for a deep copy of every session at each scrape.
	if err := src.reader.List(context.Background(), &list, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(tokenExpiryDesc, err)
		return
	}
	for i := range list.Items {
		bs := &list.Items[i]
		// Five series per session share the session's label pairs (MustNewConstMetric would build them anew for
		// each): a scrape of 10,000 sessions makes a third of the garbage.
		name := &dto.LabelPair{Name: &sessionLabels[1], Value: &bs.Name}
		namespace := &dto.LabelPair{Name: &sessionLabels[0], Value: &bs.Namespace}
		session := []*dto.LabelPair{name, namespace}
		if bs.Status.ExpiresAt != nil {
			ch <- gauge(tokenExpiryDesc, session, float64(bs.Status.ExpiresAt.Unix()))
		}
		if bs.Status.RefreshAt != nil {
			ch <- gauge(nextRefreshDesc, session, float64(bs.Status.RefreshAt.Unix()))
		}
		if synced := meta.FindStatusCondition(bs.Status.Conditions, burnerv1alpha1.ConditionSynced); synced != nil &&
			synced.Status == metav1.ConditionFalse {
			reason := &dto.LabelPair{Name: &reasonLabel, Value: &synced.Reason}
			ch <- gauge(refreshFailingDesc, []*dto.LabelPair{name, namespace, reason}, 1)
		}
		ready := metav1.ConditionUnknown
		if c := meta.FindStatusCondition(bs.Status.Conditions, burnerv1alpha1.ConditionReady); c != nil {
			ready = c.Status
		}
		for j, status := range conditionStatuses {
			v := 0.0
			if status == ready {
				v = 1
			}
			ch <- gauge(readyStatusDesc, []*dto.LabelPair{conditionLabels[j], name, namespace}, v)
		}
	}
}

// conditionLabels are the condition label pairs of burner_session_ready_status, one per conditionStatuses.
var conditionLabels = func() []*dto.LabelPair {
	pairs := make([]*dto.LabelPair, len(conditionStatuses))
	for i, status := range conditionStatuses {
		pairs[i] = &dto.LabelPair{Name: new("condition"), Value: new(string(status))}
	}
	return pairs
}()

// sessionGauge is one per-session sample. Its labels, sorted by name as the registry expects, are shared with the
// session's other series and are never modified.
type sessionGauge struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	value  float64
}

func gauge(desc *prometheus.Desc, labels []*dto.LabelPair, v float64) prometheus.Metric {
	return &sessionGauge{desc: desc, labels: labels, value: v}
}

func (g *sessionGauge) Desc() *prometheus.Desc { return g.desc }

func (g *sessionGauge) Write(m *dto.Metric) error {
	m.Label, m.Gauge = g.labels, &dto.Gauge{Value: &g.value}
	return nil
}
