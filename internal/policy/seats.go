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
	"cmp"
	"slices"

	"k8s.io/apimachinery/pkg/api/meta"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// InLine returns the sessions (of one namespace and one issuer, each permitted by its policy's other rules) that
// hold the places policy.maxSessionsPerNamespace allows, limit (nil: all of them). The line is stable, so that a
// session that came later never takes an admitted one's place: first those admitted at their current generation
// (Seated), then the oldest, then by name (creationTimestamp has seconds only).
func InLine(sessions []*burnerv1alpha1.BurnerSession, limit *int32) []*burnerv1alpha1.BurnerSession {
	if limit == nil || len(sessions) <= int(*limit) {
		return sessions
	}
	line := slices.Clone(sessions)
	slices.SortFunc(line, func(a, b *burnerv1alpha1.BurnerSession) int {
		if sa, sb := Seated(a), Seated(b); sa != sb {
			if sa {
				return -1
			}
			return 1
		}
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	return line[:*limit]
}

// Seated says whether the session was admitted at its current generation: its Ready condition, set for this spec
// (a session that has just moved to the issuer has not been), is not NamespaceSessionLimit.
func Seated(bs *burnerv1alpha1.BurnerSession) bool {
	ready := meta.FindStatusCondition(bs.Status.Conditions, burnerv1alpha1.ConditionReady)
	return ready != nil && ready.ObservedGeneration == bs.Generation &&
		ready.Reason != burnerv1alpha1.ReasonNamespaceSessionLimit
}
