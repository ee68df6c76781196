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
	"cmp"
	"crypto/sha256"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/utils/clock"
)

// Defaults for the per-key limiter. The upstream limit is undocumented, so DefaultKeyRate and DefaultKeyBurst are
// only where the adaptive limiter starts: it raises the rate while calls succeed and the limiter is what holds
// callers back, and cuts it on a 429. DefaultKeyRateCeiling caps what it may learn; DefaultKeyRateFloor keeps a key
// alive through a run of 429s.
const (
	DefaultKeyRate        rate.Limit = 20
	DefaultKeyBurst       int        = 40
	DefaultKeyRateCeiling rate.Limit = 1000
	DefaultKeyRateFloor   rate.Limit = 1
	// DefaultBlock is how long a 429 without a usable Retry-After blocks its key.
	DefaultBlock = time.Second
)

const (
	// decrease multiplies the rate on a 429. Gentler than TCP's 0.5: the upstream limit is a fixed token bucket,
	// not a shared queue, so a small cut below it is enough, and every cut leaves capacity unused until the rate
	// climbs back.
	decrease = 0.7
	// probeStep is the additive increase per round after the first 429, as a fraction of the rate that met it.
	probeStep = 0.05
	// horizon bounds how far ahead a slot is reserved. A reservation fixes its slot at the rate of the moment, so
	// reserving the whole backlog at once would freeze the rate it drains at; callers further back are told when to
	// come back instead (see KeyLimiter.admit), at most maxCheckBack later, so a rate learned meanwhile serves them.
	horizon      = 2 * time.Second
	maxCheckBack = 10 * time.Second
	// lateGrace is how late a caller may come back and still use its slot; after that the slot is dropped, so a
	// caller that never returns (its session was deleted) does not hold one forever.
	lateGrace = time.Second
	// idleEviction drops the state of keys unused for this long (and holding no slot or block): the next call
	// starts again from the configured rate.
	idleEviction = 10 * time.Minute
)

// KeyLimiter is an adaptive rate limiter per API key, shared by every Client of a process. Every session using the
// same key shares one token bucket (golang.org/x/time/rate) whose rate is learned as TCP learns a window: doubling
// every round of successes until the first 429 (slow start), then adding a small step per round (additive
// increase), and multiplying by 0.7 on a 429 (multiplicative decrease), which also blocks the key until its
// Retry-After. A round is a rate's worth of successful calls made while the limiter was the bottleneck, so a key
// with little demand does not inflate its rate.
//
// The bucket's slots are shared fairly between the tenants (Request.Tenant, a namespace) using the key: start-time
// fair queuing, each tenant getting slots in proportion to its Request.Weight whatever the others ask for, and
// within a tenant refreshes go earliest deadline (Request.NeedBy) first, then first issues, in arrival order. A
// caller held back gets the time its slot is due or its turn is near and, if it named itself (Request.Caller), its
// slot or place is held for it. Keys are held only as SHA-256 digests. It is safe for concurrent use: one short lock
// for the key map, then one per key.
type KeyLimiter struct {
	start, ceiling, floor rate.Limit
	burst                 int
	clock                 clock.PassiveClock

	mu        sync.Mutex
	keys      map[[sha256.Size]byte]*keyState
	lastSweep time.Time
}

// LimiterOption configures a KeyLimiter.
type LimiterOption func(*KeyLimiter)

// WithRateCeiling caps the rate the limiter may learn (default DefaultKeyRateCeiling).
func WithRateCeiling(r rate.Limit) LimiterOption { return func(l *KeyLimiter) { l.ceiling = r } }

// NewKeyLimiter returns a limiter starting at r calls per second per key (capped by the ceiling) with the given
// burst (at least 1). Use rate.Inf to only honour 429 blocks. Times come from clk; the limiter never sleeps.
func NewKeyLimiter(r rate.Limit, burst int, clk clock.PassiveClock, opts ...LimiterOption) *KeyLimiter {
	l := &KeyLimiter{ceiling: DefaultKeyRateCeiling, burst: max(burst, 1), clock: clk,
		keys: map[[sha256.Size]byte]*keyState{}, lastSweep: clk.Now()}
	for _, o := range opts {
		o(l)
	}
	l.start = r
	if r != rate.Inf {
		l.start = min(r, l.ceiling)
	}
	l.floor = min(DefaultKeyRateFloor, l.start)
	return l
}

// admission is what a call let through carries back to report its outcome.
type admission struct {
	st        *keyState
	epoch     uint64
	saturated bool
}

// admit lets req's call with apiKey through now, or returns a KindHeldBack *Error whose RetryAfter is when to come
// back: exactly when the caller's slot is due if it is within the horizon (the slot is then held for req.Caller,
// who must come back within lateGrace of it), or, further back, when its turn in the fair queue will be within the
// horizon at the current rate (its place is kept). An anonymous caller ("") is told when a slot would be due,
// queues nowhere and has nothing held.
func (l *KeyLimiter) admit(apiKey string, req Request) (admission, *Error) {
	now := l.clock.Now()
	st := l.state(apiKey, now)
	st.mu.Lock()
	defer st.mu.Unlock()
	wait, waited := st.reserve(now, req)
	if wait > 0 {
		st.heldBack++
		msg := "rate limited: client-side limit for API key"
		if now.Before(st.blockedUntil) {
			msg = "rate limited: API key blocked after HTTP 429"
		}
		return admission{}, &Error{Kind: KindHeldBack, RetryAfter: wait, Message: msg}
	}
	saturated := waited || st.lim.TokensAt(st.limiterTime(now)) < 1
	return admission{st: st, epoch: st.epoch, saturated: saturated}, nil
}

// succeeded records that an admitted call was not rate limited by the API.
func (l *KeyLimiter) succeeded(a admission) {
	if a.st == nil {
		return
	}
	a.st.mu.Lock()
	defer a.st.mu.Unlock()
	a.st.succeeded(l.clock.Now(), a, l.ceiling)
}

// rateLimited records a 429 on an admitted call: the key is blocked for retryAfter (DefaultBlock if 0) and, once
// per episode, its rate cut.
func (l *KeyLimiter) rateLimited(a admission, retryAfter time.Duration) {
	if a.st == nil {
		return
	}
	a.st.mu.Lock()
	defer a.st.mu.Unlock()
	now := l.clock.Now()
	a.st.rateLimited(now, a, now.Add(cmp.Or(retryAfter, DefaultBlock)), l.floor)
}

// Rate is the rate the limiter currently allows with apiKey: the starting rate for a key it has not seen (or has
// forgotten, idle), else what it has learned.
func (l *KeyLimiter) Rate(apiKey string) rate.Limit {
	id := sha256.Sum256([]byte(apiKey))
	l.mu.Lock()
	st, ok := l.keys[id]
	l.mu.Unlock()
	if !ok {
		return l.start
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.lim.Limit()
}

// state returns apiKey's state, creating it at the starting rate. Keys idle for idleEviction are dropped now and
// then, under the map lock only briefly per key.
func (l *KeyLimiter) state(apiKey string, now time.Time) *keyState {
	id := sha256.Sum256([]byte(apiKey))
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= idleEviction {
		for k, st := range l.keys {
			if st.idle(now) {
				delete(l.keys, k)
			}
		}
		l.lastSweep = now
	}
	st, ok := l.keys[id]
	if !ok {
		st = newKeyState(id, l.start, l.burst, l.ceiling)
		l.keys[id] = st
	}
	return st
}
