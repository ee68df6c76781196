package burnerapi

import (
	"crypto/sha256"
	"maps"
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
	lastUsed     time.Time
	lastExpiry   time.Time
	heldBack     uint64 // HeldBack answers, for the metric

	threshold rate.Limit // slow start below it: the ceiling until the first 429, then the rate after the cut
	step      rate.Limit // additive increase per round once out of slow start
	round     int        // saturated successes in the current round
	epoch     uint64     // bumped by each cut, so the other 429s of one episode do not cut again
}

// hold is a slot reserved for a caller who was told to come back at at.
type hold struct {
	res *rate.Reservation
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

// reserve returns how long caller must wait (0: call now) and whether it had waited for a held slot.
func (s *keyState) reserve(now time.Time, caller string, urgent bool) (time.Duration, bool) {
	s.lastUsed = now
	s.dropLateHolds(now)
	if h := s.holds[caller]; h != nil {
		if now.Before(h.at) {
			return h.at.Sub(now), true
		}
		delete(s.holds, caller)
		if now.Sub(h.at) <= lateGrace {
			return 0, true
		}
		// More than lateGrace late: the slot went unused; queue again as a newcomer.
	}
	t := s.limiterTime(now)
	res := s.lim.ReserveN(t, 1)
	at := t.Add(res.DelayFrom(t))
	wait := at.Sub(now)
	switch {
	case wait <= 0:
		return 0, false
	case caller == "":
		res.CancelAt(t) // the latest reservation, so the bucket gets its token back in full
		return wait, false
	case wait > horizon && !urgent:
		res.CancelAt(t)
		// Back when the slot would be within the horizon, or sooner in case the rate grows; a block cannot shrink.
		return min(wait-horizon/2, max(maxCheckBack, s.blockedUntil.Sub(now))), false
	}
	s.holds[caller] = &hold{res: res, at: at}
	return wait, false
}

// dropLateHolds forgets, about once a second, slots whose callers are more than lateGrace late. Their time has
// passed, so there is no token to give back.
func (s *keyState) dropLateHolds(now time.Time) {
	if now.Sub(s.lastExpiry) < lateGrace {
		return
	}
	s.lastExpiry = now
	maps.DeleteFunc(s.holds, func(_ string, h *hold) bool { return now.Sub(h.at) > lateGrace })
}

// succeeded ends a round after a rate's worth of saturated successes and raises the rate: doubling in slow start,
// by step after.
func (s *keyState) succeeded(now time.Time, a admission, ceiling rate.Limit) {
	r := s.lim.Limit()
	if !a.saturated || a.epoch != s.epoch || r == rate.Inf {
		return
	}
	if s.round++; float64(s.round) < float64(r) {
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
func (s *keyState) rateLimited(now time.Time, a admission, until time.Time, floor rate.Limit, burst int) {
	old, r := s.lim.Limit(), s.lim.Limit()
	if a.epoch == s.epoch && r != rate.Inf {
		s.epoch++
		s.round = 0
		r = max(old*decrease, floor)
		s.threshold = r
		s.step = max(1, old*probeStep)
	}
	if until.After(s.blockedUntil) {
		s.blockedUntil = until
	}
	t := s.limiterTime(now)
	s.lim = rate.NewLimiter(r, burst)
	s.lim.ReserveN(t, burst) // empty at the end of the block
	holds := slices.SortedFunc(maps.Values(s.holds), func(a, b *hold) int { return a.at.Compare(b.at) })
	for _, h := range holds {
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
