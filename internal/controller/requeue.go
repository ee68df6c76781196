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

	ctrl "sigs.k8s.io/controller-runtime"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/policy"
)

// requeue says when to come back to bs, given the outcome and the status set from it: never later than the current
// token's expiry, so that Ready turns False on time whatever else is going on.
func requeue(bs *burnerv1alpha1.BurnerSession, o outcome) ctrl.Result {
	in, f := o.in, o.failure
	switch {
	case o.heldBack > 0:
		// The session comes back exactly when its slot is due (the limiter holds it only that long), or at its
		// token's expiry if that is sooner.
		if in.Usable() && in.Now.Before(in.Token.ExpiresAt) {
			return ctrl.Result{RequeueAfter: min(o.heldBack, in.Token.ExpiresAt.Sub(in.Now))}
		}
		return ctrl.Result{RequeueAfter: o.heldBack}
	case f == nil:
		if !in.Usable() {
			return ctrl.Result{}
		}
		if !o.forceRefreshAt.IsZero() && o.forceRefreshAt.Before(in.RefreshAt) {
			return requeueAt(in.Now, o.forceRefreshAt)
		}
		return requeueAt(in.Now, in.RefreshAt)
	case o.source == attempted:
		return nextWake(in, policy.RetryDelay(f.Reason, bs.Status.FailedAttempts, f.RetryAfter, string(bs.UID)))
	case o.source == stillHeld:
		return nextWake(in, o.retryIn)
	default:
		// Refused: what forbids the attempt is watched (the Secret in the way, the issuer, the key Secret, the
		// namespace's labels), and its change brings the session back.
		return ctrl.Result{}
	}
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
