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
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/time/rate"
	clocktesting "k8s.io/utils/clock/testing"
)

func newTestLimiter(r rate.Limit, burst int, opts ...LimiterOption) (*KeyLimiter, *clocktesting.FakePassiveClock) {
	clk := clocktesting.NewFakePassiveClock(t0)
	return NewKeyLimiter(r, burst, clk, opts...), clk
}

func (l *KeyLimiter) rate(key string) rate.Limit {
	st := l.state(key, l.clock.Now())
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.lim.Limit()
}

// held counts key's held slots and places in line.
func (l *KeyLimiter) held(key string) (slots, line int) {
	st := l.state(key, l.clock.Now())
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, h := range st.holds {
		if h.res != nil {
			slots++
		} else {
			line++
		}
	}
	return slots, line
}

// saturate makes anonymous calls as fast as the limiter allows, each one succeeding, until n have been admitted.
func saturate(l *KeyLimiter, clk *clocktesting.FakePassiveClock, n int) {
	for n > 0 {
		adm, err := l.admit(testKey, Request{})
		if err != nil {
			clk.SetTime(clk.Now().Add(err.RetryAfter))
			continue
		}
		l.succeeded(adm)
		n--
	}
}

// TestLimiterSlowStartDoublesEachRound: in slow start a round is a quarter of the rate's worth of saturated
// successes (a quarter of a second), and each doubles the rate.
func TestLimiterSlowStartDoublesEachRound(t *testing.T) {
	l, clk := newTestLimiter(8, 1)
	for _, want := range []rate.Limit{16, 32, 64, 128} {
		saturate(l, clk, int(l.rate(testKey))/slowStartRoundsPerSecond)
		if got := l.rate(testKey); got != want {
			t.Fatalf("rate after a round = %v, want %v", got, want)
		}
	}
}

func TestLimiterDoesNotGrowWithoutDemand(t *testing.T) {
	l, clk := newTestLimiter(10, 40)
	for range 100 { // 1 call/s: the bucket never runs dry
		adm, err := l.admit(testKey, Request{})
		if err != nil {
			t.Fatal(err)
		}
		l.succeeded(adm)
		clk.SetTime(clk.Now().Add(time.Second))
	}
	if got := l.rate(testKey); got != 10 {
		t.Fatalf("rate = %v after calls well below it, want 10", got)
	}
}

func TestLimiterCutsOn429ThenProbesAdditively(t *testing.T) {
	l, clk := newTestLimiter(100, 1)
	adm, _ := l.admit(testKey, Request{})
	clk.SetTime(clk.Now().Add(time.Second))
	other, _ := l.admit(testKey, Request{}) // admitted before the 429 came back: same episode
	l.rateLimited(adm, time.Second)
	l.rateLimited(other, time.Second) // the same episode: no second cut
	if got := l.rate(testKey); got != 70 {
		t.Fatalf("rate after a 429 = %v, want 70 (×0.7, once)", got)
	}
	for _, want := range []rate.Limit{75, 80, 85} { // step: 5% of the rate that met the 429
		saturate(l, clk, int(l.rate(testKey)))
		if got := l.rate(testKey); got != want {
			t.Fatalf("rate after a round = %v, want %v", got, want)
		}
	}
}

func TestLimiterCeilingAndFloor(t *testing.T) {
	l, clk := newTestLimiter(600, 1, WithRateCeiling(1000))
	saturate(l, clk, 600)
	if got := l.rate(testKey); got != 1000 {
		t.Fatalf("rate = %v, want the ceiling 1000", got)
	}
	if got := NewKeyLimiter(5000, 1, clk).start; got != DefaultKeyRateCeiling {
		t.Fatalf("start = %v, want capped at %v", got, DefaultKeyRateCeiling)
	}
	l, clk = newTestLimiter(2, 1)
	for range 5 {
		adm, err := l.admit(testKey, Request{})
		for err != nil {
			clk.SetTime(clk.Now().Add(err.RetryAfter))
			adm, err = l.admit(testKey, Request{})
		}
		l.rateLimited(adm, 0)
	}
	if got := l.rate(testKey); got != DefaultKeyRateFloor {
		t.Fatalf("rate after five 429s = %v, want the floor %v", got, DefaultKeyRateFloor)
	}
}

