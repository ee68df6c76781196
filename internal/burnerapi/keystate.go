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
	"crypto/sha256"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyState is one key's bucket, learned rate, 429 block and held slots. Its lock is held only for map and bucket
// updates, never across a call.
type keyState struct {
	id [sha256.Size]byte

	mu           sync.Mutex
	lim          *rate.Limiter
	blockedUntil time.Time
	holds        map[string]*hold // by caller
	nextSeq      uint64           // places in line handed out
	lineLeft     uint64           // places in line given up or turned into slots: nextSeq-lineLeft are waiting
	lastUsed     time.Time
	lastExpiry   time.Time
	heldBack     uint64 // HeldBack answers, for the metric

	threshold rate.Limit // slow start below it: the ceiling until the first 429, then the rate after the cut
	step      rate.Limit // additive increase per round once out of slow start
	round     int        // saturated successes in the current round
	epoch     uint64     // bumped by each cut, so the other 429s of one episode do not cut again
}

// hold is what a held-back caller keeps until it comes back at at: a reserved slot (res), or a place in line (seq).
type hold struct {
	res *rate.Reservation
	seq uint64
	at  time.Time
}

func newKeyState(id [sha256.Size]byte, r rate.Limit, burst int, ceiling rate.Limit) *keyState {
	return &keyState{id: id, lim: rate.NewLimiter(r, burst), holds: map[string]*hold{}, threshold: ceiling}
}

// limiterTime is the time the bucket is asked at: never before the end of a 429 block, so no token accrues to a
// blocked key and the bucket's clock never runs backwards (blockedUntil only grows).
func (s *keyState) limiterTime(now time.Time) time.Time {
	if now.Before(s.blockedUntil) {
		return s.blockedUntil
	}
	return now
}

// reserve returns how long caller must wait (0: call now) and whether it had waited for a held slot or its place
// in line. A slot due within the horizon is reserved and held for a named caller; further back, the caller gets a
// place in line, behind the callers already there, and is told to come back when its turn, estimated from its
// place and the current rate, is within the horizon (or after maxCheckBack at most, in case the rate grows).
func (s *keyState) reserve(now time.Time, caller string, urgent bool) (time.Duration, bool) {
	s.lastUsed = now
	s.dropLate(now)
	h := s.holds[caller]
	if h != nil && now.Before(h.at) {
		return h.at.Sub(now), true
	}
	if h != nil && h.res != nil {
		delete(s.holds, caller)
		if now.Sub(h.at) <= lateGrace {
			return 0, true
		}
		h = nil // more than lateGrace late: the slot went unused; queue again as a newcomer
	}
	t := s.limiterTime(now)
	res := s.lim.ReserveN(t, 1)
	at := t.Add(res.DelayFrom(t))
	wait := at.Sub(now)
	var ahead uint64 // callers in line before this one
	switch {
	case h != nil:
		ahead = h.seq - min(h.seq, s.lineLeft)
	case caller != "" && !urgent:
		ahead = s.nextSeq - s.lineLeft
	}
	if caller == "" && wait > 0 {
		res.CancelAt(t) // the latest reservation, so the bucket gets its token back in full
		return wait, false
	}
	if est := wait + s.spacing(ahead); urgent || est <= horizon {
		if h != nil {
			delete(s.holds, caller)
			s.lineLeft++
		}
		if wait > 0 {
			s.holds[caller] = &hold{res: res, at: at}
		}
		return max(wait, 0), h != nil
	}
	res.CancelAt(t)
	if h == nil {
		h = &hold{seq: s.nextSeq}
		s.nextSeq++
		s.holds[caller] = h
	}
	// A block cannot shrink, so during one there is no point coming back before it ends.
	back := min(wait+s.spacing(ahead)-horizon/2, max(maxCheckBack, s.blockedUntil.Sub(now)))
	h.at = now.Add(back)
	return back, false
}

// slowStartRoundsPerSecond is how often the rate doubles in slow start while callers wait.
const slowStartRoundsPerSecond = 4

