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
	"fmt"
	"time"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// ForceRefreshMinInterval is the default least time between a session's last token and one it is forced to take
// (the manager's --force-refresh-min-interval): `kubectl burner refresh` in a loop then costs the shared key at most
// one call a minute per session. A token replaced faster would not reach pods' mounted copies anyway: the kubelet
// syncs them about once a minute.
const ForceRefreshMinInterval = time.Minute

// ForceRefreshWait says whether a new force-refresh value is the only reason a token is due (the refresh time not
// yet come, the spec unchanged) and came less than interval after the current token was issued; until is when it
// is answered, with one token whatever the number of values set meanwhile. An interval of 0 defers nothing.
func ForceRefreshWait(in Input, interval time.Duration) (until time.Time, message string, wait bool) {
	reason, _, due := NeedsToken.Evaluate(in)
	if !due || reason != burnerv1alpha1.ReasonForceRefreshRequested {
		return time.Time{}, "", false
	}
	if _, _, nearing := NearingExpiry(in); nearing {
		return time.Time{}, "", false
	}
	// An issuedAt ahead of this clock (another replica's skew, a hand edit) defers by interval at most.
	issued := in.Token.IssuedAt
	if issued.After(in.Now) {
		issued = in.Now
	}
	until = issued.Add(interval)
	if !in.Now.Before(until) {
		return time.Time{}, "", false
	}
	return until, fmt.Sprintf("the new value of annotation %s will be answered at %s: a token is force-refreshed "+
		"at most once per %s after the last one was issued (at %s)", burnerv1alpha1.ForceRefreshAnnotation,
		until.UTC().Format(time.RFC3339), interval, in.Token.IssuedAt.UTC().Format(time.RFC3339)), true
}
