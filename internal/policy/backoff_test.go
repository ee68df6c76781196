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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

func TestBackoff(t *testing.T) {
	cases := []struct {
		attempts int32
		min, max time.Duration
	}{
		{0, 0, 0},
		{1, 10 * time.Second, 12 * time.Second},
		{2, 20 * time.Second, 24 * time.Second},
		{3, 40 * time.Second, 48 * time.Second},
		{6, 5 * time.Minute, 6 * time.Minute},
		{100, 5 * time.Minute, 6 * time.Minute},
	}
	for _, tc := range cases {
		if got := Backoff(tc.attempts, "uid"); got < tc.min || got > tc.max {
			t.Errorf("Backoff(%d) = %s, want %s..%s", tc.attempts, got, tc.min, tc.max)
		}
	}
}

// TestRetryTable: the one table decides both the wait after a failure and whether a recorded failure holds the next
// attempt back.
func TestRetryTable(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	failedAt := metav1.NewTime(now.Add(-5 * time.Second))
	cases := []struct {
		reason     string
		retryAfter time.Duration
		wantDelay  time.Duration // after the first failure, before jitter
		wantHeld   bool
		wantLeft   time.Duration // at now, before jitter
	}{
		// Waiting for a change also retries on a slow timer: 15 to 30 minutes.
		{reason: burnerv1alpha1.ReasonInvalidRequest, wantDelay: 15 * time.Minute, wantHeld: true,
			wantLeft: 15*time.Minute - 5*time.Second},
		{reason: burnerv1alpha1.ReasonInvalidAPIKey, wantDelay: 15 * time.Minute, wantHeld: true,
			wantLeft: 15*time.Minute - 5*time.Second},
		{reason: burnerv1alpha1.ReasonAPIKeySecretNotFound, wantDelay: 15 * time.Minute, wantHeld: true,
			wantLeft: 15*time.Minute - 5*time.Second},
		{reason: burnerv1alpha1.ReasonRateLimited, retryAfter: 7 * time.Second, wantDelay: 7 * time.Second},
		{reason: burnerv1alpha1.ReasonRateLimited, wantDelay: 10 * time.Second},
		{reason: burnerv1alpha1.ReasonUpstreamError, wantDelay: 10 * time.Second, wantHeld: true, wantLeft: 5 * time.Second},
		{reason: burnerv1alpha1.ReasonAPIKeySecretUnreadable, wantDelay: 10 * time.Second, wantHeld: true,
			wantLeft: 5 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			if got := RetryDelay(tc.reason, 1, tc.retryAfter, "uid"); got < tc.wantDelay || got > tc.wantDelay*2 {
				t.Errorf("RetryDelay = %s, want %s plus jitter", got, tc.wantDelay)
			}
			st := burnerv1alpha1.BurnerSessionStatus{FailedAttempts: 1, LastFailureTime: &failedAt,
				LastFailureReason: tc.reason, LastFailureInputs: "fp"}
			left, held := Held(st, "fp", "uid", now, time.Time{})
			if held != tc.wantHeld || left < tc.wantLeft || left > tc.wantLeft*2+2*time.Second {
				t.Errorf("Held = %s, %v; want %v, %s", left, held, tc.wantHeld, tc.wantLeft)
			}
			if _, held := Held(st, "other inputs", "uid", now, time.Time{}); held {
				t.Error("a failure holds back an attempt with other inputs")
			}
			if left, held := Held(st, "fp", "uid", now, now.Add(2*time.Second)); held && left > 2*time.Second {
				t.Errorf("held for %s past the token's last chance", left)
			}
		})
	}
}