// spacing is how long n slots take from now. In slow start (below the threshold) the rate doubles each round (a
// quarter of a second) while callers wait, so the estimate follows that growth: about r·2^(4t)/4·ln2 slots in t
// seconds, until the threshold, then the threshold's rate. Estimating at the current rate instead would send callers far back in line
// away for many seconds while the rate that could serve them is being learned.
func (s *keyState) spacing(n uint64) time.Duration {
	r, top := float64(s.lim.Limit()), float64(s.threshold)
	if n == 0 || math.IsInf(r, 1) {
		return 0
	}
	seconds := float64(n) / r
	if r < top && !math.IsInf(top, 1) {
		// Round k lasts 1/4 s at rate r·2^k and so serves r·2^k/4 slots: r/4·(2^k − 1) in k rounds.
		perRound := r / slowStartRoundsPerSecond
		growth := math.Log2(top / r) // rounds until the threshold
		if served := perRound * (top/r - 1); float64(n) <= served {
			seconds = math.Log2(float64(n)/perRound+1) / slowStartRoundsPerSecond
		} else {
			seconds = growth/slowStartRoundsPerSecond + (float64(n)-served)/top
		}
	}
	return time.Duration(seconds * float64(time.Second))
}

// dropLate forgets, about once a second, callers more than lateGrace late: a held slot's time has passed (there is
// no token to give back), and a place in line is given up.
func (s *keyState) dropLate(now time.Time) {
	if now.Sub(s.lastExpiry) < lateGrace {
		return
	}
	s.lastExpiry = now
	maps.DeleteFunc(s.holds, func(_ string, h *hold) bool {
		late := now.Sub(h.at) > lateGrace
		if late && h.res == nil {
			s.lineLeft++
		}
		return late
	})
}

// succeeded ends a round after a rate's worth of saturated successes and raises the rate: doubling in slow start,
// by step after.
func (s *keyState) succeeded(now time.Time, a admission, ceiling rate.Limit) {
	r := s.lim.Limit()
	if !a.saturated || a.epoch != s.epoch || r == rate.Inf {
		return
	}
	// A round is a rate's worth of successes (about a second) when probing; in slow start, a quarter of that, so the
	// rate climbs from its cautious start to what the API allows in a second or two instead of several.
	roundLen := float64(r)
	if r < s.threshold {
		roundLen /= slowStartRoundsPerSecond
	}
	if s.round++; float64(s.round) < roundLen {
		return
	}
	s.round = 0
	next := r + s.step
	if r < s.threshold {
		next = min(2*r, s.threshold)
	}
	s.lim.SetLimitAt(s.limiterTime(now), min(next, ceiling))
}

// rateLimited blocks the key until until and, for the first 429 of an episode, cuts the rate. Held slots are then
// re-spaced in their order at the new rate from the end of the block, starting from an empty bucket so the callers
// do not all return at once; they learn their new time when they come back at the old one (which is earlier: the
// rate only went down and the block only later).
func (s *keyState) rateLimited(now time.Time, a admission, until time.Time, floor rate.Limit) {
	old, r, burst := s.lim.Limit(), s.lim.Limit(), s.lim.Burst()
	if a.epoch == s.epoch && r != rate.Inf {
		s.epoch++
		s.round = 0
		r = max(old*decrease, floor)
		s.threshold = r
		s.step = max(1, old*probeStep)
		burst = max(1, burst/2) // the upstream may allow less of a burst than we do
	}
	if until.After(s.blockedUntil) {
		s.blockedUntil = until
	}
	t := s.limiterTime(now)
	s.lim = rate.NewLimiter(r, burst)
	s.lim.ReserveN(t, burst) // empty at the end of the block
	slots := slices.DeleteFunc(slices.Collect(maps.Values(s.holds)), func(h *hold) bool { return h.res == nil })
	slices.SortFunc(slots, func(a, b *hold) int { return a.at.Compare(b.at) })
	for _, h := range slots {
		h.res = s.lim.ReserveN(t, 1)
		h.at = t.Add(h.res.DelayFrom(t))
	}
}

// idle reports whether the key's state can be dropped without losing a held slot or a block.
func (s *keyState) idle(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Sub(s.lastUsed) >= idleEviction && len(s.holds) == 0 && !now.Before(s.blockedUntil)
}
