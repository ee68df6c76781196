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
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// Fingerprint is what an attempt to mint a token for in is made with: the spec, the force-refresh value, the
// version of the API key Secret and the API's URL. A failure records it (status.lastFailureInputs), so that a
// failure that needs a change waits for one, and the backoff counts on while none comes. Every failure of an
// attempt (the call, the key read, the Secret write) is recorded with this one fingerprint.
func Fingerprint(in Input, keyVersion, url string) string {
	return tokensecret.ShortHash(in.SpecHash, in.ForceRefresh, keyVersion, url)
}

// quietRetryAfter is the longest Retry-After of a 429 that is not recorded the first time: a token bucket refilling
// asks for about a second; a longer wait is a quota, which the platform team should see at once.
const quietRetryAfter = 10 * time.Second

// QuietRateLimit says whether a failure, when it follows a call answered otherwise, is waited out without a status
// write or an event: a 429 with a short Retry-After meets the adaptive limiter probing the API's limit now and then,
// and the limiter has already lowered the key's rate. A second 429 in a row, or one that asks for a long wait (a
// quota running out), is recorded.
func QuietRateLimit(f *failure.Error) bool {
	return f.Reason == burnerv1alpha1.ReasonRateLimited && f.RetryAfter <= quietRetryAfter
}

// Recheck is how soon a request held back without a verdict comes back: its issuer not checked yet, a write of
// ours not yet in the cache, a quiet 429 without a Retry-After.
const Recheck = time.Second

// ShortLifetimeMessage explains ShortLifetime, in the Ready message and in its event.
const ShortLifetimeMessage = "the token lifetime leaves less than the mount-sync margin before expiry: readers of " +
	"the Secret always get a valid token, a copy mounted in a pod may briefly be expired; raise ttlSeconds to 240 " +
	"or more"
