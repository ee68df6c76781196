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

package burnerapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// TestTimeoutsSlowTheKeysRate: a timeout or a lost connection cuts the key's rate as a 429 does, once for the calls
// that were in flight together.
func TestTimeoutsSlowTheKeysRate(t *testing.T) {
	hung := newHungServer(t)
	reset := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	}))
	t.Cleanup(reset.Close)
	lim, clk := newTestLimiter(100, 100)
	c := must(New(hung.URL, WithLimiter(lim), WithTimeout(100*time.Millisecond)))

	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet}); KindOf(err) != KindUpstream {
				t.Errorf("err = %v, want a timeout", err)
			}
		})
	}
	wg.Wait()
	if got, want := lim.Rate(testKey), rate.Limit(100*decrease); got != want {
		t.Fatalf("rate after three timeouts of one episode = %v, want one cut to %v", got, want)
	}
	clk.SetTime(clk.Now().Add(time.Second)) // the cut empties the bucket: calls resume at the new rate
	if _, err := c.CreateSession(context.Background(), testKey,
		Request{WalletAddress: testWallet, BaseURL: reset.URL}); KindOf(err) != KindUpstream {
		t.Fatalf("err = %v, want a reset", err)
	}
	if got, want := lim.Rate(testKey), rate.Limit(100*decrease*decrease); got != want {
		t.Fatalf("rate after a reset = %v, want %v", got, want)
	}
}
