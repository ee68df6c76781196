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

// Package report turns what happens to each CSI volume's token into metrics (per volume) and Warning events on the
// pod, where the app team looks. Labels and notes name volumes, pods and reasons, never a token.
package report

import (
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/burner-operator/burner-operator/internal/csi/storage"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/mintapi"
)

const labelVolume, labelNamespace, labelPod = "volume_id", "namespace", "pod"

var volumeLabels = []string{labelVolume, labelNamespace, labelPod}

// Reporter implements volume.Reporter.
type Reporter struct {
	expiration *prometheus.GaugeVec
	refreshAt  *prometheus.GaugeVec
	failing    *prometheus.GaugeVec
	issued     prometheus.Counter
	failures   *prometheus.CounterVec
	// events is nil when the plugin records no events.
	events PodWarner
}

// PodWarner records a Warning event on a pod (PodEvents).
type PodWarner interface {
	Warn(pod mintapi.PodRef, reason, action, note string)
}

// New registers the metrics with reg; events may be nil (no pod events).
func New(reg prometheus.Registerer, events PodWarner) *Reporter {
	r := &Reporter{
		expiration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "burner_csi_volume_token_expiration_timestamp_seconds",
			Help: "When the token in the volume's files expires."}, volumeLabels),
		refreshAt: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "burner_csi_volume_next_refresh_timestamp_seconds",
			Help: "When the node plugin next tries to replace the volume's token."}, volumeLabels),
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "burner_csi_volume_refresh_failing",
			Help: "1 while the volume's last refresh failed, with the failure's reason."},
			append(slices.Clip(volumeLabels), "reason")),
		issued: prometheus.NewCounter(prometheus.CounterOpts{Name: "burner_csi_tokens_issued_total",
			Help: "Tokens written into volumes (first mints and refreshes)."}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "burner_csi_refresh_failures_total",
			Help: "Failed refreshes by reason."}, []string{"reason"}),
		events: events,
	}
	reg.MustRegister(r.expiration, r.refreshAt, r.failing, r.issued, r.failures)
	return r
}

func labels(st storage.State) prometheus.Labels {
	return prometheus.Labels{labelVolume: st.VolumeID, labelNamespace: st.Pod.Namespace, labelPod: st.Pod.Name}
}

// Current records the volume's current token; minted counts it as issued.
func (r *Reporter) Current(st storage.State, minted bool) {
	l := labels(st)
	r.expiration.With(l).Set(unix(st.ExpiresAt))
	r.refreshAt.With(l).Set(unix(st.RefreshAt))
	r.failing.DeletePartialMatch(l)
	if minted {
		r.issued.Inc()
	}
}

// RefreshFailed records the failure and tells the pod.
func (r *Reporter) RefreshFailed(st storage.State, f *failure.Error, retryAt time.Time) {
	l := labels(st)
	r.failing.DeletePartialMatch(l)
	r.failing.With(prometheus.Labels{labelVolume: st.VolumeID, labelNamespace: st.Pod.Namespace, labelPod: st.Pod.Name,
		"reason": f.Reason}).Set(1)
	r.refreshAt.With(l).Set(unix(retryAt))
	r.failures.WithLabelValues(f.Reason).Inc()
	if r.events == nil {
		return
	}
	r.events.Warn(st.Pod, f.Reason, "RefreshToken", fmt.Sprintf(
		"Refreshing the token of CSI volume %s failed (%s); the last token stays in place until %s, next attempt at %s",
		st.VolumeID, f.Error(), st.ExpiresAt.UTC().Format(time.RFC3339), retryAt.UTC().Format(time.RFC3339)))
}

// Removed drops the volume's series.
func (r *Reporter) Removed(st storage.State) {
	l := labels(st)
	r.expiration.Delete(l)
	r.refreshAt.Delete(l)
	r.failing.DeletePartialMatch(l)
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
