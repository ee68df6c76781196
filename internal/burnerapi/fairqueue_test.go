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
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/burner-operator/burner-operator/internal/testenv/timeline"
)

// visit is a caller asking the limiter. A caller with a period is a session refreshing at half-life: once admitted
// at s, it comes back at s+period needing its next token by s+2·period.
type visit struct {
	req    Request
	period time.Duration
}

// sim drives callers against a limiter on a fake clock: each comes back exactly when it is told to.
type sim struct {
	l        *KeyLimiter
	clk      *clocktesting.FakePassiveClock
	q        timeline.Queue[visit]
	admitted []admitted
}

type admitted struct {
	at  time.Time
	req Request
}

func newSim(r rate.Limit) *sim {
	l, clk := newTestLimiter(r, 1, WithRateCeiling(r))
	return &sim{l: l, clk: clk}
}

func (s *sim) add(at time.Time, req Request, period time.Duration) {
	s.q.Add(at, visit{req: req, period: period})
}

// addMany adds n callers of tenant, named tenant/i, at at.
func (s *sim) addMany(n int, at time.Time, tenant string, weight int32, needBy time.Time, period time.Duration) {
	for i := range n {
		s.add(at, Request{Caller: fmt.Sprintf("%s/%d", tenant, i), Tenant: tenant, Weight: weight, NeedBy: needBy}, period)
	}
}

// run plays the visits until done says stop or the clock reaches until.
func (s *sim) run(until time.Time, done func(admitted) bool) {
	for at, v, ok := s.q.Next(); ok; at, v, ok = s.q.Next() {
		if at.After(until) {
			s.add(at, v.req, v.period)
			return
		}
		s.clk.SetTime(at)
		adm, err := s.l.admit(testKey, v.req)
		if err != nil {
			s.add(at.Add(err.RetryAfter), v.req, v.period)
			continue
		}
		s.l.succeeded(adm)
		a := admitted{at: at, req: v.req}
		s.admitted = append(s.admitted, a)
		if v.period > 0 {
			next := v.req
			next.NeedBy = at.Add(2 * v.period)
			s.add(at.Add(v.period), next, v.period)
		}
		if done != nil && done(a) {
			return
		}
	}
}

// order is the callers with prefix in the order they were admitted.
func (s *sim) order(prefix string) []string {
	var out []string
	for _, a := range s.admitted {
		if strings.HasPrefix(a.req.Caller, prefix) {
			out = append(out, a.req.Caller)
		}
	}
	return out
}

// share counts the admissions of each tenant in [from, to).
func (s *sim) share(from, to time.Time) map[string]int {
	out := map[string]int{}
	for _, a := range s.admitted {
		if !a.at.Before(from) && a.at.Before(to) {
			out[a.req.Tenant]++
		}
	}
	return out
}

// TestFloodingTenantDoesNotDelayAnotherTenantsRefresh is the reproduction of issue 24: 3,000 sessions of ttl 60 in
// one namespace, refreshing at half-life, ask 100 calls/s of a key limited to 20/s. Another namespace's refresh,
// due 100 s before its token expires, used to wait behind every urgent refresh of the flood (148 s, after expiry);
// it now waits for no more than the slots already held within the horizon. The flood still gets the rest of the
// rate.
func TestFloodingTenantDoesNotDelayAnotherTenantsRefresh(t *testing.T) {
	s := newSim(20)
	s.addMany(3000, t0, "flood", 0, t0.Add(30*time.Second), 30*time.Second)
	s.run(t0.Add(time.Minute), nil)
	due := t0.Add(time.Minute)
	s.add(due, Request{Caller: "calm/pay", Tenant: "calm", NeedBy: due.Add(100 * time.Second)}, 0)
	var served time.Time
	s.run(due.Add(5*time.Minute), func(a admitted) bool {
		if a.req.Tenant == "calm" {
			served = a.at
		}
		return !served.IsZero() && a.at.After(due.Add(time.Minute))
	})
	if served.IsZero() || served.Sub(due) > horizon+time.Second {
		t.Fatalf("the other namespace's refresh was served at +%v (zero: never), want within %v", served.Sub(due), horizon+time.Second)
	}
	if got := s.share(due, due.Add(time.Minute))["flood"]; got < 20*60-5 {
		t.Fatalf("the flood got %d calls in the minute, want the rest of 20/s (about %d)", got, 20*60-1)
	}
}

