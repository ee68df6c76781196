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
	"testing"
	"time"
)

func TestRefreshTime(t *testing.T) {
	issued := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		lifetime time.Duration
		// refresh must fall in [earliest, latest] after issue, whatever the jitter.
		earliest, latest time.Duration
		coversMountSync  bool
	}{
		// lifetime/3 (100s) < margin: lead = 120s + up to 5% (15s): refresh 165s..180s after issue.
		{"default 300s", 300 * time.Second, 165 * time.Second, 180 * time.Second, true},
		// lead = 120s + up to 12s, clamped to half the lifetime: exactly the margin is left.
		{"shortest safe 240s", 240 * time.Second, 120 * time.Second, 120 * time.Second, true},
		// lead = 1200s + up to 180s.
		{"one hour", time.Hour, 2220 * time.Second, 2400 * time.Second, true},
		// lead = 120s + up to 9s, clamped to half the lifetime: the margin cannot be kept.
		{"180s", 180 * time.Second, 90 * time.Second, 90 * time.Second, false},
		// The margin cannot be kept: clamp to half the lifetime, and say so.
		{"minimum 60s", 60 * time.Second, 30 * time.Second, 30 * time.Second, false},
		{"120s", 120 * time.Second, 60 * time.Second, 60 * time.Second, false},
		// A token the API cut short (expiresAt rules, not the requested ttl).
		{"cut to 100s", 100 * time.Second, 50 * time.Second, 50 * time.Second, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expires := issued.Add(tc.lifetime)
			for _, seed := range []string{"a", "b", "c", "uid-1234", ""} {
				at := RefreshTime(issued, expires, seed)
				if d := at.Sub(issued); d < tc.earliest || d > tc.latest {
					t.Errorf("seed %q: refresh %s after issue, want %s..%s", seed, d, tc.earliest, tc.latest)
				}
				if at != RefreshTime(issued, expires, seed) {
					t.Errorf("seed %q: not deterministic", seed)
				}
				if at.Nanosecond() != 0 {
					t.Errorf("not truncated to the second: %s", at)
				}
				if got := CoversMountSync(at, expires); got != tc.coversMountSync {
					t.Errorf("CoversMountSync = %v, want %v", got, tc.coversMountSync)
				}
			}
		})
	}
	if got := RefreshTime(issued, issued, "x"); !got.Equal(issued) {
		t.Errorf("zero lifetime: want refresh at once, got %s", got)
	}
}

func TestRefreshTimeSpreadsSessions(t *testing.T) {
	issued := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	expires := issued.Add(time.Hour)
	seen := map[time.Time]bool{}
	for i := range 100 {
		seen[RefreshTime(issued, expires, string(rune('a'+i%26))+string(rune('a'+i/26)))] = true
	}
	// 100 sessions issued in the same second spread over a 180s jitter window.
	if len(seen) < 50 {
		t.Fatalf("only %d distinct refresh times for 100 sessions", len(seen))
	}
}
