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

package policy

import (
	"time"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// Retry says how a failure is retried.
type Retry int

const (
	// RetryOnChange: the same attempt cannot succeed; wait until the spec, the force-refresh value or the API key
	// Secret changes (the watches bring the session back then), and meanwhile retry only on a slow timer, so that
	// an upstream glitch answered with 401 or 400 does not stop every session of a key until a person edits it.
	RetryOnChange Retry = iota
	// RetryWithBackoff: retry after an exponential backoff, recorded in status so a restart does not retry early.
	RetryWithBackoff
	// RetryAfterServer: the API rate-limited the key; retry after its Retry-After, or the backoff if it gave none.
	// The per-key limiter holds every session of the key back until then, so the status record holds back nothing.
	RetryAfterServer
)

// retries is the one table from failure reason to how it is retried; reasons not in it back off.
var retries = map[string]Retry{
	burnerv1alpha1.ReasonInvalidSpec:          RetryOnChange,
	burnerv1alpha1.ReasonInvalidRequest:       RetryOnChange,
	burnerv1alpha1.ReasonInvalidAPIKey:        RetryOnChange,
	burnerv1alpha1.ReasonAPIKeyMissing:        RetryOnChange,
	burnerv1alpha1.ReasonAPIKeySecretNotFound: RetryOnChange,
	burnerv1alpha1.ReasonSecretNotOwned:       RetryOnChange,
	burnerv1alpha1.ReasonRateLimited:          RetryAfterServer,
}

// RetryOf returns how a failure with this reason is retried.
func RetryOf(reason string) Retry {
	if r, ok := retries[reason]; ok {
		return r
	}
	return RetryWithBackoff
}

// RetryDelay is how long after the failedAttempts-th consecutive failure with this reason to try again, given the
// server's Retry-After if any.
func RetryDelay(reason string, failedAttempts int32, retryAfter time.Duration, seed string) time.Duration {
	switch RetryOf(reason) {
	case RetryOnChange:
		return SlowRetry(failedAttempts, seed)
	case RetryAfterServer:
		if retryAfter > 0 {
			return retryAfter
		}
		failedAttempts = max(failedAttempts, 1) // 429s are not counted: the first backoff step without a Retry-After
	}
	return Backoff(failedAttempts, seed)
}

// Held says whether the failure recorded in st still holds back an attempt whose inputs have this fingerprint, and
// for how long. A new fingerprint (spec, force-refresh value or key) is never held, and a failure made before
// lastChance (see Input.LastChanceAt; zero: none) holds nothing back past it: that attempt is still due.
func Held(st burnerv1alpha1.BurnerSessionStatus, fingerprint, seed string, now, lastChance time.Time) (time.Duration, bool) {
	if st.FailedAttempts == 0 || st.LastFailureTime == nil || st.LastFailureInputs != fingerprint ||
		RetryOf(st.LastFailureReason) == RetryAfterServer {
		return 0, false
	}
	retryAt := st.LastFailureTime.Add(RetryDelay(st.LastFailureReason, st.FailedAttempts, 0, seed))
	if st.LastFailureTime.Time.Before(lastChance) && lastChance.Before(retryAt) {
		retryAt = lastChance
	}
	if left := retryAt.Sub(now); left > 0 {
		return left, true
	}
	return 0, false
}

// slowRetry is the timer of failures that wait for a change: 15 minutes plus up to 15 of jitter.
const slowRetry = 15 * time.Minute

// SlowRetry is how long a failure that waits for a change waits at most before it is tried again.
func SlowRetry(failedAttempts int32, seed string) time.Duration {
	return slowRetry + time.Duration(fraction(seed, int64(failedAttempts))*float64(slowRetry))
}

// Backoff after consecutive failures: 10s doubling to a 5 minute cap, plus 0 to 20% deterministic jitter so that
// sessions failing together do not retry together.
const (
	backoffBase = 10 * time.Second
	backoffCap  = 5 * time.Minute
)

// Backoff is how long to wait after the failedAttempts-th consecutive failure before trying again.
func Backoff(failedAttempts int32, seed string) time.Duration {
	if failedAttempts <= 0 {
		return 0
	}
	d := backoffCap
	if failedAttempts < 16 {
		d = min(backoffBase<<(failedAttempts-1), backoffCap)
	}
	return d + time.Duration(fraction(seed, int64(failedAttempts))*float64(d)/5)
}
