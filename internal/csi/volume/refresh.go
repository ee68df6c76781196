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

package volume

import "time"

// The refresh rule of a volume. policy.RefreshTime, which sessions use, replaces a token at least 90 s before expiry
// (max(lifetime/3, 90 s)) because a pod reads a mounted Secret only after the kubelet's next sync, up to about a
// minute later. A CSI volume has no such lag: the plugin swaps the files itself and the pod sees them at once. So the
// lead here is lifetime/3 alone (cert-manager's default rule): 20 s at the minimum ttl of 60 s, room for one attempt
// (bounded by attemptTimeout) and the last-chance attempt policy.LastChance before expiry, 100 s at the default 300 s.
// That mints a ttl-60 volume every 40 s instead of every 30 s, and a ttl-120 one every 80 s instead of every 60 s.
const (
	refreshFraction = 3
	jitterPercent   = 5
)

// RefreshAt is when a token issued at issuedAt and expiring at expiresAt is replaced: with a third of its lifetime
// left, earlier by jitter (in [0, 1)) times 5 % of the lifetime, so volumes published together do not refresh
// together. Truncated to the second, as stored and reported.
func RefreshAt(issuedAt, expiresAt time.Time, jitter float64) time.Time {
	lifetime := expiresAt.Sub(issuedAt)
	if lifetime <= 0 {
		return issuedAt
	}
	lead := lifetime/refreshFraction + time.Duration(jitter*float64(lifetime)*jitterPercent/100)
	return expiresAt.Add(-lead).Truncate(time.Second)
}