func TestLimiterHonoursRetryAfter(t *testing.T) {
	l, clk := newTestLimiter(10, 1)
	adm, _ := l.admit(testKey, Request{Caller: "a"})
	l.rateLimited(adm, 30*time.Second)
	_, err := l.admit(testKey, Request{Caller: "b"})
	// Blocked for 30s, then the bucket starts empty: the first slot is one interval (1/7 s) later. That is beyond
	// the horizon, so b is told to come back when it is within it, and then gets the slot.
	slot := 30*time.Second + time.Second/7
	if err == nil || err.Kind != KindHeldBack || err.RetryAfter != slot-horizon/2 || !strings.Contains(err.Message, "blocked after HTTP 429") {
		t.Fatalf("admit = %v, want HeldBack blocked for %v", err, slot-horizon/2)
	}
	clk.SetTime(clk.Now().Add(slot - horizon/2))
	wantWait(t, l, "b", time.Time{}, horizon/2)
	clk.SetTime(clk.Now().Add(horizon / 2))
	wantWait(t, l, "b", time.Time{}, 0)
}

// wantWait checks that caller is told to come back after exactly want (0: admitted).
func wantWait(t *testing.T, l *KeyLimiter, caller string, needBy time.Time, want time.Duration) {
	t.Helper()
	_, err := l.admit(testKey, Request{Caller: caller, NeedBy: needBy})
	got := time.Duration(0)
	if err != nil {
		got = err.RetryAfter
	}
	if got != want {
		t.Fatalf("%s: wait %v, want %v", caller, got, want)
	}
}

// TestLimiterLineFollowsSlowStart: in slow start the rate doubles each quarter-second round while callers wait, so
// a caller far back in line is told to come back when the growing rate reaches it, not when the starting rate would:
// from 20/s, the ceiling of 1,000/s is reached in log2(50)/4 = 1.4 s having served 245 slots, and the other ~715 of
// the 1,000 callers ahead take 0.7 s more, after the slots already reserved (2 s): about 3.1 s, not 50 s.
func TestLimiterLineFollowsSlowStart(t *testing.T) {
	l, _ := newTestLimiter(20, 1)
	var err *Error
	for i := range 1001 {
		_, err = l.admit(testKey, Request{Caller: fmt.Sprintf("c%d", i)})
	}
	if err == nil || err.RetryAfter < 2500*time.Millisecond || err.RetryAfter > 4*time.Second {
		t.Fatalf("the 1,001st caller: %v; want to come back after about 4.1 s less half the horizon", err)
	}
}

func TestLimiterReservationsServedInOrderAndOnTime(t *testing.T) {
	l, clk := newTestLimiter(10, 1)
	wantWait(t, l, "a", time.Time{}, 0)
	wantWait(t, l, "b", time.Time{}, 100*time.Millisecond)
	wantWait(t, l, "c", time.Time{}, 200*time.Millisecond)
	clk.SetTime(clk.Now().Add(50 * time.Millisecond))
	wantWait(t, l, "b", time.Time{}, 50*time.Millisecond)  // early: same slot
	wantWait(t, l, "d", time.Time{}, 250*time.Millisecond) // newcomer: after c
	clk.SetTime(clk.Now().Add(50 * time.Millisecond))
	wantWait(t, l, "e", time.Time{}, 300*time.Millisecond) // arrives with b's slot due: still after d
	wantWait(t, l, "b", time.Time{}, 0)
	clk.SetTime(clk.Now().Add(150 * time.Millisecond)) // c comes back 50ms late: within the grace
	wantWait(t, l, "c", time.Time{}, 0)
	wantWait(t, l, "d", time.Time{}, 50*time.Millisecond)
}

// TestLimiterLineKeepsOrder: callers further back than the horizon keep their place and are told to come back
// when their turn is near, spaced by their place (at a rate that no longer grows: its ceiling here); an abandoned
// place is given up.
func TestLimiterLineKeepsOrder(t *testing.T) {
	l, clk := newTestLimiter(1, 1, WithRateCeiling(1))
	wantWait(t, l, "a", time.Time{}, 0)
	wantWait(t, l, "b", time.Time{}, time.Second)
	wantWait(t, l, "c", time.Time{}, 2*time.Second)
	wantWait(t, l, "d", time.Time{}, 2*time.Second) // slot 3s: back at 2s
	wantWait(t, l, "e", time.Time{}, 3*time.Second) // one ahead: slot 4s, back at 3s
	wantWait(t, l, "f", time.Time{}, 4*time.Second)
	clk.SetTime(clk.Now().Add(time.Second))
	wantWait(t, l, "b", time.Time{}, 0)
	wantWait(t, l, "newcomer", time.Time{}, 4*time.Second) // behind f, not before d
	clk.SetTime(clk.Now().Add(time.Second))
	wantWait(t, l, "c", time.Time{}, 0)
	wantWait(t, l, "d", time.Time{}, time.Second) // now held: slot at 3s
	clk.SetTime(clk.Now().Add(time.Second))
	wantWait(t, l, "d", time.Time{}, 0)
	wantWait(t, l, "e", time.Time{}, time.Second)
	clk.SetTime(clk.Now().Add(time.Second))
	wantWait(t, l, "e", time.Time{}, 0)
	// f and newcomer never come back (due at 4s and 5s): after lateGrace their places are given up.
	clk.SetTime(clk.Now().Add(time.Second + lateGrace + time.Millisecond))
	wantWait(t, l, "g", time.Time{}, 0) // not behind the abandoned places
	if slots, line := l.held(testKey); slots != 0 || line != 0 {
		t.Fatalf("%d slots, %d in line; want none", slots, line)
	}
}

