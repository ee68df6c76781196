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
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
)

// TestANewSessionNeverTakesAnAdmittedOnesPlace: under maxSessionsPerNamespace, sessions admitted at their current
// generation keep their places, even against an older session or one of the same second with an earlier name
// (creationTimestamp has seconds only); the rest wait in line, oldest first, then by name.
func TestANewSessionNeverTakesAnAdmittedOnesPlace(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	session := func(name string, created time.Time, generation int64, readyReason string) *burnerv1alpha1.BurnerSession {
		bs := &burnerv1alpha1.BurnerSession{ObjectMeta: metav1.ObjectMeta{Name: name, Generation: generation,
			CreationTimestamp: metav1.NewTime(created)}}
		if readyReason != "" {
			bs.Status.Conditions = []metav1.Condition{{Type: burnerv1alpha1.ConditionReady, Reason: readyReason,
				ObservedGeneration: 1}}
		}
		return bs
	}
	admitted := burnerv1alpha1.ReasonTokenValid
	waiting := burnerv1alpha1.ReasonNamespaceSessionLimit
	for _, tc := range []struct {
		name     string
		sessions []*burnerv1alpha1.BurnerSession
		limit    int32
		want     []string
	}{
		{name: "oldest, then by name", limit: 2, sessions: []*burnerv1alpha1.BurnerSession{
			session("c", t0, 1, ""), session("b", t0.Add(time.Second), 1, ""), session("a", t0.Add(time.Second), 1, ""),
		}, want: []string{"c", "a"}},
		{name: "same second, earlier name, admitted one stays", limit: 1, sessions: []*burnerv1alpha1.BurnerSession{
			session("z", t0, 1, admitted), session("a", t0, 1, ""),
		}, want: []string{"z"}},
		{name: "an older session that moved to the issuer waits", limit: 1, sessions: []*burnerv1alpha1.BurnerSession{
			session("old", t0, 2, admitted), session("new", t0.Add(time.Hour), 1, admitted),
		}, want: []string{"new"}},
		{name: "waiting sessions stay behind", limit: 1, sessions: []*burnerv1alpha1.BurnerSession{
			session("old", t0, 1, waiting), session("new", t0.Add(time.Hour), 1, admitted),
		}, want: []string{"new"}},
		{name: "a lowered limit keeps the oldest admitted", limit: 1, sessions: []*burnerv1alpha1.BurnerSession{
			session("b", t0.Add(time.Second), 1, admitted), session("a", t0.Add(2*time.Second), 1, admitted),
			session("c", t0, 1, waiting),
		}, want: []string{"b"}},
		{name: "within the limit, all", limit: 3, sessions: []*burnerv1alpha1.BurnerSession{
			session("a", t0, 1, waiting), session("b", t0, 1, ""),
		}, want: []string{"a", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, bs := range InLine(tc.sessions, &tc.limit) {
				got = append(got, bs.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("admitted %v, want %v", got, tc.want)
			}
		})
	}
	if all := InLine([]*burnerv1alpha1.BurnerSession{session("a", t0, 1, waiting)}, nil); len(all) != 1 {
		t.Fatal("no limit admits every session")
	}
}
