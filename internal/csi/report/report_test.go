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

package report

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/burner-operator/burner-operator/internal/csi/storage"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/mintapi"
)

var t0 = time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)

func volume() storage.State {
	return storage.State{VolumeID: "csi-1", Pod: mintapi.PodRef{Namespace: "shop", Name: "app-0", UID: "uid-1"},
		PodToken: mintapi.Token{Value: "eyJpod-token"}, IssuedAt: t0, ExpiresAt: t0.Add(time.Minute),
		RefreshAt: t0.Add(40 * time.Second)}
}

// Per-volume series follow the volume: set on mint, the failing series while a refresh fails, all gone on removal.
// The event on the pod names the reason and the times, never a token.
func TestReporterSeriesAndEvents(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	warner := &warnings{}
	r := New(reg, warner)
	st := volume()
	r.Current(st, true)
	r.Current(st, false) // resumed after a restart: no new token counted
	if got := testutil.ToFloat64(r.issued); got != 1 {
		t.Fatalf("issued %v", got)
	}
	r.RefreshFailed(st, &failure.Error{Reason: "UpstreamError", Message: "the API answered 503"}, t0.Add(50*time.Second))
	if got := testutil.ToFloat64(r.failing.WithLabelValues("csi-1", "shop", "app-0", "UpstreamError")); got != 1 {
		t.Fatalf("failing %v", got)
	}
	if got := testutil.ToFloat64(r.refreshAt.WithLabelValues("csi-1", "shop", "app-0")); got != float64(t0.Add(50*time.Second).Unix()) {
		t.Fatalf("next refresh %v", got)
	}
	if len(warner.got) != 1 {
		t.Fatalf("%d events", len(warner.got))
	}
	if event := warner.got[0]; !strings.HasPrefix(event, "shop/app-0 UpstreamError RefreshToken ") ||
		!strings.Contains(event, "csi-1") || !strings.Contains(event, "UpstreamError: the API answered 503") ||
		!strings.Contains(event, "until 2026-12-05T18:01:00Z, next attempt at 2026-12-05T18:00:50Z") ||
		strings.Contains(event, "eyJ") {
		t.Fatalf("event %q", event)
	}
	r.Current(st, true)
	if n := testutil.CollectAndCount(r.failing); n != 0 {
		t.Fatalf("%d failing series after a success", n)
	}
	r.Removed(st)
	if n := testutil.CollectAndCount(r.expiration) + testutil.CollectAndCount(r.refreshAt); n != 0 {
		t.Fatalf("%d series left after removal", n)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

type warnings struct{ got []string }

func (w *warnings) Warn(pod mintapi.PodRef, reason, action, note string) {
	w.got = append(w.got, pod.String()+" "+reason+" "+action+" "+note)
}
