package controller

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/policy"
)

// fail records a failed attempt in status (so backoff survives a restart), emits a Warning event and says when
// to come back. The last good token is left untouched.
func (r *BurnerSessionReconciler) fail(bs *burnerv1alpha1.BurnerSession, in policy.Input, inputs string, f failure) ctrl.Result {
	st := &bs.Status
	if st.LastFailureInputs != inputs {
		// A new spec, force-refresh value or key starts the backoff afresh.
		st.FailedAttempts = 0
	}
	st.FailedAttempts++
	now := metav1.NewTime(in.Now)
	st.LastFailureTime = &now
	st.LastFailureReason = f.Reason
	st.LastFailureInputs = inputs
	r.markFailed(bs, in, f)
	r.Recorder.Eventf(bs, nil, corev1.EventTypeWarning, f.Reason, "Issue", f.Message)
	issueFailures.WithLabelValues(f.Reason).Inc()

	if f.WaitForChange {
		// Nothing to retry on a timer; only come back to flip Ready when the old token expires.
		return nextWake(in, 0)
	}
	if f.RetryAfter > 0 {
		return nextWake(in, f.RetryAfter)
	}
	return nextWake(in, policy.Backoff(st.FailedAttempts, string(bs.UID)))
}

// backingOff says whether the last failure, made with the same inputs, still forbids a new attempt, and for how
// long. Failures that need a change wait indefinitely (wait 0); the others wait out the exponential backoff.
func (r *BurnerSessionReconciler) backingOff(bs *burnerv1alpha1.BurnerSession, inputs string, now time.Time) (time.Duration, bool) {
	st := bs.Status
	if st.FailedAttempts == 0 || st.LastFailureTime == nil || st.LastFailureInputs != inputs {
		return 0, false
	}
	switch st.LastFailureReason {
	case ReasonInvalidSpec, ReasonInvalidRequest, ReasonInvalidAPIKey, ReasonAPIKeyMissing, ReasonAPIKeySecretNotFound:
		return 0, true
	}
	// Rate limits are enforced by the shared per-key limiter, which knows the server's Retry-After.
	if st.LastFailureReason == ReasonRateLimited {
		return 0, false
	}
	// The status backoff also keeps a restarted operator from calling early.
	retryAt := st.LastFailureTime.Add(policy.Backoff(st.FailedAttempts, string(bs.UID)))
	if now.Before(retryAt) {
		return retryAt.Sub(now), true
	}
	return 0, false
}

// clearFailure resets the failure record after a success.
func clearFailure(bs *burnerv1alpha1.BurnerSession) {
	bs.Status.FailedAttempts = 0
	bs.Status.LastFailureTime = nil
	bs.Status.LastFailureReason = ""
	bs.Status.LastFailureInputs = ""
}

// nextWake comes back after wait (0: no timed retry), but no later than the current token's expiry, so that Ready
// turns False on time.
func nextWake(in policy.Input, wait time.Duration) ctrl.Result {
	if in.ParseErr == nil && in.Secret != nil && in.Now.Before(in.Token.ExpiresAt) {
		if untilExpiry := in.Token.ExpiresAt.Sub(in.Now); wait == 0 || untilExpiry < wait {
			return requeueAt(in.Now, in.Token.ExpiresAt)
		}
	}
	if wait == 0 {
		return ctrl.Result{}
	}
	return requeueAt(in.Now, in.Now.Add(wait))
}

// apiStatusReason names an apiserver error without its message.
func apiStatusReason(err error) string {
	if reason := apierrors.ReasonForError(err); reason != metav1.StatusReasonUnknown {
		return string(reason)
	}
	return "request failed"
}
