package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/policy"
)

// Reasons of the healthy conditions and of the short-lifetime warning.
const (
	ReasonTokenValid    = "TokenValid"
	ReasonUpToDate      = "UpToDate"
	ReasonShortLifetime = "ShortLifetime"

	shortLifetimeMessage = "the token lifetime leaves less than the mount-sync margin before expiry: readers of the " +
		"Secret always get a valid token, a copy mounted in a pod may briefly be expired; raise ttlSeconds to 180 or more"
)

// markValid reports a valid token that needs nothing now, and comes back at its refresh time.
func (r *BurnerSessionReconciler) markValid(bs *burnerv1alpha1.BurnerSession, in policy.Input) ctrl.Result {
	refreshAt := r.setReady(bs, in)
	meta.SetStatusCondition(&bs.Status.Conditions, metav1.Condition{
		Type: burnerv1alpha1.ConditionSynced, Status: metav1.ConditionTrue, Reason: ReasonUpToDate,
		Message: "the token matches the spec", ObservedGeneration: bs.Generation,
	})
	clearFailure(bs)
	return requeueAt(in.Now, refreshAt)
}

// markFailed reports a failure: Synced=False with its reason, and Ready from what the Secret still holds.
func (r *BurnerSessionReconciler) markFailed(bs *burnerv1alpha1.BurnerSession, in policy.Input, f failure) {
	meta.SetStatusCondition(&bs.Status.Conditions, metav1.Condition{
		Type: burnerv1alpha1.ConditionSynced, Status: metav1.ConditionFalse, Reason: f.Reason,
		Message: f.Message, ObservedGeneration: bs.Generation,
	})
	r.setReady(bs, in)
}

// setReady sets Ready and the token fields of status from the Secret, and returns the token's refresh time. A token
// that is still valid keeps Ready True while refreshing fails (Synced carries the failure); otherwise Ready says
// why, preferring the failure that keeps a new token from coming (Expired excepted, which says it all).
func (r *BurnerSessionReconciler) setReady(bs *burnerv1alpha1.BurnerSession, in policy.Input) time.Time {
	cond := metav1.Condition{Type: burnerv1alpha1.ConditionReady, ObservedGeneration: bs.Generation}
	var refreshAt time.Time
	if in.Secret != nil && in.ParseErr == nil && metav1.IsControlledBy(in.Secret, bs) {
		t := in.Token
		refreshAt = policy.RefreshTime(t.IssuedAt, t.ExpiresAt, string(bs.UID))
		bs.Status.IssuedAt = timePtr(t.IssuedAt)
		bs.Status.ExpiresAt = timePtr(t.ExpiresAt)
		bs.Status.RefreshAt = timePtr(refreshAt)
		bs.Status.GrantedScopes = in.Token.Scopes
	}
	reason, message, notReady := policy.NotReady.Evaluate(in)
	switch {
	case !notReady:
		cond.Status, cond.Reason = metav1.ConditionTrue, ReasonTokenValid
		cond.Message = fmt.Sprintf("token valid until %s, refresh at %s",
			in.Token.ExpiresAt.UTC().Format(time.RFC3339), refreshAt.UTC().Format(time.RFC3339))
		if !policy.CoversMountSync(refreshAt, in.Token.ExpiresAt) {
			cond.Message += "; " + shortLifetimeMessage
		}
	default:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, reason, message
		if synced := meta.FindStatusCondition(bs.Status.Conditions, burnerv1alpha1.ConditionSynced); reason != policy.ReasonExpired &&
			synced != nil && synced.Status == metav1.ConditionFalse {
			cond.Reason, cond.Message = synced.Reason, synced.Message
		}
	}
	meta.SetStatusCondition(&bs.Status.Conditions, cond)
	return refreshAt
}

// patchStatus sends the status change, if any, as a merge patch, and joins its error with the reconcile's.
//
// Writing the token Secret triggers a second reconcile through the Secret watch, often before the cache has seen
// the status patch of the first one. That reconcile computes the same status from the same Secret, so when the
// cached session is still the version the last patch was made from, the patch is skipped rather than re-sent.
func (r *BurnerSessionReconciler) patchStatus(ctx context.Context, orig, bs *burnerv1alpha1.BurnerSession, reterr error) error {
	key := client.ObjectKeyFromObject(bs)
	if apiequality.Semantic.DeepEqual(orig.Status, bs.Status) {
		return reterr
	}
	if from, ok := r.patchedFrom.Load(key); ok {
		if from == orig.ResourceVersion {
			return reterr
		}
		// The cache has moved past that version: the entry has served its purpose.
		r.patchedFrom.Delete(key)
	}
	if err := r.Status().Patch(ctx, bs, client.MergeFrom(orig)); err != nil {
		return errors.Join(reterr, client.IgnoreNotFound(err))
	}
	r.patchedFrom.Store(key, orig.ResourceVersion)
	return reterr
}

func timePtr(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t)
	return &mt
}
