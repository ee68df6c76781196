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
	"time"

	"k8s.io/apimachinery/pkg/types"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/metrics"
	"github.com/burner-operator/burner-operator/internal/mint"
	"github.com/burner-operator/burner-operator/internal/policy"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// attempt is a mint the session is due for: its admitted request, the template of its Secret, the fingerprint of
// what it is made with, and why it is due.
type attempt struct {
	req            mint.Request
	grant          mint.Grant
	template       burnerv1alpha1.SecretTemplate
	fingerprint    string
	reason, detail string
}

// mint issues a new token through the mint path and writes it, unless the spec or the key cannot work, a recorded
// failure still holds the attempt back, or the per-key limiter defers the call.
func (r *BurnerSessionReconciler) mint(
	ctx context.Context, bs *burnerv1alpha1.BurnerSession, in policy.Input, a attempt,
) (outcome, error) {
	call, err := r.Minter.Prepare(ctx, a.grant, a.req)
	if f, ok := failure.As(err); ok {
		return attemptFailed(in, a.fingerprint, f), nil
	}
	if wait, held := policy.Held(bs.Status, a.fingerprint, string(bs.UID), in.Now, in.LastChanceAt()); held {
		return outcome{in: in, failure: recordedFailure(bs), source: stillHeld, retryIn: wait}, nil
	}

	if err := ctx.Err(); err != nil {
		// The manager is stopping: no new call. The next leader finds the token still due.
		return outcome{}, err
	}
	// From here on the manager's shutdown does not cut the call short: the token it mints costs quota, and is
	// written (then reported, see Reconcile) within the grace period.
	ctx, cancel := finishing(ctx)
	defer cancel()
	logf.FromContext(ctx).V(1).Info("issuing token", "reason", a.reason, "detail", a.detail)
	var needBy time.Time
	if in.Usable() {
		needBy = in.Token.ExpiresAt
	}
	start := r.Clock.Now()
	sess, err := call.Call(ctx, needBy)
	if burnerapi.KindOf(err) == burnerapi.KindHeldBack {
		// A slot due now still needs a requeue: a zero wait would read as "nothing held back".
		return outcome{in: in, heldBack: max(burnerapi.RetryAfter(err), time.Millisecond)}, nil
	}
	f, failed := failure.As(err)
	if err != nil && !failed {
		// The call outlasted finishWithin after the manager began to stop: not the API's failure, so nothing to
		// record. The next leader finds the token still due.
		return outcome{}, err
	}
	if r.quiet(bs, f) {
		// A short 429 after calls answered otherwise: the session waits for its Retry-After without a status write
		// or an event (policy.QuietRateLimit).
		return outcome{in: in, heldBack: max(f.RetryAfter, policy.Recheck)}, nil
	}
	if failed {
		return attemptFailed(in, a.fingerprint, f), nil
	}
	t := tokensecret.Token{
		Value: sess.Token, IssuedAt: start, ExpiresAt: sess.ExpiresAt, Scopes: sess.Scopes,
		SpecHash: in.SpecHash, ForceRefresh: in.ForceRefresh,
	}
	// Remembered before the write, so that a retry after a failed write writes this token instead of minting another.
	r.lastIssued.remember(bs, t, false)
	written, err := r.writeSecret(ctx, bs, in.Secret, t, a.template)
	if err != nil {
		return writeFailed(in, a.fingerprint, err)
	}
	r.lastIssued.markWritten(bs)
	metrics.TokenIssued()
	return outcome{in: policy.NewInput(bs, written, r.Clock.Now()), minted: true}, nil
}

// quiet says whether f is a quiet 429 (policy.QuietRateLimit) that follows a call of bs answered otherwise; it
// remembers whether the call was answered so.
func (r *BurnerSessionReconciler) quiet(bs *burnerv1alpha1.BurnerSession, f *failure.Error) bool {
	key := types.NamespacedName{Namespace: bs.Namespace, Name: bs.Name}
	if f == nil || !policy.QuietRateLimit(f) {
		r.rateLimited.Delete(key)
		return false
	}
	_, again := r.rateLimited.LoadOrStore(key, struct{}{})
	return !again
}

// finishWithin bounds the work a reconcile has under way when the manager begins to stop: an API call (its own
// timeout, --burner-api-timeout, is 10 s by default) and the Secret write, then the status patch, each get this
// long, together within the manager's graceful shutdown (operator.GracefulShutdownTimeout, 30 s), which the pod's
// termination grace period (45 s) covers.
const finishWithin = 12 * time.Second

// finishing is ctx without its cancellation, for work that must not be dropped half done (a token minted costs
// quota, and is lost unless written): once ctx ends, the work gets finishWithin more.
func finishing(ctx context.Context) (context.Context, context.CancelFunc) {
	detached, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(finishWithin, cancel) })
	return detached, func() { stop(); cancel() }
}