func TestLimiterReleasesAbandonedReservation(t *testing.T) {
	l, clk := newTestLimiter(1, 1)
	wantWait(t, l, "a", time.Time{}, 0)
	wantWait(t, l, "gone", time.Time{}, time.Second) // its session is deleted: it never comes back
	clk.SetTime(clk.Now().Add(time.Second + lateGrace + time.Millisecond))
	wantWait(t, l, "b", time.Time{}, 0) // the abandoned slot's time has passed; b is not queued behind it
	if slots, line := l.held(testKey); slots+line != 0 {
		t.Fatalf("%d slots still held", slots+line)
	}
	wantWait(t, l, "gone", time.Time{}, time.Second) // coming back too late, it queues as a newcomer
}

// TestLimiterHorizonAndRefreshes: a slot is held only within the horizon; further back, a refresh takes its place
// in line before first issues, and a sooner deadline before a later one, however close it is to expiry.
func TestLimiterHorizonAndRefreshes(t *testing.T) {
	l, clk := newTestLimiter(1, 1, WithRateCeiling(1))
	wantWait(t, l, "a", time.Time{}, 0)
	wantWait(t, l, "b", time.Time{}, time.Second)
	wantWait(t, l, "c", time.Time{}, 2*time.Second)
	wantWait(t, l, "far", time.Time{}, 2*time.Second)                  // slot 3s away: not held, back when it is 1s away
	wantWait(t, l, "relaxed", clk.Now().Add(time.Hour), 2*time.Second) // a refresh: before far
	wantWait(t, l, "soon", clk.Now().Add(time.Minute), 2*time.Second)  // an earlier deadline: before relaxed
	clk.SetTime(clk.Now().Add(time.Second))
	wantWait(t, l, "b", time.Time{}, 0)
	clk.SetTime(clk.Now().Add(time.Second))
	wantWait(t, l, "c", time.Time{}, 0)
	wantWait(t, l, "far", time.Time{}, 2*time.Second)                                // two ahead: slot 5s away, back when it is 1s away
	wantWait(t, l, "soon", clk.Now().Add(time.Minute-2*time.Second), time.Second)    // first in line: held
	wantWait(t, l, "relaxed", clk.Now().Add(time.Hour-2*time.Second), 2*time.Second) // next: held too
	if slots, line := l.held(testKey); slots != 2 || line != 1 {
		t.Fatalf("%d held slots and %d in line, want 2 (soon, relaxed) and 1 (far)", slots, line)
	}
}

func TestLimiterRespacesHeldSlotsAfter429(t *testing.T) {
	l, clk := newTestLimiter(10, 1)
	adm, _ := l.admit(testKey, Request{Caller: "a"})
	wantWait(t, l, "b", time.Time{}, 100*time.Millisecond)
	wantWait(t, l, "c", time.Time{}, 200*time.Millisecond)
	l.rateLimited(adm, time.Second) // rate 7/s, blocked for 1s
	clk.SetTime(clk.Now().Add(100 * time.Millisecond))
	wantWait(t, l, "b", time.Time{}, 900*time.Millisecond+time.Second/7)
	clk.SetTime(clk.Now().Add(100 * time.Millisecond))
	wantWait(t, l, "c", time.Time{}, 800*time.Millisecond+2*time.Second/7)
	wantWait(t, l, "newcomer", time.Time{}, 800*time.Millisecond+3*time.Second/7)
}

