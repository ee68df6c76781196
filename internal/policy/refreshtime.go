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
	"hash/fnv"
	"time"
)

// Refresh timing. A pod that mounts the token Secret sees a new token only after the kubelet syncs the volume: its
// pod resync (syncFrequency, 1m) with up to 50 % jitter. Measured on a real node (test/e2e, BENCHMARKS.md): median
// 55 s, worst 87 s. MountSyncMargin covers the worst plus the API call (10 s timeout) and one retry (10 s backoff
// and another call), so a token is replaced at least this long before it expires whenever the lifetime allows:
// from a lifetime of twice the margin, 240 s, on (the refresh comes at half-life at the latest).
const (
	MountSyncMargin = 120 * time.Second
	// refreshFraction: by default a token is replaced when a third of its lifetime is left (cert-manager's rule).
	refreshFraction = 3
	// jitterPercent spreads the refreshes of sessions created together over this share of their lifetime.
	jitterPercent = 5
)

// RefreshTime is when a token in a Secret, issued at issuedAt and expiring at expiresAt, should be replaced:
// RefreshWithin with MountSyncMargin, a pod's mounted copy lagging the Secret by up to the kubelet's sync. The jitter
// is derived from seed (the session's UID) and the token, so every reconcile of the same token computes the same
// time.
func RefreshTime(issuedAt, expiresAt time.Time, seed string) time.Time {
	return RefreshWithin(issuedAt, expiresAt, MountSyncMargin, fraction(seed, expiresAt.Unix()))
}

// RefreshWithin is the refresh rule for a reader that sees a new token margin after it is written: with lead =
// max(lifetime/3, margin) plus jitter (in [0, 1)) times 5% of the lifetime, at expiresAt - lead, but never before half
// the lifetime has passed (so a short lifetime cannot make the operator mint in a loop). The result is truncated to
// the second, the precision of status timestamps.
func RefreshWithin(issuedAt, expiresAt time.Time, margin time.Duration, jitter float64) time.Time {
	lifetime := expiresAt.Sub(issuedAt)
	if lifetime <= 0 {
		return issuedAt
	}
	lead := max(lifetime/refreshFraction, margin)
	lead += time.Duration(jitter * float64(lifetime) * jitterPercent / 100)
	at := expiresAt.Add(-lead)
	if floor := issuedAt.Add(lifetime / 2); at.Before(floor) {
		at = floor
	}
	return at.Truncate(time.Second)
}

// LastChance is how long before a token's expiry a failing refresh gets one more attempt, whatever its backoff
// says: two failures in a row must not outlast the time left on a short-lived token.
const LastChance = 10 * time.Second

// LastChanceAt is when a failing refresh of the token in the Secret gets its last attempt; zero when the Secret holds
// no usable token.
func (in Input) LastChanceAt() time.Time {
	if !in.Usable() {
		return time.Time{}
	}
	return in.Token.ExpiresAt.Add(-LastChance)
}

// CoversMountSync says whether a token refreshed at refreshAt leaves mounted copies MountSyncMargin to catch up
// before it expires. When it does not, only readers of the Secret itself are guaranteed an unexpired token.
func CoversMountSync(refreshAt, expiresAt time.Time) bool {
	return expiresAt.Sub(refreshAt) >= MountSyncMargin
}

// fraction maps (seed, n) to a stable number in [0, 1).
func fraction(seed string, n int64) float64 {
	h := fnv.New64a()
	h.Write([]byte(seed))
	var b [8]byte
	for i := range b {
		b[i] = byte(n >> (8 * i))
	}
	h.Write(b[:])
	return float64(h.Sum64()>>11) / (1 << 53)
}
