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
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/utils/clock"
)

// Bulkheads per upstream host. An issuer's spec.url is chosen by whoever may edit the issuer, so one host that never
// answers must not hold the callers (the controller's workers) of every other host.
const (
	// DefaultMaxInFlightPerHost bounds concurrent calls to one host: a hung host holds at most this many of the
	// manager's 128 workers (a quarter) until its circuit opens, while a healthy host at 50 ms of latency can still
	// take 32 / 0.05 s = 640 calls a second (Little's law), far above any per-key limit seen upstream (20-50/s) and
	// above the ~400/s the manager's writes allow (BENCHMARKS.md).
	DefaultMaxInFlightPerHost = 32
	// busyRetry is when a call turned away by a full bulkhead comes back, spread by up to half either way so the
	// turned-away callers do not return together: a healthy host frees a slot within its latency, a hung one only
	// at the call timeout, after which its circuit opens.
	busyRetry = time.Second
	// failureThreshold consecutive failures (transport errors, timeouts, 5xx) open a host's circuit.
	failureThreshold = 5
	// openFor is how long a circuit stays open before one probe call may go; it doubles with each failed probe, up
	// to openForMax, and resets when a probe succeeds.
	openFor    = 10 * time.Second
	openForMax = 2 * time.Minute
	// maxLabelledHosts is how many hosts get a metrics label of their own; the rest share "other", since the hosts
	// come from issuers' spec.url, which users set.
	maxLabelledHosts = 16
	otherHosts       = "other"
)

// upstreams keeps, per host, the calls in flight and a circuit breaker. One lock for all hosts: it is held only
// for a few counter updates per call, never across one.
type upstreams struct {
	clock       clock.PassiveClock
	maxInFlight int

	mu        sync.Mutex
	hosts     map[string]*upstream
	labelled  int // hosts with a label of their own
	lastSweep time.Time
}

// upstream is one host's state.
type upstream struct {
	host, label string
	inFlight    int
	lastUsed    time.Time
	// The breaker: failures in a row, and while open (openUntil set) when the next probe may go and how long the
	// circuit stays open if it fails. probing: the one probe is in flight (half-open).
	failures  int
	openUntil time.Time
	openSpan  time.Duration
	probing   bool
	// For the metrics.
	refusedOpen, refusedBusy uint64
}

func newUpstreams(clk clock.PassiveClock, maxInFlight int) *upstreams {
	return &upstreams{clock: clk, maxInFlight: maxInFlight, hosts: map[string]*upstream{}, lastSweep: clk.Now()}
}

// call is a call let through to a host; done reports its outcome.
type call struct {
	u     *upstream
	p     *upstreams
	probe bool // the half-open circuit's one probe
}

// outcome of a call for the breaker.
type outcome int

const (
	// neutral: the call was not made or was cut short by the caller (held back by the key's limiter, canceled).
	neutral outcome = iota
	answered
	failed
)

// acquire lets a call to host through, or turns it away: KindUnavailable while the host's circuit is open (or its
// probe is in flight), KindHeldBack when the host already has maxInFlight calls in flight.
func (p *upstreams) acquire(host string) (call, *Error) {
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.host(host, now)
	u.lastUsed = now
	if !u.openUntil.IsZero() && (u.probing || now.Before(u.openUntil)) {
		u.refusedOpen++
		return call{}, u.openError(now)
	}
	if u.inFlight >= p.maxInFlight {
		u.refusedBusy++
		wait := busyRetry/2 + rand.N(busyRetry) //nolint:gosec // spreading retries, not a secret
		return call{}, &Error{Kind: KindHeldBack, RetryAfter: wait,
			Message: fmt.Sprintf("held back: %d calls to the API at %s already in flight", u.inFlight, u.host)}
	}
	u.inFlight++
	probe := !u.openUntil.IsZero()
	u.probing = probe // half-open: this call is the probe
	return call{u: u, p: p, probe: probe}, nil
}

// done ends an acquired call with its outcome: failures in a row open the circuit, a failed probe opens it again for
// twice as long, any answer closes it.
func (c call) done(o outcome) {
	if c.u == nil {
		return
	}
	now := c.p.clock.Now()
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	u := c.u
	u.inFlight--
	if c.probe {
		u.probing = false // an unmade probe (neutral) leaves the circuit half-open: the next call probes
	}
	switch o {
	case answered:
		u.failures, u.openUntil, u.openSpan = 0, time.Time{}, 0
	case failed:
		u.failures++
		switch {
		case c.probe && !u.openUntil.IsZero():
			u.openSpan = min(2*u.openSpan, openForMax)
			u.openUntil = now.Add(u.openSpan)
		case u.openUntil.IsZero() && u.failures >= failureThreshold:
			u.openSpan = openFor
			u.openUntil = now.Add(openFor)
		}
	}
}

// openError is the fail-fast answer while u's circuit is open. The host is not secret (it is an issuer's spec.url).
func (u *upstream) openError(now time.Time) *Error {
	next := u.openUntil
	if u.probing || next.Before(now) {
		next = now.Add(busyRetry) // a probe is in flight: its answer decides
	}
	return &Error{Kind: KindUnavailable, RetryAfter: next.Sub(now),
		Message: fmt.Sprintf("circuit open: the API at %s failed %d times in a row; next try at %s",
			u.host, u.failures, next.UTC().Format(time.RFC3339))}
}

// host returns host's state, creating it. Hosts idle for idleEviction with nothing in flight are dropped now and
// then, so a user who points issuers at many hosts leaves no lasting state. An open circuit goes too: a host still
// in use is called (or refused) at least every session backoff (5 min plus jitter), and one nothing calls any more
// (its issuers were deleted or moved) would otherwise be reported open, and alerted on, until the manager restarts.
func (p *upstreams) host(host string, now time.Time) *upstream {
	if now.Sub(p.lastSweep) >= idleEviction {
		for h, u := range p.hosts {
			if u.inFlight == 0 && now.Sub(u.lastUsed) >= idleEviction {
				if u.label != otherHosts {
					p.labelled--
				}
				delete(p.hosts, h)
			}
		}
		p.lastSweep = now
	}
	u, ok := p.hosts[host]
	if !ok {
		u = &upstream{host: host, label: otherHosts}
		if p.labelled < maxLabelledHosts {
			u.label = host
			p.labelled++
		}
		p.hosts[host] = u
	}
	return u
}
