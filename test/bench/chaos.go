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

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/burner-operator/burner-operator/internal/burnersim"
)

// Chaos mode (-chaos): the faults issue 13 asks the operator to survive, all in one soak.
const (
	faultShare         = 0.05             // of API calls answered 503 throughout
	throttleWindow     = 10 * time.Second // each of the two windows where every call is answered 429
	outage             = 10 * time.Second // the one cut of the manager's apiserver connection
	maxMintsPerRefresh = 1.02
)

type chaosResult struct {
	kills, cuts int
	err         error // a manager that could not be restarted
}

// startChaos disturbs the running manager until stop: SIGKILL every 20-60 s and an immediate restart, 503s on
// 5% of API calls, 429 windows at a quarter and three quarters of the run, the apiserver connection cut at half.
func (h *harness) startChaos(ctx context.Context) (stop func() *chaosResult) {
	ctx, cancel := context.WithCancel(ctx)
	r := &chaosResult{}
	var wg sync.WaitGroup
	h.sim.FailRandomly(faultShare, burnersim.Fault503)
	wg.Go(func() {
		for pause(ctx, 20*time.Second+rand.N(40*time.Second)) {
			chaosLog("SIGKILL to the manager")
			_ = syscall.Kill(h.mgr.Pid(), syscall.SIGKILL)
			h.stopManager() // reaps it
			if _, err := h.startManager(ctx); err != nil {
				r.err = fmt.Errorf("restarting the manager: %w", err)
				return
			}
			r.kills++
		}
	})
	wg.Go(func() {
		for _, wait := range []time.Duration{h.c.chaos / 4, h.c.chaos / 2} { // at 1/4 and about 3/4 of the run
			if !pause(ctx, wait) {
				return
			}
			chaosLog("429 for every call for %s", throttleWindow)
			h.setUpstreamLimit(1e-3, 1, 5*time.Second)
			pause(ctx, throttleWindow)
			h.limitUpstream()
		}
	})
	wg.Go(func() {
		if !pause(ctx, h.c.chaos/2) {
			return
		}
		chaosLog("apiserver connection cut for %s", outage)
		h.proxy.Cut(outage)
		r.cuts++
	})
	return func() *chaosResult {
		cancel()
		wg.Wait()
		h.sim.FailRandomly(0, burnersim.FaultNone)
		return r
	}
}

// chaosReport prints the soak's samples and what the faults cost, and fails on an expired token or on more than
// maxMintsPerRefresh tokens minted per refresh seen (mints lost to a SIGKILL between mint and write count).
func (h *harness) chaosReport(ctx context.Context, w io.Writer, s *sampler, c *chaosResult,
	calls0 burnersim.Stats) error {
	r := processRSS(h.mgr.Pid())
	// Stopped gracefully, the manager writes the tokens it has minted: a last pass then sees every refresh that
	// the mints counted bought, so mints in flight at the end do not count as waste.
	h.stopManager()
	time.Sleep(time.Second)
	if err := s.pass(ctx, h); err != nil {
		return err
	}
	s.logExpired()
	calls := h.sim.Calls()
	mints := calls.Mints - calls0.Mints
	status := func(code int) int { return calls.ByStatus[code] - calls0.ByStatus[code] }
	perRefresh := float64(mints) / float64(max(s.refreshes, 1))
	_, _ = fmt.Fprintf(w, "## Chaos: %d sessions, ttl %d s, %s, Secrets sampled every 500 ms\n\n"+
		"Machine: %s. Faults: the manager SIGKILLed every 20-60 s and restarted at once, %.0f%% of API calls "+
		"answered 503, two %s windows of 429s, the apiserver connection cut for %s.\n\n"+
		"| samples | expired (expiresAt not after the sample) | refreshes seen | mints | mints per refresh | "+
		"API calls (503 / 429) | restarts survived | apiserver cuts | last manager's RSS peak / now |\n"+
		"|---|---|---|---|---|---|---|---|---|\n"+
		"| %d | %d (%d Secrets) | %d | %d | %.3f | %d (%d / %d) | %d | %d | %s / %s |\n\n",
		h.c.sessions, h.c.ttl, h.c.soak, machine(), 100*faultShare, throttleWindow, outage,
		s.samples, s.expired, len(s.late), s.refreshes, mints, perRefresh, calls.Total-calls0.Total,
		status(http.StatusServiceUnavailable), status(http.StatusTooManyRequests), c.kills, c.cuts,
		mib(r.peak), mib(r.now))
	err := c.err
	if s.refreshes == 0 {
		err = errors.Join(err, errors.New("no refresh seen, nothing measured: use -ttl 60"))
	}
	if s.expired > 0 {
		err = errors.Join(err, fmt.Errorf("%d samples saw an expired token", s.expired))
	}
	if perRefresh > maxMintsPerRefresh {
		err = errors.Join(err, fmt.Errorf("%.3f mints per refresh, over %.2f", perRefresh, maxMintsPerRefresh))
	}
	h.keepLogs = err != nil
	return err
}

// pause waits d unless ctx ends first; it reports whether to go on.
func pause(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// chaosLog says what fault starts now, to match with the times of expired samples and the manager's log.
func chaosLog(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format(time.TimeOnly)+" chaos: "+format+"\n", args...)
}
