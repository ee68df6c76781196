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
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clocktesting "k8s.io/utils/clock/testing"
)

// hungServer accepts calls and answers none until release is closed (or the caller gives up); it counts the calls
// in flight and the most it has seen at once.
type hungServer struct {
	*httptest.Server
	release           chan struct{}
	inFlight, maxSeen atomic.Int64
}

func newHungServer(t *testing.T) *hungServer {
	h := &hungServer{release: make(chan struct{})}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := h.inFlight.Add(1)
		defer h.inFlight.Add(-1)
		for m := h.maxSeen.Load(); n > m && !h.maxSeen.CompareAndSwap(m, n); m = h.maxSeen.Load() {
		}
		select {
		case <-r.Context().Done():
		case <-h.release:
			respond(http.StatusOK, okBody(t0.Add(DefaultTTLSeconds*time.Second), AllScopes...))(w, r)
		}
	}))
	t.Cleanup(func() {
		select {
		case <-h.release:
		default:
			close(h.release)
		}
		h.Close()
	})
	return h
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestHungUpstreamHoldsAtMostTheBoundOfCalls: against a host that never answers, only the bound of calls is in
// flight; the others are held back at once (no worker waits on them) and another host is called as usual.
func TestHungUpstreamHoldsAtMostTheBoundOfCalls(t *testing.T) {
	const bound, callers = 4, 40
	hung := newHungServer(t)
	healthy := httptest.NewServer(respond(http.StatusOK, okBody(t0.Add(DefaultTTLSeconds*time.Second), AllScopes...)))
	t.Cleanup(healthy.Close)
	c := must(New(hung.URL, WithClock(clocktesting.NewFakePassiveClock(t0)), WithLimiter(nil),
		WithMaxInFlightPerHost(bound), WithTimeout(time.Minute)))

	var wg sync.WaitGroup
	var heldBack atomic.Int64
	start := time.Now()
	for range callers {
		wg.Go(func() {
			_, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet})
			if KindOf(err) == KindHeldBack {
				if d := RetryAfter(err); d < busyRetry/2 || d > 3*busyRetry/2 {
					t.Errorf("held back for %s, want about %s", d, busyRetry)
				}
				assertNoSecrets(t, err)
				heldBack.Add(1)
			}
		})
	}
	waitFor(t, "the calls over the bound to return", func() bool { return heldBack.Load() == callers-bound })
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("held-back calls returned after %s: they must not wait for the hung calls", took)
	}
	if got := hung.maxSeen.Load(); got != bound {
		t.Errorf("%d calls in flight at once to the hung host, want the bound %d", got, bound)
	}
	if got := gaugeOf(t, c, "burner_api_upstream_in_flight", hostOf(hung.URL)); got != bound {
		t.Errorf("burner_api_upstream_in_flight = %v, want %d", got, bound)
	}

	// Another host is not behind the hung one.
	if _, err := c.CreateSession(context.Background(), testKey,
		Request{WalletAddress: testWallet, BaseURL: healthy.URL}); err != nil {
		t.Fatalf("a call to another host while one hangs: %v", err)
	}
	close(hung.release)
	wg.Wait()
	if _, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet}); err != nil {
		t.Fatalf("once the host answers, its calls go through: %v", err)
	}
}

