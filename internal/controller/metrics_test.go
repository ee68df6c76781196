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

import "testing"

// TestSessionSeries: the per-session series come from the sessions' status at scrape time.
func TestSessionSeries(t *testing.T) {
	f := newFixture(t)
	f.createSession("pay", nil)
	f.reconcile("pay")
	if got, want := f.sessionSeries("pay")["burner_token_expiration_timestamp_seconds"],
		float64(f.session("pay").Status.ExpiresAt.Unix()); got != want {
		t.Fatalf("burner_token_expiration_timestamp_seconds = %v, want %v", got, want)
	}
}
