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

package controller

import (
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/policy"
)

// failure is why no valid token could be written, as the session's status and events report it. Messages come from
// fixed templates: never from a response body, the key or the token. How it is retried follows from its reason
// (policy.RetryOf).
type failure struct {
	Reason  string
	Message string
	// RetryAfter is the server's wait, when it gave one.
	RetryAfter time.Duration
}

// failureSource says how a failure came about, which decides what is recorded and announced.
type failureSource int

const (
	// attempted: an attempt made now failed; it is counted in the status record (backoff) and announced.
	attempted failureSource = iota
	// refused: what was observed forbids an attempt (a foreign Secret in the way); announced, not counted, and
	// decided afresh at every reconcile.
	refused
	// stillHeld: the failure recorded by an earlier attempt still holds the next one back; nothing new to report.
	stillHeld
)

// attemptFailed is the outcome of an attempt with this fingerprint that failed now.
func attemptFailed(in policy.Input, fingerprint string, f failure) outcome {
	return outcome{in: in, failure: &f, source: attempted, fingerprint: fingerprint}
}

// recordedFailure is the failure the status records, with the message it was reported with.
func recordedFailure(bs *burnerv1alpha1.BurnerSession) *failure {
	f := &failure{Reason: bs.Status.LastFailureReason, Message: "the last attempt failed"}
	if synced := meta.FindStatusCondition(bs.Status.Conditions, burnerv1alpha1.ConditionSynced); synced != nil &&
		synced.Reason == f.Reason {
		f.Message = synced.Message
	}
	return f
}

// classify maps a client error to a failure. The error's own text is built by burnerapi from fixed templates that
// carry no secret; it is still not copied into conditions, only its kind and status code.
func classify(err error) failure {
	var apiErr *burnerapi.Error
	status := ""
	if errors.As(err, &apiErr) && apiErr.StatusCode != 0 {
		status = fmt.Sprintf(" (HTTP %d)", apiErr.StatusCode)
	}
	switch burnerapi.KindOf(err) {
	case burnerapi.KindInvalidRequest:
		return failure{Reason: burnerv1alpha1.ReasonInvalidRequest,
			Message: "the Burner API rejected the request" + status + "; fix the spec"}
	case burnerapi.KindUnauthorized:
		if status == "" {
			// Refused by the client before any call: the key cannot even be sent as a header.
			return failure{Reason: burnerv1alpha1.ReasonInvalidAPIKey,
				Message: "the API key is unusable (" + upstreamDetail(err) + "); fix the API key Secret"}
		}
		return failure{Reason: burnerv1alpha1.ReasonInvalidAPIKey,
			Message: "the Burner API rejected the API key" + status + "; update the API key Secret"}
	case burnerapi.KindRateLimited:
		return failure{Reason: burnerv1alpha1.ReasonRateLimited, RetryAfter: burnerapi.RetryAfter(err),
			Message: "rate limited by the Burner API" + status}
	default:
		return failure{Reason: burnerv1alpha1.ReasonUpstreamError,
			Message: "the Burner API call failed" + status + ": " + upstreamDetail(err)}
	}
}

// upstreamDetail is a short, secret-free description of a transport or response failure.
func upstreamDetail(err error) string {
	var apiErr *burnerapi.Error
	if errors.As(err, &apiErr) && apiErr.Message != "" {
		return apiErr.Message
	}
	return "unexpected error"
}

// apiStatusReason names an apiserver error without its message.
func apiStatusReason(err error) string {
	if reason := apierrors.ReasonForError(err); reason != metav1.StatusReasonUnknown {
		return string(reason)
	}
	return "request failed"
}
