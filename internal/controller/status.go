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
	"context"
	"fmt"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/policy"
)

// outcome is what one reconcile observed and did. The status and the requeue are derived from it alone.
type outcome struct {
	// in is the token Secret as observed after any write.
	in policy.Input
	// failure is why no valid token could be written, nil when none was due or one was written.
	failure *failure
	source  failureSource
	// fingerprint is what an attempted failure was made with; retryIn is what is left of a held failure's backoff.
	fingerprint string
	retryIn     time.Duration
	// minted: a new token was issued and written.
	minted bool
	// heldBack: the call was deferred this long (until the per-key limiter's slot for it, or until its issuer is
	// checked); nothing else happened.
	heldBack time.Duration
}

// updateStatus derives the status of bs from the outcome (Synced and the failure record, the token fields, Ready,
// observedGeneration) and says when to come back: never later than the current token's expiry, so that Ready
// turns False on time whatever else is going on.
func updateStatus(bs *burnerv1alpha1.BurnerSession, o outcome) ctrl.Result {
	st, in, f := &bs.Status, o.in, o.failure
	if o.heldBack > 0 {
		// Not a failure and nothing decided: the status stands, unless its Ready has become a lie (the token
		// expired while the session waited for the limiter). The session comes back exactly when its slot is due
		// (the limiter holds it only that long), or at its token's expiry if that is sooner.
		if meta.IsStatusConditionTrue(st.Conditions, burnerv1alpha1.ConditionReady) {
			meta.SetStatusCondition(&st.Conditions, readyCondition(bs, in, nil, false))
		}
		if in.Usable() && in.Now.Before(in.Token.ExpiresAt) {
			return ctrl.Result{RequeueAfter: min(o.heldBack, in.Token.ExpiresAt.Sub(in.Now))}
		}
		return ctrl.Result{RequeueAfter: o.heldBack}
	}
	st.SecretName = bs.TokenSecretName()
	if in.Usable() {
		st.IssuedAt, st.ExpiresAt, st.RefreshAt = timePtr(in.Token.IssuedAt), timePtr(in.Token.ExpiresAt), timePtr(in.RefreshAt)
		st.GrantedScopes = in.Token.Scopes
	}
	synced := metav1.Condition{Type: burnerv1alpha1.ConditionSynced, ObservedGeneration: bs.Generation,
		Status: metav1.ConditionTrue, Reason: burnerv1alpha1.ReasonUpToDate, Message: "the token matches the spec"}
	if f != nil {
		synced.Status, synced.Reason, synced.Message = metav1.ConditionFalse, f.Reason, burnerapi.Truncate(f.Message)
	}
	meta.SetStatusCondition(&st.Conditions, synced)
	meta.SetStatusCondition(&st.Conditions, readyCondition(bs, in, f, o.source == refused))
	st.ObservedGeneration = bs.Generation

	switch {
	case f == nil:
		st.FailedAttempts, st.LastFailureTime, st.LastFailureReason, st.LastFailureInputs = 0, nil, "", ""
		if !in.Usable() {
			return ctrl.Result{}
		}
		return requeueAt(in.Now, in.RefreshAt)
	case o.source == attempted:
		if st.LastFailureInputs != o.fingerprint {
			// A new spec, force-refresh value or key starts the backoff afresh.
			st.FailedAttempts = 0
		}
		if policy.RetryOf(f.Reason) != policy.RetryAfterServer {
			// A 429 is paced by the server's Retry-After (and the per-key limiter), not by the backoff: counting
			// it would stretch the wait after the next 5xx for nothing.
			st.FailedAttempts++
		}
		st.LastFailureTime, st.LastFailureReason, st.LastFailureInputs = timePtr(in.Now), f.Reason, o.fingerprint
		return nextWake(in, policy.RetryDelay(f.Reason, st.FailedAttempts, f.RetryAfter, string(bs.UID)))
	case o.source == stillHeld:
		return nextWake(in, o.retryIn)
	default:
		// Refused: the Secret in the way holds no token of ours; its watch brings the session back.
		return ctrl.Result{}
	}
}

// readyCondition is Ready from the Secret: True while it holds a usable token (a failing refresh shows in Synced),
// otherwise False with the reason, preferring the failure that keeps a new token from coming (Expired excepted,
// which says it all). A refusal (an issuer missing or not ready, its policy, a key Secret that does not opt in)
// makes Ready False at once: the token left in the Secret is no longer one the session may have.
func readyCondition(bs *burnerv1alpha1.BurnerSession, in policy.Input, f *failure, refusal bool) metav1.Condition {
	cond := metav1.Condition{Type: burnerv1alpha1.ConditionReady, ObservedGeneration: bs.Generation}
	reason, message, notReady := policy.NotReady.Evaluate(in)
	switch {
	case refusal:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, f.Reason, burnerapi.Truncate(f.Message)
	case !notReady:
		cond.Status, cond.Reason = metav1.ConditionTrue, burnerv1alpha1.ReasonTokenValid
		cond.Message = fmt.Sprintf("token valid until %s, refresh at %s",
			in.Token.ExpiresAt.UTC().Format(time.RFC3339), in.RefreshAt.UTC().Format(time.RFC3339))
		if !policy.CoversMountSync(in.RefreshAt, in.Token.ExpiresAt) {
			cond.Message += "; " + shortLifetimeMessage
		}
	case f != nil && reason != burnerv1alpha1.ReasonExpired:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, f.Reason, burnerapi.Truncate(f.Message)
	default:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, reason, message
	}
	return cond
}

// nextWake comes back after wait, but no later than the token's last chance to be refreshed, nor than its expiry.
func nextWake(in policy.Input, wait time.Duration) ctrl.Result {
	at := in.Now.Add(wait)
	for _, limit := range []time.Time{in.LastChanceAt(), in.Token.ExpiresAt} {
		if in.Usable() && in.Now.Before(limit) && limit.Before(at) {
			at = limit
		}
	}
	return requeueAt(in.Now, at)
}

// requeueAt is the result that brings the session back at t, rounded up to the second; the workqueue runs on the
// real clock, so this is a duration, not a time.
func requeueAt(now, t time.Time) ctrl.Result {
	d := t.Sub(now)
	if d <= 0 {
		return ctrl.Result{RequeueAfter: time.Second}
	}
	return ctrl.Result{RequeueAfter: d.Truncate(time.Second) + time.Second}
}

// patchStatus sends the status change, if any, as a merge patch.
//
// Writing the token Secret triggers a second reconcile through the Secret watch, often before the cache has seen
// the status patch of the first one. That reconcile computes the same status from the same Secret, so when the
// cached session is still the version the last patch was made from, the patch is skipped rather than re-sent.
func (r *BurnerSessionReconciler) patchStatus(ctx context.Context, orig, bs *burnerv1alpha1.BurnerSession) error {
	key := client.ObjectKeyFromObject(bs)
	if apiequality.Semantic.DeepEqual(orig.Status, bs.Status) {
		return nil
	}
	if from, ok := r.patchedFrom.Load(key); ok {
		if from == orig.ResourceVersion {
			return nil
		}
		// The cache has moved past that version: the entry has served its purpose.
		r.patchedFrom.Delete(key)
	}
	if err := r.Status().Patch(ctx, bs, client.MergeFrom(orig)); err != nil {
		return client.IgnoreNotFound(err)
	}
	r.patchedFrom.Store(key, orig.ResourceVersion)
	return nil
}

func timePtr(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t)
	return &mt
}
