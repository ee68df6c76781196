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
	"encoding/hex"
	"time"

	"k8s.io/apimachinery/pkg/types"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/policy"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// issue mints a new token and writes it, unless the spec or the key cannot work, a recorded failure still holds
// the attempt back, or the per-key limiter defers the call.
func (r *BurnerSessionReconciler) issue(
	ctx context.Context, bs *burnerv1alpha1.BurnerSession, in policy.Input, src issuer.Source, reason, message string,
) (outcome, error) {
	if err := burnerapi.ValidateWalletAddress(bs.Spec.WalletAddress); err != nil {
		return attemptFailed(in, attemptFingerprint(in, src, ""), failure{
			Reason: burnerv1alpha1.ReasonInvalidSpec, Message: "spec.walletAddress: " + err.Error(),
		}), nil
	}
	apiKey, keyVersion, f := r.secrets.apiKey(ctx, src.KeySecret, src.KeyField)
	fingerprint := attemptFingerprint(in, src, keyVersion)
	if f != nil {
		return attemptFailed(in, fingerprint, *f), nil
	}
	if wait, held := policy.Held(bs.Status, fingerprint, string(bs.UID), in.Now, in.LastChanceAt()); held {
		return outcome{in: in, failure: recordedFailure(bs), source: stillHeld, retryIn: wait}, nil
	}

	logf.FromContext(ctx).V(1).Info("issuing token", "reason", reason, "detail", message)
	start := r.Clock.Now()
	req := burnerapi.Request{
		WalletAddress: bs.Spec.WalletAddress, Scopes: scopeStrings(bs.Spec.Scopes), TTLSeconds: bs.Spec.TTLSeconds,
		// The per-key limiter holds a slot for this caller, and serves tokens about to expire first.
		Caller: bs.Namespace + "/" + bs.Name, BaseURL: src.URL,
	}
	if in.Usable() {
		req.NeedBy = in.Token.ExpiresAt
	}
	sess, err := r.API.CreateSession(ctx, apiKey, req)
	if burnerapi.KindOf(err) == burnerapi.KindHeldBack {
		// A slot due now still needs a requeue: a zero wait would read as "nothing held back".
		return outcome{in: in, heldBack: max(burnerapi.RetryAfter(err), time.Millisecond)}, nil
	}
	if err != nil && ctx.Err() != nil {
		// The manager is stopping and cut the call short: not the API's failure, so nothing to record. The next
		// leader finds the token still due.
		return outcome{}, ctx.Err()
	}
	observeAPICall(err, r.Clock.Since(start))
	if r.quietRateLimit(bs, err) {
		// The limiter probing the API's limit meets a 429 now and then, and has just lowered the key's rate: the
		// session waits for a short Retry-After without a status write or an event. A second 429 in a row, or one
		// that asks for a long wait (a quota running out), is recorded.
		return outcome{in: in, heldBack: max(burnerapi.RetryAfter(err), time.Second)}, nil
	}
	if err != nil {
		return attemptFailed(in, fingerprint, classify(err)), nil
	}
	t := tokensecret.Token{
		Value: sess.Token, IssuedAt: start, ExpiresAt: sess.ExpiresAt, Scopes: sess.Scopes,
		SpecHash: in.SpecHash, ForceRefresh: in.ForceRefresh,
	}
	// Remembered before the write, so that a retry after a failed write writes this token instead of minting another.
	r.lastIssued.remember(bs, t, false)
	written := tokenSecretWith(bs, in.Secret, t)
	if err := r.writeSecret(ctx, bs, written); err != nil {
		return writeFailed(in, err)
	}
	r.lastIssued.markWritten(bs)
	tokensIssued.Inc()
	return outcome{in: policy.NewInput(bs, written, r.Clock.Now()), minted: true}, nil
}

// quietRetryAfter is the longest Retry-After of a 429 that is not recorded the first time: a token bucket refilling
// asks for about a second; a longer wait is a quota, which the platform team should see at once.
const quietRetryAfter = 10 * time.Second

// quietRateLimit says whether err is a 429 with a short Retry-After that follows a call of bs answered otherwise;
// it remembers the answer.
func (r *BurnerSessionReconciler) quietRateLimit(bs *burnerv1alpha1.BurnerSession, err error) bool {
	key := types.NamespacedName{Namespace: bs.Namespace, Name: bs.Name}
	if burnerapi.KindOf(err) != burnerapi.KindRateLimited || burnerapi.RetryAfter(err) > quietRetryAfter {
		r.rateLimited.Delete(key)
		return false
	}
	_, again := r.rateLimited.LoadOrStore(key, struct{}{})
	return !again
}

// attemptFingerprint fingerprints what an attempt is made with (spec, force-refresh value, key Secret version, the
// issuer's URL), so that a failure that needs a change waits for one.
func attemptFingerprint(in policy.Input, src issuer.Source, keyVersion string) string {
	inputs := in.SpecHash + "\x00" + in.ForceRefresh + "\x00" + keyVersion
	if src.URL != "" {
		inputs += "\x00" + src.URL
	}
	h := sha256.Sum256([]byte(inputs))
	return hex.EncodeToString(h[:8])
}

func scopeStrings(scopes []burnerv1alpha1.Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}
