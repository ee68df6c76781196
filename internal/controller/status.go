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
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/policy"
)

// setStatus derives the status of bs from the outcome: Synced and the failure record, the token fields (cleared
// when the Secret holds no token of ours: gone, or somebody else's), Ready, and observedGeneration (set only when
// the spec was reconciled without a failure).
func setStatus(bs *burnerv1alpha1.BurnerSession, o outcome) {
	st, in, f := &bs.Status, o.in, o.failure
	if o.heldBack > 0 {
		// Not a failure and nothing decided: the status stands, unless its Ready has become a lie (the token
		// expired while the session waited for the limiter).
		if meta.IsStatusConditionTrue(st.Conditions, burnerv1alpha1.ConditionReady) {
			meta.SetStatusCondition(&st.Conditions, readyCondition(bs, in, nil, false))
		}
		return
	}
	st.SecretName = bs.TokenSecretName()
	st.IssuedAt, st.ExpiresAt, st.RefreshAt, st.GrantedScopes = nil, nil, nil, nil
	if in.Usable() {
		st.IssuedAt, st.ExpiresAt, st.RefreshAt = new(metav1.NewTime(in.Token.IssuedAt)),
			new(metav1.NewTime(in.Token.ExpiresAt)), new(metav1.NewTime(in.RefreshAt))
		st.GrantedScopes = in.Token.Scopes
	}
	synced := metav1.Condition{Type: burnerv1alpha1.ConditionSynced, ObservedGeneration: bs.Generation,
		Status: metav1.ConditionTrue, Reason: burnerv1alpha1.ReasonUpToDate, Message: "the token matches the spec"}
	switch {
	case f != nil:
		synced.Status, synced.Reason, synced.Message = metav1.ConditionFalse, f.Reason, burnerapi.Truncate(f.Message)
	case !o.forceRefreshAt.IsZero():
		// Not a failure: the token matches the spec, and the force-refresh is answered at the time given.
		synced.Reason, synced.Message = burnerv1alpha1.ReasonForceRefreshDeferred, o.deferral
	}
	meta.SetStatusCondition(&st.Conditions, synced)
	meta.SetStatusCondition(&st.Conditions, readyCondition(bs, in, f, o.source == refused))

	switch {
	case f == nil:
		st.ObservedGeneration = bs.Generation
		st.FailedAttempts, st.LastFailureTime, st.LastFailureReason, st.LastFailureInputs = 0, nil, "", ""
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
		st.LastFailureTime, st.LastFailureReason, st.LastFailureInputs = new(metav1.NewTime(in.Now)), f.Reason,
			o.fingerprint
	}
}

// readyCondition is Ready from the Secret: True while it holds a usable token (a failing refresh shows in Synced),
// otherwise False with the reason, preferring the failure that keeps a new token from coming (Expired excepted,
// which says it all). A refusal (an issuer missing or not ready, its policy, a key Secret that does not opt in)
// makes Ready False at once: the token left in the Secret is no longer one the session may have.
func readyCondition(bs *burnerv1alpha1.BurnerSession, in policy.Input, f *failure.Error, refusal bool) metav1.Condition {
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
			cond.Message += "; " + policy.ShortLifetimeMessage
		}
	case f != nil && reason != burnerv1alpha1.ReasonExpired:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, f.Reason, burnerapi.Truncate(f.Message)
	default:
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, reason, message
	}
	return cond
}

// sentStatus is the last status patch sent for a session: the resourceVersion it was computed from and a digest
// of the status it set.
type sentStatus struct {
	from   string
	digest [sha256.Size]byte
}

// patchStatus sends the status change, if any, as a merge patch.
//
// Writing the token Secret triggers a second reconcile through the Secret watch, often before the cache has seen
// the status patch of the first one. That reconcile usually computes the same status from the same Secret: when
// the cached session is still the version the last patch was computed from, and the status is the one that patch
// set, the patch is skipped rather than re-sent. Any other status (a new failure, another failedAttempts, or the
// cached version's own status back again) is diffed against the apiserver's copy, which holds that patch's status,
// not the cached one's: a diff against the cache would drop a status equal to the cached one.
func (r *BurnerSessionReconciler) patchStatus(ctx context.Context, orig, bs *burnerv1alpha1.BurnerSession) error {
	key := client.ObjectKeyFromObject(bs)
	sent := sentStatus{from: orig.ResourceVersion, digest: statusDigest(bs.Status)}
	if last, ok := r.sent.Load(key); ok && last.(sentStatus).from == orig.ResourceVersion {
		if last.(sentStatus).digest == sent.digest {
			return nil
		}
		live := &burnerv1alpha1.BurnerSession{}
		if err := r.APIReader.Get(ctx, key, live); err != nil {
			return client.IgnoreNotFound(err)
		}
		orig = orig.DeepCopy()
		orig.Status = live.Status
	}
	if apiequality.Semantic.DeepEqual(orig.Status, bs.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, bs, client.MergeFrom(orig)); err != nil {
		return client.IgnoreNotFound(err)
	}
	r.sent.Store(key, sent)
	return nil
}

// statusDigest digests a status, leaving out the conditions' transition times: they are taken from the wall clock
// when a condition changes, so two reconciles of one version that decide the same differ there.
func statusDigest(st burnerv1alpha1.BurnerSessionStatus) [sha256.Size]byte {
	st.Conditions = append([]metav1.Condition(nil), st.Conditions...)
	for i := range st.Conditions {
		st.Conditions[i].LastTransitionTime = metav1.Time{}
	}
	data, _ := json.Marshal(st) // a status always marshals
	return sha256.Sum256(data)
}
