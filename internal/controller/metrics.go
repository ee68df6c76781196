package controller

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
)

// Metrics on the manager's metrics endpoint. Labels are namespace/name, a result class or a condition reason:
// never a key, a token or a wallet.
var (
	tokenExpiry = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "burner_token_expiration_timestamp_seconds",
		Help: "Unix time at which the token in the session's Secret expires.",
	}, []string{"namespace", "name"})
	refreshFailing = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "burner_session_refresh_failing",
		Help: "1 while the session's last attempt to issue or refresh its token failed, else 0.",
	}, []string{"namespace", "name"})
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
	metrics.Registry.MustRegister(tokenExpiry, refreshFailing, apiCalls, apiLatency, tokensIssued, issueFailures)
}

func observeAPICall(err error, took time.Duration) {
	result := "success"
	if err != nil {
		result = burnerapi.KindOf(err).String()
	}
	apiCalls.WithLabelValues(result).Inc()
	apiLatency.WithLabelValues(result).Observe(took.Seconds())
}

func setTokenExpiry(bs *burnerv1alpha1.BurnerSession, expiresAt time.Time) {
	tokenExpiry.WithLabelValues(bs.Namespace, bs.Name).Set(float64(expiresAt.Unix()))
}

func setRefreshFailing(bs *burnerv1alpha1.BurnerSession, failing bool) {
	v := 0.0
	if failing {
		v = 1
	}
	refreshFailing.WithLabelValues(bs.Namespace, bs.Name).Set(v)
}

func forgetSessionMetrics(namespace, name string) {
	tokenExpiry.DeleteLabelValues(namespace, name)
	refreshFailing.DeleteLabelValues(namespace, name)
}