func TestLimiterConcurrentCallers(t *testing.T) {
	// A frozen clock makes the outcome exact: the burst passes, the next 2s of slots are held, the rest are told to
	// come back, whatever the interleaving.
	l, _ := newTestLimiter(10, 10)
	var admitted atomic.Int32
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			if adm, err := l.admit(testKey, Request{Caller: fmt.Sprint("caller-", i)}); err == nil {
				admitted.Add(1)
				l.succeeded(adm)
			}
			_, _ = l.admit(fmt.Sprint("key-", i%7), Request{Caller: "x"}) // other keys, concurrently
		})
	}
	wg.Wait()
	if slots, line := l.held(testKey); admitted.Load() != 10 || slots != 20 || line != 170 {
		t.Fatalf("admitted %d, held %d, in line %d; want 10, 20 and 170", admitted.Load(), slots, line)
	}
}

func TestKeyLimiterEvictsIdleKeys(t *testing.T) {
	l, clk := newTestLimiter(rate.Inf, 1)
	_, _ = l.admit("idle", Request{})
	adm, _ := l.admit("blocked", Request{})
	l.rateLimited(adm, MaxRetryAfter)
	clk.SetTime(t0.Add(idleEviction))
	_, _ = l.admit("fresh", Request{})
	if len(l.keys) != 2 {
		t.Errorf("%d keys tracked, want 2 (idle key evicted, blocked and fresh kept)", len(l.keys))
	}
}

// TestLimiterMetricsNameNoKey: the collector reports the learned rate by a key id that is not the key.
func TestLimiterMetricsNameNoKey(t *testing.T) {
	l, _ := newTestLimiter(10, 1)
	wantWait(t, l, "a", time.Time{}, 0)
	wantWait(t, l, "b", time.Time{}, 100*time.Millisecond)
	ids, err := NewKeyIDs([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	id := ids.Of(testKey)
	want := fmt.Sprintf(`
# HELP burner_api_key_held_back_total Calls the limiter held back (told to come back later) instead of sending.
# TYPE burner_api_key_held_back_total counter
burner_api_key_held_back_total{key_id=%[1]q} 1
# HELP burner_api_key_rate_limit Calls per second the adaptive limiter currently allows with the API key.
# TYPE burner_api_key_rate_limit gauge
burner_api_key_rate_limit{key_id=%[1]q} 10
# HELP burner_api_key_reserved_slots Callers held back with a slot or a place in line kept for them.
# TYPE burner_api_key_reserved_slots gauge
burner_api_key_reserved_slots{key_id=%[1]q} 1
`, id)
	if err := testutil.CollectAndCompare(l.Collector(ids), strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(want, testKey) || strings.Contains(testKey, id) {
		t.Fatal("key id reveals the key")
	}
	if problems, err := testutil.CollectAndLint(l.Collector(ids)); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

func Test429BlocksKeyAcrossSessionsAndClients(t *testing.T) {
	var calls atomic.Int32
	handler := func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			respond(http.StatusTooManyRequests, "", "Retry-After", "30")(w, r)
			return
		}
		respond(http.StatusOK, okBody(t0.Add(5*time.Minute), AllScopes...))(w, r)
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
		err := mint(c, testKey, other)
		if KindOf(err) != KindHeldBack || RetryAfter(err) != 10*time.Second {
			t.Fatalf("blocked call = %v, want HeldBack with RetryAfter 10s", err)
		}
		assertNoSecrets(t, err)
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
	if l := c.limiter; l == nil || l.start != DefaultKeyRate || l.burst != DefaultKeyBurst || l.ceiling != DefaultKeyRateCeiling {
		t.Errorf("default limiter = %+v", c.limiter)
	}
}

// TestKeyIDsAreKeyed: a key's id depends on the secret, so it is not the key's unkeyed digest prefix (which anyone
// could compute from a guess), differs between secrets and stays the same under one.
func TestKeyIDsAreKeyed(t *testing.T) {
	install, err := NewKeyIDs([]byte("install-one-secret-0123456789abc"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewKeyIDs([]byte("install-two-secret-0123456789abc"))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(testKey))
	unkeyed := hex.EncodeToString(digest[:4])
	id := install.Of(testKey)
	if len(id) != 8 || id == unkeyed || id == other.Of(testKey) || install.Of(testKey) != id {
		t.Fatalf("ids %s (again %s), other install %s, unkeyed %s: want 8 hex digits, stable, keyed",
			id, install.Of(testKey), other.Of(testKey), unkeyed)
	}
	if install.Of("ak_test_another") == id {
		t.Fatal("two keys share an id")
	}
	if _, err := NewKeyIDs([]byte("short")); err == nil {
		t.Fatal("a guessable secret was accepted")
	}
}