// fillHorizon takes the slots within the horizon (one second apart at 1/s), so the callers after it queue.
func fillHorizon(s *sim) {
	s.addMany(3, t0, "fill", 0, time.Time{}, 0)
}

func TestRefreshesGoEarliestDeadlineFirst(t *testing.T) {
	s := newSim(1)
	fillHorizon(s)
	for _, h := range []int{5, 3, 4, 1, 2} { // arriving in no particular order, each with hours to spare
		s.add(t0, Request{Caller: fmt.Sprintf("r%d", h), NeedBy: t0.Add(time.Duration(h) * time.Hour)}, 0)
	}
	s.run(t0.Add(time.Minute), nil)
	if got, want := s.order("r"), []string{"r1", "r2", "r3", "r4", "r5"}; !slices.Equal(got, want) {
		t.Fatalf("refreshes served in the order %v, want %v", got, want)
	}
}

func TestFirstIssuesWaitBehindRefreshes(t *testing.T) {
	s := newSim(1)
	fillHorizon(s)
	for i := range 3 { // first issues, then refreshes with an hour to spare, all of one namespace
		s.add(t0, Request{Caller: fmt.Sprintf("new/%d", i), Tenant: "ns"}, 0)
		s.add(t0.Add(time.Second), Request{Caller: fmt.Sprintf("refresh/%d", i), Tenant: "ns", NeedBy: t0.Add(time.Hour)}, 0)
	}
	s.run(t0.Add(time.Minute), nil)
	want := []string{"refresh/0", "refresh/1", "refresh/2", "new/0", "new/1", "new/2"}
	if got := slices.DeleteFunc(s.order(""), func(c string) bool { return strings.HasPrefix(c, "fill") }); !slices.Equal(got, want) {
		t.Fatalf("served in the order %v, want %v", got, want)
	}
}

// backlogs: tenant "early" queues 1,000 first issues at once, tenant "late" 1,000 more 5 s later, with these weights,
// on a key of 10/s; the calls each got over the 30 s after the late one's first slots.
func backlogs(early, late int32) map[string]int {
	s := newSim(10)
	s.addMany(1000, t0, "early", early, time.Time{}, 0)
	s.addMany(1000, t0.Add(5*time.Second), "late", late, time.Time{}, 0)
	s.run(t0.Add(40*time.Second), nil)
	return s.share(t0.Add(10*time.Second), t0.Add(40*time.Second))
}

// TestTenantsShareTheRateEqually: a tenant that arrives behind another's backlog of 1,000 first issues gets half of
// the rate at once, not after the backlog.
func TestTenantsShareTheRateEqually(t *testing.T) {
	if got := backlogs(0, 0); got["early"] < 148 || got["early"] > 152 || got["late"] < 148 || got["late"] > 152 {
		t.Fatalf("calls per tenant over 30 s at 10/s: %v, want 150 each", got)
	}
}

// TestTenantsShareTheRateByWeight: a tenant of weight 3 gets three slots for every one of a tenant of weight 1.
func TestTenantsShareTheRateByWeight(t *testing.T) {
	if got := backlogs(1, 3); got["early"] < 73 || got["early"] > 77 || got["late"] < 223 || got["late"] > 227 {
		t.Fatalf("calls per tenant over 30 s at 10/s: %v, want 75 (weight 1) and 225 (weight 3)", got)
	}
}

// TestLimiterForgetsIdleTenants: a tenant is remembered only while it has a place in line or a share to spend, so
// a key used by many namespaces over time keeps state for the few using it now.
func TestLimiterForgetsIdleTenants(t *testing.T) {
	s := newSim(100)
	for i := range 50 {
		s.add(t0, Request{Caller: fmt.Sprintf("ns%d/s", i), Tenant: fmt.Sprintf("ns%d", i)}, 0)
	}
	s.run(t0.Add(time.Minute), nil)
	s.add(t0.Add(time.Minute), Request{Caller: "now/s", Tenant: "now"}, 0)
	s.run(t0.Add(2*time.Minute), nil)
	st := s.l.state(testKey, s.clk.Now())
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(s.admitted) != 51 || len(st.tenants) > 1 || len(st.holds) != 0 {
		t.Fatalf("%d admitted; %d tenants and %d callers remembered, want 51, at most 1 and 0",
			len(s.admitted), len(st.tenants), len(st.holds))
	}
}
