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

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/metrics"
	"github.com/burner-operator/burner-operator/internal/policy"
)

// report records the events, logs and failure counts of an outcome; orig is the session before setStatus, bs after
// it. A routine issue or refresh records no event: status and metrics show it, and at one refresh every few minutes per
// session, events would double the apiserver writes and fill etcd. Events are for what needs a look: failures, the
// short-lifetime warning (once per spec generation), recovery and repairs (recorded where they happen).
func (r *BurnerSessionReconciler) report(
	ctx context.Context, orig, bs *burnerv1alpha1.BurnerSession, o outcome, res ctrl.Result,
) {
	log := logf.FromContext(ctx)
	if f := o.failure; f != nil {
		// Every message is capped (an event over 1 KiB is rejected) and passed as an argument, never as a format.
		message := burnerapi.Truncate(f.Message)
		switch o.source {
		case attempted:
			r.Recorder.Eventf(bs, nil, corev1.EventTypeWarning, f.Reason, "Issue", "%s", message)
			metrics.IssueFailed(f.Reason)
			log.Info("could not issue a token", "reason", f.Reason, "message", message,
				"attempt", bs.Status.FailedAttempts, "retryIn", res.RequeueAfter)
		case refused:
			r.Recorder.Eventf(bs, nil, corev1.EventTypeWarning, f.Reason, "Refuse", "%s", message)
			log.Info("refusing to write the token Secret", "reason", f.Reason, "message", message)
		}
		return
	}
	if o.heldBack > 0 {
		return
	}
	if was := meta.FindStatusCondition(orig.Status.Conditions, burnerv1alpha1.ConditionSynced); !o.forceRefreshAt.IsZero() &&
		(was == nil || was.Reason != burnerv1alpha1.ReasonForceRefreshDeferred) {
		// Once per deferral, however many values are set meanwhile.
		r.Recorder.Eventf(bs, nil, corev1.EventTypeNormal, burnerv1alpha1.ReasonForceRefreshDeferred, "Issue", "%s",
			o.deferral)
	}
	if o.minted && !policy.CoversMountSync(o.in.RefreshAt, o.in.Token.ExpiresAt) &&
		orig.Status.ObservedGeneration != bs.Generation {
		r.Recorder.Eventf(bs, nil, corev1.EventTypeWarning, burnerv1alpha1.ReasonShortLifetime, "Issue",
			policy.ShortLifetimeMessage)
	}
	if n := orig.Status.FailedAttempts; n > 0 {
		r.Recorder.Eventf(bs, nil, corev1.EventTypeNormal, burnerv1alpha1.ReasonRecovered, "Issue",
			"recovered after %d failed attempts", n)
		log.Info("recovered", "failedAttempts", n)
	}
}
