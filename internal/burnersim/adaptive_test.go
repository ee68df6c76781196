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

package burnersim

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/testenv/timeline"
)

// inProcess serves requests with the simulator's handler directly, so a simulated run of minutes takes no sockets.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// TestAdaptiveLimiterLearnsUpstreamLimit is issue 16's scenario on a simulated clock: sessions sharing one key, all
// due at once, against an upstream token bucket of 50 calls/s the client is not told about. Each session comes back
// exactly when the client says (HeldBack or 429 RetryAfter), as the controller does. Targets: after warm-up the
// achieved rate is at least 90% of the upstream limit, 429s are at most 2% of calls, all sessions are served within
// 1.15× of N / limit, and each with exactly one successful call. The upstream bucket holds one second of calls and
// answers Retry-After: 1; with a much smaller burst, each 429's one-second block costs capacity the bucket cannot
// bank, and the targets are not met (see the limiter's notes).
func TestAdaptiveLimiterLearnsUpstreamLimit(t *testing.T) {
	const limit, warmUp = 50, 20 * time.Second
	n := 10000
	if testing.Short() {
		n = 3000
	}
	for _, burst := range []int{limit} {
		t.Run(fmt.Sprintf("upstream burst %d", burst), func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(t0)
			sim := New(WithClock(clk), WithKeys(key))
			sim.SetRateLimit(key, limit, burst, time.Second)
			api, err := burnerapi.New("http://127.0.0.1:1", burnerapi.WithClock(clk),
				burnerapi.WithHTTPClient(&http.Client{Transport: inProcess{sim}}),
				burnerapi.WithLimiter(burnerapi.NewKeyLimiter(burnerapi.DefaultKeyRate, burnerapi.DefaultKeyBurst, clk)))
			if err != nil {
				t.Fatal(err)
			}
			var queue timeline.Queue[int] // sessions by the time they are due to call
			for id := range n {
				queue.Add(t0, id)
			}
			served, servedAfterWarmUp, heldBack := 0, 0, 0
			var last time.Time
			for at, id, ok := queue.Next(); ok; at, id, ok = queue.Next() {
				clk.SetTime(at)
				_, err := api.CreateSession(context.Background(), key, burnerapi.Request{
					WalletAddress: wallet, Caller: fmt.Sprint("ns/session-", id)})
				switch burnerapi.KindOf(err) {
				case burnerapi.KindNone:
					served++
					if last = at; at.Sub(t0) >= warmUp {
						servedAfterWarmUp++
					}
					continue
				case burnerapi.KindHeldBack:
					heldBack++
				case burnerapi.KindRateLimited:
				default:
					t.Fatalf("session %d: %v", id, err)
				}
				queue.Add(at.Add(max(burnerapi.RetryAfter(err), time.Millisecond)), id)
			}
			st := sim.Calls()
			elapsed := last.Sub(t0)
			achieved := float64(servedAfterWarmUp) / (elapsed - warmUp).Seconds()
			share429 := float64(st.ByStatus[http.StatusTooManyRequests]) / float64(st.Total)
			ideal := time.Duration(n/limit) * time.Second
			t.Logf("%d sessions in %s (ideal %s), %.1f calls/s after warm-up, %d calls, %d answered 429 (%.2f%%), %d held back",
				n, elapsed, ideal, achieved, st.Total, st.ByStatus[http.StatusTooManyRequests], 100*share429, heldBack)
			if served != n || st.Mints != n {
				t.Errorf("served %d, minted %d; want %d each", served, st.Mints, n)
			}
			if achieved < 0.9*limit {
				t.Errorf("achieved %.1f calls/s after warm-up, want at least %.0f", achieved, 0.9*limit)
			}
			if share429 > 0.02 {
				t.Errorf("429s are %.2f%% of calls, want at most 2%%", 100*share429)
			}
			if float64(elapsed) > 1.15*float64(ideal) {
				t.Errorf("took %s, want within 1.15× of %s", elapsed, ideal)
			}
		})
	}
}
