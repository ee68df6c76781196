package burnerapi

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/utils/clock"
)

// Defaults for the per-key client-side limit. The upstream limit is undocumented; 20 requests/s with a burst of 40
// lets an operator that just started (every session due at once) mint quickly, while spreading a herd of hundreds of
// sessions over seconds instead of tripping the API's 429, which would stall every session sharing the key.
const (
	DefaultKeyRate  rate.Limit = 20
	DefaultKeyBurst int        = 40
)

const (
	// DefaultMaxWait is the longest a call waits for a limiter token. A longer wait is returned as KindHeldBack
	// instead, so controller workers are not tied up sleeping.
	DefaultMaxWait = time.Second
	// DefaultBlock is how long a 429 without a usable Retry-After blocks its key.
	DefaultBlock = 10 * time.Second
	// idleEviction drops the state of keys unused for this long. A limiter idle that long is full again, so
	// dropping it loses nothing; keys still blocked by a 429 are kept.
	idleEviction = 10 * time.Minute
)

// KeyLimiter rate-limits calls per API key. Every session using the same key shares one token bucket and one
// "blocked after a 429" deadline, so one session's 429 stops its siblings from hammering the API. Keys are held
// only as SHA-256 digests. It is safe for concurrent use.
type KeyLimiter struct {
	limit   rate.Limit
	burst   int
	clock   clock.PassiveClock
	maxWait time.Duration

	mu        sync.Mutex
	keys      map[[sha256.Size]byte]*keyState
	lastSweep time.Time
}

type keyState struct {
	limiter      *rate.Limiter
	blockedUntil time.Time
	lastUsed     time.Time
}

// NewKeyLimiter returns a limiter allowing r calls per second per key with the given burst (at least 1). Use
// rate.Inf to only honour 429 blocks. Times come from clk; actual waiting (at most DefaultMaxWait) uses real time.
func NewKeyLimiter(r rate.Limit, burst int, clk clock.PassiveClock) *KeyLimiter {
	return &KeyLimiter{
		limit:     r,
		burst:     max(burst, 1),
		clock:     clk,
		maxWait:   DefaultMaxWait,
		keys:      map[[sha256.Size]byte]*keyState{},
		lastSweep: clk.Now(),
	}
}

// acquire takes a token for apiKey, waiting up to maxWait. It returns a KindHeldBack *Error, without waiting,
// when the key is blocked by a 429 or the wait would be longer.
func (l *KeyLimiter) acquire(ctx context.Context, apiKey string) error {
	now := l.clock.Now()
	l.mu.Lock()
	st := l.stateLocked(apiKey, now)
	if wait := st.blockedUntil.Sub(now); wait > 0 {
		l.mu.Unlock()
		return &Error{Kind: KindHeldBack, RetryAfter: wait, Message: "rate limited: API key blocked after HTTP 429"}
	}
	res := st.limiter.ReserveN(now, 1)
	delay := res.DelayFrom(now)
	if delay > l.maxWait {
		res.CancelAt(now)
		l.mu.Unlock()
		return &Error{Kind: KindHeldBack, RetryAfter: delay, Message: "rate limited: client-side limit for API key"}
	}
	l.mu.Unlock()
	if delay <= 0 {
		return nil
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		res.CancelAt(l.clock.Now())
		return &Error{Kind: KindUpstream, Message: "request canceled: " + ctx.Err().Error(), cause: ctx.Err()}
	}
}

// block makes apiKey fail fast until now+d, after the API answered 429.
func (l *KeyLimiter) block(apiKey string, d time.Duration) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.stateLocked(apiKey, now)
	if until := now.Add(d); until.After(st.blockedUntil) {
		st.blockedUntil = until
	}
}

func (l *KeyLimiter) stateLocked(apiKey string, now time.Time) *keyState {
	if now.Sub(l.lastSweep) >= idleEviction {
		for k, st := range l.keys {
			if now.Sub(st.lastUsed) >= idleEviction && !now.Before(st.blockedUntil) {
				delete(l.keys, k)
			}
		}
		l.lastSweep = now
	}
	id := sha256.Sum256([]byte(apiKey))
	st, ok := l.keys[id]
	if !ok {
		st = &keyState{limiter: rate.NewLimiter(l.limit, l.burst)}
		l.keys[id] = st
	}
	st.lastUsed = now
	return st
}