// TestCircuitOpensAfterConsecutiveFailuresAndProbes: failures in a row open the host's circuit, calls then fail fast
// with a message naming the host; after openFor one probe goes (the others still fail fast), a failed probe keeps it
// open twice as long, a successful one closes it.
func TestCircuitOpensAfterConsecutiveFailuresAndProbes(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(t0)
	var mode atomic.Value // "reset", "503", "ok", "block"
	block := make(chan struct{})
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		switch mode.Load() {
		case "reset":
			conn, _, _ := w.(http.Hijacker).Hijack()
			_ = conn.Close()
		case "503":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "block":
			<-block
			fallthrough
		default:
			w.Header().Set("Date", clk.Now().Format(http.TimeFormat))
			_, _ = w.Write([]byte(okBody(clk.Now().Add(DefaultTTLSeconds*time.Second), AllScopes...)))
		}
	}))
	t.Cleanup(srv.Close)
	c := must(New(srv.URL, WithClock(clk), WithLimiter(nil)))
	mint := func() error {
		_, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet})
		return err
	}
	wantOpen := func(retryAfter time.Duration) {
		t.Helper()
		before := calls.Load()
		err := mint()
		if KindOf(err) != KindUnavailable || RetryAfter(err) != retryAfter {
			t.Fatalf("err = %v, want Unavailable with RetryAfter %s", err, retryAfter)
		}
		if !strings.Contains(err.Error(), "circuit open: the API at "+hostOf(srv.URL)) {
			t.Errorf("message %q does not name the host", err)
		}
		if calls.Load() != before {
			t.Error("a call went out while the circuit was open")
		}
		assertNoSecrets(t, err)
	}

	mode.Store("reset")
	for i := range failureThreshold {
		if i == failureThreshold-1 {
			mode.Store("503")
		}
		if err := mint(); KindOf(err) != KindUpstream {
			t.Fatalf("call %d: %v, want Upstream", i, err)
		}
	}
	wantOpen(openFor)
	if got := gaugeOf(t, c, "burner_api_upstream_circuit_open", hostOf(srv.URL)); got != 1 {
		t.Errorf("burner_api_upstream_circuit_open = %v, want 1", got)
	}

	clk.SetTime(clk.Now().Add(openFor))
	if err := mint(); KindOf(err) != KindUpstream {
		t.Fatalf("probe: %v, want the host's failure", err)
	}
	wantOpen(2 * openFor)

	clk.SetTime(clk.Now().Add(2 * openFor))
	mode.Store("block")
	probed := make(chan error)
	go func() { probed <- mint() }()
	waitFor(t, "the probe to reach the host", func() bool { return calls.Load() == failureThreshold+2 })
	wantOpen(busyRetry) // the probe in flight decides
	close(block)
	if err := <-probed; err != nil {
		t.Fatalf("probe: %v", err)
	}
	for range 2 {
		if err := mint(); err != nil {
			t.Fatalf("after a successful probe: %v", err)
		}
	}
	if got := gaugeOf(t, c, "burner_api_upstream_circuit_open", hostOf(srv.URL)); got != 0 {
		t.Errorf("burner_api_upstream_circuit_open = %v after it closed, want 0", got)
	}
}

// TestIdleOpenCircuitIsForgotten: the open circuit of a host no call has named for idleEviction (its issuers were
// deleted or now name another URL) is dropped, so burner_api_upstream_circuit_open, and BurnerAPICircuitOpen, do
// not stay on for a host nothing calls; a host still called keeps its open circuit.
func TestIdleOpenCircuitIsForgotten(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(t0)
	p := newUpstreams(clk, 1)
	fail := func(host string, n int) {
		for range n {
			c, err := p.acquire(host)
			if err != nil {
				t.Fatal(err)
			}
			c.done(failed)
		}
	}
	fail("gone", failureThreshold)
	fail("kept", failureThreshold)
	clk.SetTime(t0.Add(idleEviction / 2))
	fail("kept", 1) // the probe of a session's retry
	clk.SetTime(t0.Add(idleEviction))
	fail("another", 1) // any call sweeps

	c := &Client{upstreams: p}
	if got := gaugeOf(t, c, "burner_api_upstream_circuit_open", "kept"); got != 1 {
		t.Errorf("kept: circuit_open = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(upstreamCollector{p}, "burner_api_upstream_circuit_open"); n != 2 {
		t.Errorf("%d circuit_open series, want 2 (kept, another): the idle host's open circuit is still reported", n)
	}
}

// TestUpstreamMetricsBoundTheirLabels: hosts past maxLabelledHosts share upstream="other", since users choose them.
func TestUpstreamMetricsBoundTheirLabels(t *testing.T) {
	p := newUpstreams(clocktesting.NewFakePassiveClock(t0), 1)
	for i := range maxLabelledHosts + 10 {
		if _, err := p.acquire("h" + strings.Repeat("x", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := testutil.CollectAndCount(upstreamCollector{p}, "burner_api_upstream_in_flight"); n != maxLabelledHosts+1 {
		t.Fatalf("%d series, want %d", n, maxLabelledHosts+1)
	}
	if got := gaugeOf(t, &Client{upstreams: p}, "burner_api_upstream_in_flight", otherHosts); got != 10 {
		t.Fatalf("other = %v, want 10", got)
	}
}

// gaugeOf is the value of c's series name{upstream=label}.
func gaugeOf(t *testing.T, c *Client, name, label string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c.Collector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if f.GetName() == name && m.GetLabel()[0].GetValue() == label {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s{upstream=%q}", name, label)
	return 0
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u.Host
}
