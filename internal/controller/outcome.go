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
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/policy"
)

// outcome is what one reconcile observed and did. The status, the requeue and what is reported are derived from it
// alone.
type outcome struct {
	// in is the token Secret as observed after any write.
	in policy.Input
	// failure is why no valid token could be written, nil when none was due or one was written. Its message comes
	// from a fixed template: never from a response body, the key or the token.
	failure *failure.Error
	source  failureSource
	// fingerprint is what an attempted failure was made with; retryIn is what is left of a held failure's backoff.
	fingerprint string
	retryIn     time.Duration
	// minted: a new token was issued and written.
	minted bool
	// forceRefreshAt: a new force-refresh value waits until then (policy.ForceRefreshWait), deferral says so.
	forceRefreshAt time.Time
	deferral       string
	// heldBack: the call was deferred this long (until the per-key limiter's slot for it, or until its issuer is
	// checked); nothing else happened.
	heldBack time.Duration
}

// failureSource says how a failure came about, which decides what is recorded and announced. How it is retried
// follows from its reason (policy.RetryOf).
type failureSource int

const (
	// attempted: an attempt made now failed; it is counted in the status record (backoff) and announced.
	attempted failureSource = iota
	// refused: what was observed forbids an attempt (a foreign Secret in the way, an issuer missing or not ready,
	// its policy, a key Secret that does not opt in); announced, not counted, and decided afresh at every reconcile.
	refused
	// stillHeld: the failure recorded by an earlier attempt still holds the next one back; nothing new to report.
	stillHeld
)

// attemptFailed is the outcome of an attempt with this fingerprint that failed now.
func attemptFailed(in policy.Input, fingerprint string, f *failure.Error) outcome {
	return outcome{in: in, failure: f, source: attempted, fingerprint: fingerprint}
}

// refusedBy is the outcome of a refusal.
func refusedBy(in policy.Input, f *failure.Error) outcome {
	return outcome{in: in, failure: f, source: refused}
}

// recordedFailure is the failure the status records, with the message it was reported with.
func recordedFailure(bs *burnerv1alpha1.BurnerSession) *failure.Error {
	f := &failure.Error{Reason: bs.Status.LastFailureReason, Message: "the last attempt failed"}
	if synced := meta.FindStatusCondition(bs.Status.Conditions, burnerv1alpha1.ConditionSynced); synced != nil &&
		synced.Reason == f.Reason {
		f.Message = synced.Message
	}
	return f
}
