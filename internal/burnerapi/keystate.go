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
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// keyState is one key's bucket, learned rate, 429 block, held slots and fair queue. Its lock is held only for map
// and bucket updates, never across a call.
type keyState struct {
	id [sha256.Size]byte

	mu           sync.Mutex
	lim          *rate.Limiter
	blockedUntil time.Time
	holds        map[string]*hold   // by caller
	tenants      map[string]*tenant // by Request.Tenant: those with a place in line or a share not yet spent
	vtime        float64            // the fair queue's virtual time: the start tag of the last slot given out
	nextSeq      uint64             // places in line handed out, for arrival order
	lastUsed     time.Time
	lastExpiry   time.Time
	heldBack     uint64 // HeldBack answers, for the metric

	threshold rate.Limit // slow start below it: the ceiling until the first 429, then the rate after the cut
	step      rate.Limit // additive increase per round once out of slow start
	round     int        // saturated successes in the current round
	epoch     uint64     // bumped by each cut, so the other 429s of one episode do not cut again
}

// hold is what a held-back caller keeps until it comes back at at: a reserved slot (res), or a place in its
// tenant's line (res nil).
type hold struct {
	res *rate.Reservation
	at  time.Time

	tenant *tenant
	needBy time.Time // zero: a first issue
	seq    uint64
}

// tenant is one Request.Tenant's share of a key, as in start-time fair queuing: each slot it gets costs 1/weight
// of virtual time, its next slot starts at finish, and the places in its line, earliest deadline first, take its
// next slots in turn. A tenant that was idle gets no credit for it: when its line fills again, finish moves up to
// vtime.
type tenant struct {
	name   string
	weight float64
	finish float64 // virtual time at which the slots it has had end
	line   []*hold // by lineOrder
}

// lineOrder is a tenant's line: refreshes by NeedBy, earliest first, then first issues; arrival order within each.
func lineOrder(a, b *hold) int {
	if az, bz := a.needBy.IsZero(), b.needBy.IsZero(); az != bz {
		if az {
			return 1
		}
		return -1
	}
	return cmp.Or(a.needBy.Compare(b.needBy), cmp.Compare(a.seq, b.seq))
}

func newKeyState(id [sha256.Size]byte, r rate.Limit, burst int, ceiling rate.Limit) *keyState {
	return &keyState{id: id, lim: rate.NewLimiter(r, burst), holds: map[string]*hold{}, tenants: map[string]*tenant{},
		threshold: ceiling}
}

// limiterTime is the time the bucket is asked at: never before the end of a 429 block, so no token accrues to a
// blocked key and the bucket's clock never runs backwards (blockedUntil only grows).
func (s *keyState) limiterTime(now time.Time) time.Time {
	if now.Before(s.blockedUntil) {
		return s.blockedUntil
	}
	return now
}

// reserve returns how long the caller of req must wait (0: call now) and whether it had waited for a held slot or
// its place in line. A named caller takes a place in its tenant's line; it gets the next slot of the bucket when
// that slot, after the slots of the callers ahead of it in the fair order (see ahead), is within the horizon, and
// the slot is then held for it. Further back, it is told to come back when its turn, estimated from the callers
// ahead and the current rate, is within the horizon (or after maxCheckBack at most, in case the rate grows or the
// line ahead empties). Its place is kept meanwhile, but callers arriving with an earlier turn go before it.
func (s *keyState) reserve(now time.Time, req Request) (time.Duration, bool) {
	s.lastUsed = now
	s.dropLate(now)
	h := s.holds[req.Caller]
	if h != nil && now.Before(h.at) {
		return h.at.Sub(now), true
	}
	if h != nil && h.res != nil {
		delete(s.holds, req.Caller)
		if now.Sub(h.at) <= lateGrace {
			return 0, true
		}
		h = nil // more than lateGrace late: the slot went unused; queue again as a newcomer
	}
	t := s.limiterTime(now)
	res := s.lim.ReserveN(t, 1)
	at := t.Add(res.DelayFrom(t))
	wait := at.Sub(now)
	if req.Caller == "" {
		if wait > 0 {
			res.CancelAt(t) // the latest reservation, so the bucket gets its token back in full
		}
		return max(wait, 0), false
	}
	waited := h != nil
	h = s.place(h, req)
	ahead := s.ahead(h)
	if wait+s.spacing(ahead) <= horizon {
		s.serve(h)
		delete(s.holds, req.Caller)
		if wait > 0 {
			s.holds[req.Caller] = &hold{res: res, at: at}
		}
		return max(wait, 0), waited
	}
	res.CancelAt(t)
	s.holds[req.Caller] = h
	// A block cannot shrink, so during one there is no point coming back before it ends.
	back := min(wait+s.spacing(ahead)-horizon/2, max(maxCheckBack, s.blockedUntil.Sub(now)))
	h.at = now.Add(back)
	return back, false
}

