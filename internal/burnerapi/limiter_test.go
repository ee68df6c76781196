package burnerapi

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestKeyLimiterConcurrentBurst(t *testing.T) {
	// The frozen clock makes the outcome exact: 10 calls pass at once, the 11th and 12th wait 100ms and 200ms
	// (within maxWait), and every other call would wait 300ms, so it is refused with that RetryAfter.
	l := NewKeyLimiter(10, 10, clocktesting.NewFakePassiveClock(t0))
	l.maxWait = 250 * time.Millisecond
	var passed, limited atomic.Int32
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			err := l.acquire(context.Background(), testKey)
			switch {
			case err == nil:
				passed.Add(1)
			case KindOf(err) == KindHeldBack && RetryAfter(err) == 300*time.Millisecond:
				limited.Add(1)
			default:
				t.Errorf("acquire = %v", err)
			}
		})
	}
	wg.Wait()
	if passed.Load() != 12 || limited.Load() != 188 {
		t.Errorf("passed %d, limited %d; want 12 and 188", passed.Load(), limited.Load())
	}
	// Another key has its own bucket.
	if err := l.acquire(context.Background(), "ak_other"); err != nil {
		t.Errorf("other key: %v", err)
	}
}

func TestKeyLimiterRefusesLongWaitWithoutConsuming(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(t0)
	l := NewKeyLimiter(0.1, 1, clk)
	if err := l.acquire(context.Background(), testKey); err != nil {
		t.Fatal(err)
	}
	for range 3 { // refusals must not push the next slot further out
		if err := l.acquire(context.Background(), testKey); RetryAfter(err) != 10*time.Second {
			t.Fatalf("acquire = %v, want HeldBack with RetryAfter 10s", err)
		}
	}
	clk.SetTime(t0.Add(10 * time.Second))
	if err := l.acquire(context.Background(), testKey); err != nil {
		t.Fatalf("after 10s: %v", err)
	}
}

func TestKeyLimiterWaitRespectsContext(t *testing.T) {
	l := NewKeyLimiter(2, 1, clocktesting.NewFakePassiveClock(t0))
	_ = l.acquire(context.Background(), testKey)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := l.acquire(ctx, testKey); !errors.Is(err, context.Canceled) || KindOf(err) != KindUpstream {
		t.Fatalf("acquire = %v, want Upstream wrapping context.Canceled", err)
	}
	l.maxWait = 0 // now report instead of waiting: the canceled wait must have given its slot back
	if err := l.acquire(context.Background(), testKey); RetryAfter(err) != 500*time.Millisecond {
		t.Fatalf("acquire = %v, want RetryAfter 500ms", err)
	}
}

func TestKeyLimiterEvictsIdleKeys(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(t0)
	l := NewKeyLimiter(rate.Inf, 1, clk)
	_ = l.acquire(context.Background(), "idle")
	l.block("blocked", time.Hour)
	clk.SetTime(t0.Add(idleEviction))
	_ = l.acquire(context.Background(), "fresh")
	if len(l.keys) != 2 {
		t.Errorf("%d keys tracked, want 2 (idle key evicted, blocked and fresh kept)", len(l.keys))
	}
}

func Test429BlocksKeyAcrossSessionsAndClients(t *testing.T) {
	var calls atomic.Int32
	handler := func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			respond(http.StatusTooManyRequests, "", "Retry-After", "30")(w, r)
			return
		}
		respond(http.StatusOK, okBody(t0.Add(time.Hour), AllScopes...))(w, r)
	}
	clk := clocktesting.NewFakePassiveClock(t0)
	l := NewKeyLimiter(rate.Inf, 1, clk)
	c1, _ := newClient(t, handler, WithClock(clk), WithLimiter(l))
	c2, _ := newClient(t, handler, WithClock(clk), WithLimiter(l))
	other := Request{WalletAddress: "11111111111111111111111111111111"}
	mint := func(c *Client, key string, req Request) error {
		_, err := c.CreateSession(context.Background(), key, req)
		return err
	}

	if err := mint(c1, testKey, Request{WalletAddress: testWallet}); RetryAfter(err) != 30*time.Second {
		t.Fatalf("first call = %v, want 429 with RetryAfter 30s", err)
	}
	clk.SetTime(t0.Add(20 * time.Second))
	for _, c := range []*Client{c1, c2} { // another session (and another client) with the same key: no API call
		if err := mint(c, testKey, other); KindOf(err) != KindHeldBack || RetryAfter(err) != 10*time.Second {
			t.Fatalf("blocked call = %v, want HeldBack with RetryAfter 10s", err)
		}
		assertNoSecrets(t, mint(c, testKey, other))
	}
	if calls.Load() != 1 {
		t.Fatalf("API called %d times while the key was blocked, want 1", calls.Load())
	}
	if err := mint(c2, "ak_test_other", other); err != nil {
		t.Fatalf("other key: %v", err)
	}
	clk.SetTime(t0.Add(30 * time.Second))
	if err := mint(c1, testKey, other); err != nil {
		t.Fatalf("after Retry-After: %v", err)
	}
}

func Test429WithoutRetryAfterBlocksForDefault(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(t0)
	c, _ := newClient(t, respond(http.StatusTooManyRequests, ""), WithClock(clk),
		WithLimiter(NewKeyLimiter(rate.Inf, 1, clk)))
	req := Request{WalletAddress: testWallet}
	if _, err := c.CreateSession(context.Background(), testKey, req); RetryAfter(err) != 0 {
		t.Fatalf("err = %v, want RetryAfter 0 (no header)", err)
	}
	if _, err := c.CreateSession(context.Background(), testKey, req); RetryAfter(err) != DefaultBlock {
		t.Fatalf("err = %v, want RetryAfter %v", err, DefaultBlock)
	}
}

func TestDefaultClientHasLimiter(t *testing.T) {
	c := must(New(DefaultBaseURL))
	if c.limiter == nil || c.limiter.limit != DefaultKeyRate || c.limiter.burst != DefaultKeyBurst {
		t.Errorf("default limiter = %+v", c.limiter)
	}
}