// place returns the caller's place in its tenant's line: h (nil for a newcomer), moved if the caller's tenant or
// deadline changed. The tenant's weight is the latest caller's.
func (s *keyState) place(h *hold, req Request) *hold {
	tn := s.tenants[req.Tenant]
	if tn == nil {
		tn = &tenant{name: req.Tenant, finish: s.vtime}
		s.tenants[req.Tenant] = tn
	}
	tn.weight = float64(max(req.Weight, 1))
	if len(tn.line) == 0 {
		tn.finish = max(tn.finish, s.vtime)
	}
	if h != nil && h.tenant == tn && h.needBy.Equal(req.NeedBy) {
		return h
	}
	if h != nil {
		s.leave(h)
	} else {
		h = &hold{seq: s.nextSeq}
		s.nextSeq++
	}
	h.tenant, h.needBy = tn, req.NeedBy
	i, _ := slices.BinarySearchFunc(tn.line, h, lineOrder)
	tn.line = slices.Insert(tn.line, i, h)
	return h
}

// leave takes h out of its tenant's line.
func (s *keyState) leave(h *hold) {
	tn := h.tenant
	if i, ok := slices.BinarySearchFunc(tn.line, h, lineOrder); ok {
		tn.line = slices.Delete(tn.line, i, i+1)
	}
}

// ahead counts the places in line served before h: those before it in its tenant's line, and those of every other
// tenant whose turn (start tag) comes earlier; equal turns go to the tenant whose name sorts first.
func (s *keyState) ahead(h *hold) uint64 {
	tn := h.tenant
	i, _ := slices.BinarySearchFunc(tn.line, h, lineOrder)
	turn := tn.finish + float64(i)/tn.weight
	n := i
	for _, u := range s.tenants {
		if u == tn || len(u.line) == 0 {
			continue
		}
		// u's k-th place (from 0) starts at finish + k/weight: count those before turn.
		x := (turn - u.finish) * u.weight
		k := math.Ceil(x - tagEpsilon)
		if u.name < tn.name {
			k = math.Floor(x+tagEpsilon) + 1
		}
		n += int(min(max(k, 0), float64(len(u.line))))
	}
	return uint64(n)
}

// tagEpsilon absorbs float rounding when virtual times are compared.
const tagEpsilon = 1e-9

// serve gives h's tenant a slot: h leaves the line and the tenant's share advances by one slot.
func (s *keyState) serve(h *hold) {
	tn := h.tenant
	s.leave(h)
	s.vtime = max(s.vtime, tn.finish)
	tn.finish += 1 / tn.weight
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
// no token to give back), and a place in line is given up. A tenant with no place in line is forgotten once the
// others have caught up with its share (or none waits at all), so memory follows the callers that come back.
func (s *keyState) dropLate(now time.Time) {
	if now.Sub(s.lastExpiry) < lateGrace {
		return
	}
	s.lastExpiry = now
	maps.DeleteFunc(s.holds, func(_ string, h *hold) bool {
		late := now.Sub(h.at) > lateGrace
		if late && h.res == nil {
			s.leave(h)
		}
		return late
	})
	waiting := false
	for _, tn := range s.tenants {
		waiting = waiting || len(tn.line) > 0
	}
	maps.DeleteFunc(s.tenants, func(_ string, tn *tenant) bool {
		return len(tn.line) == 0 && (tn.finish <= s.vtime || !waiting)
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
