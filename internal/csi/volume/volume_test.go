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

package volume

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/csi/csitest"
	"github.com/burner-operator/burner-operator/internal/csi/storage"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/mintapi"
	"github.com/burner-operator/burner-operator/internal/policy"
)

var t0 = time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)

const podTokenValue = "eyJpod-sa-token-secret"

type env struct {
	t      *testing.T
	clock  *clocktesting.FakeClock
	store  *storage.Store
	minter *csitest.Minter
	report *reports
	logs   *csitest.Logs
	m      *Manager
}

// newEnv runs a Manager on a fake clock whose minter issues tokens living lifetime; the logs are checked for
// secrets when the test ends.
func newEnv(t *testing.T, lifetime time.Duration) *env {
	t.Helper()
	clk := clocktesting.NewFakeClock(t0)
	store, err := storage.New(filepath.Join(t.TempDir(), "volumes"), clk)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: clk, store: store, minter: csitest.NewMinter(clk, lifetime), report: &reports{},
		logs: &csitest.Logs{}}
	e.m = e.manager()
	t.Cleanup(func() {
		e.m.Stop()
		e.logs.CheckNoTokens(t, podTokenValue)
	})
	return e
}

func (e *env) manager() *Manager {
	return New(Config{Store: e.store, Minter: e.minter, Reporter: e.report, NodeID: "node-a", Clock: e.clock,
		Jitter: func() float64 { return 0 },
		Log:    e.logs.Logger()})
}

func state(id string) storage.State {
	return storage.State{VolumeID: id, TargetPath: "/pods/" + id,
		Pod:        mintapi.PodRef{Namespace: "shop", Name: "app-0", UID: "uid-1", ServiceAccount: "app"},
		Attributes: map[string]string{mintapi.AttributeIssuerName: "platform"},
		PodToken:   mintapi.Token{Value: podTokenValue, ExpiresAt: t0.Add(time.Hour)}}
}

func (e *env) publish(id string) {
	e.t.Helper()
	if err := e.m.Publish(context.Background(), state(id)); err != nil {
		e.t.Fatal(err)
	}
}

// advanceTo moves the fake clock to at once the refresh loops wait on it.
func (e *env) advanceTo(at time.Time) {
	e.t.Helper()
	eventually(e.t, "a refresh loop to wait", e.clock.HasWaiters)
	e.clock.SetTime(at)
}

func (e *env) fileToken(id string) string {
	e.t.Helper()
	tok, err := e.store.ReadToken(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.Value
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestPublishMintsAndWritesTheFiles(t *testing.T) {
	e := newEnv(t, 300*time.Second)
	e.publish("vol-1")
	if e.minter.Count() != 1 || e.fileToken("vol-1") != csitest.TokenPrefix+"1" {
		t.Fatalf("calls %d, file %q", e.minter.Count(), e.fileToken("vol-1"))
	}
	call := e.minter.Calls()[0]
	if call.PodToken != podTokenValue || call.Request.NodeID != "node-a" || call.Request.Pod.Name != "app-0" ||
		call.Request.Attributes[mintapi.AttributeIssuerName] != "platform" {
		t.Fatalf("call %+v", call)
	}
	states, _ := e.store.Load()
	if len(states) != 1 || !states[0].RefreshAt.Equal(t0.Add(200*time.Second)) || !e.m.Managed("vol-1") {
		t.Fatalf("states %+v", states)
	}
}

// ttl 60: the token is replaced in place with a third of its lifetime left, 40 s after issue, and not before.
func TestRefreshBeforeExpiry(t *testing.T) {
	e := newEnv(t, 60*time.Second)
	e.publish("vol-1")
	e.advanceTo(t0.Add(39 * time.Second))
	time.Sleep(20 * time.Millisecond)
	if e.minter.Count() != 1 {
		t.Fatalf("minted %d times before the refresh time", e.minter.Count())
	}
	e.advanceTo(t0.Add(40 * time.Second))
	eventually(t, "the refresh", func() bool { return e.fileToken("vol-1") == csitest.TokenPrefix+"2" })
	e.advanceTo(t0.Add(80 * time.Second))
	eventually(t, "the second refresh", func() bool { return e.fileToken("vol-1") == csitest.TokenPrefix+"3" })
	if n := e.minter.Count(); n != 3 {
		t.Fatalf("%d calls for 2 refreshes", n)
	}
	// The limiter serves tokens about to expire first: a refresh says when the current one does, a mount does not.
	calls := e.minter.Calls()
	if !calls[0].Request.NeedBy.IsZero() || !calls[1].Request.NeedBy.Equal(t0.Add(60*time.Second)) {
		t.Fatalf("needBy %v, %v", calls[0].Request.NeedBy, calls[1].Request.NeedBy)
	}
}

// A failed refresh keeps the last good token, is reported, and is retried after the backoff, with a last chance
// before the token expires; the first success clears the failure.
func TestFailedRefreshKeepsTheTokenAndBacksOff(t *testing.T) {
	e := newEnv(t, 300*time.Second)
	e.publish("vol-1")
	e.minter.FailWith(&failure.Error{Reason: burnerv1alpha1.ReasonUpstreamError, Message: "the API answered 503"})
	e.advanceTo(t0.Add(200 * time.Second))
	eventually(t, "the failure report", func() bool { return e.report.failures() == 1 })
	f, retryAt := e.report.lastFailure()
	backoff := policy.Backoff(1, "vol-1")
	if f.Reason != burnerv1alpha1.ReasonUpstreamError || !retryAt.Equal(t0.Add(200*time.Second+backoff)) {
		t.Fatalf("failure %v, retry at %v", f, retryAt)
	}
	if e.fileToken("vol-1") != csitest.TokenPrefix+"1" {
		t.Fatal("the last good token was replaced")
	}
	e.advanceTo(retryAt.Add(-time.Second))
	time.Sleep(20 * time.Millisecond)
	if e.minter.Count() != 2 {
		t.Fatalf("retried before the backoff: %d calls", e.minter.Count())
	}
	// Failing on, the retries back off, but one attempt made before the last chance (10 s before expiry) never
	// waits past it.
	lastChance := t0.Add(300*time.Second - policy.LastChance)
	for e.report.failures() < 5 {
		n, at := e.report.failures(), e.clock.Now()
		if _, next := e.report.lastFailure(); at.Before(lastChance) && next.After(lastChance) {
			t.Fatalf("failure %d at %v retries at %v, after the last chance %v", n, at, next, lastChance)
		}
		_, next := e.report.lastFailure()
		e.advanceTo(next)
		eventually(t, "the next failure", func() bool { return e.report.failures() == n+1 })
	}
	if e.fileToken("vol-1") != csitest.TokenPrefix+"1" {
		t.Fatal("the last good token was replaced")
	}
	_, next := e.report.lastFailure()
	e.minter.FailWith(nil)
	e.advanceTo(next)
	eventually(t, "the recovery", func() bool {
		return strings.HasPrefix(e.fileToken("vol-1"), csitest.TokenPrefix) &&
			e.fileToken("vol-1") != csitest.TokenPrefix+"1"
	})
}

func TestLastChanceBeforeExpiry(t *testing.T) {
	e := newEnv(t, 60*time.Second) // refresh at 40 s, last chance at 50 s, first backoff 10-12 s
	e.publish("vol-1")
	e.minter.FailWith(&failure.Error{Reason: burnerv1alpha1.ReasonRateLimited, Message: "slow down",
		RetryAfter: 60 * time.Second})
	e.advanceTo(t0.Add(40 * time.Second))
	eventually(t, "the failure report", func() bool { return e.report.failures() == 1 })
	if _, retryAt := e.report.lastFailure(); !retryAt.Equal(t0.Add(60*time.Second - policy.LastChance)) {
		t.Fatalf("retry at %v, want the last chance at 50 s", retryAt)
	}
}

// A restarted plugin resumes its volumes from the node without minting while their tokens are valid and not due.
func TestResumeAfterRestartWithoutMinting(t *testing.T) {
	e := newEnv(t, 300*time.Second)
	e.publish("vol-1")
	e.publish("vol-2")
	e.m.Stop()
	e.clock.SetTime(t0.Add(100 * time.Second))
	e.m = e.manager()
	n, err := e.m.Resume()
	if err != nil || n != 2 {
		t.Fatalf("Resume = %d, %v", n, err)
	}
	time.Sleep(20 * time.Millisecond)
	if e.minter.Count() != 2 || !e.m.Managed("vol-1") || !e.m.Managed("vol-2") {
		t.Fatalf("minted %d times for 2 volumes after a restart", e.minter.Count())
	}
	e.advanceTo(t0.Add(200 * time.Second))
	eventually(t, "both refreshes", func() bool { return e.minter.Count() == 4 })
}

// A volume whose refresh time passed while the plugin was down is refreshed at once.
func TestResumeRefreshesADueVolume(t *testing.T) {
	e := newEnv(t, 60*time.Second)
	e.publish("vol-1")
	e.m.Stop()
	e.clock.SetTime(t0.Add(45 * time.Second))
	e.m = e.manager()
	if _, err := e.m.Resume(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the refresh", func() bool { return e.fileToken("vol-1") == csitest.TokenPrefix+"2" })
}

func TestUnpublishStopsTheRefreshAndRemovesTheFiles(t *testing.T) {
	e := newEnv(t, 60*time.Second)
	e.publish("vol-1")
	if err := e.m.Unpublish("vol-1"); err != nil {
		t.Fatal(err)
	}
	if e.m.Managed("vol-1") || e.report.removed() != 1 {
		t.Fatal("still managed")
	}
	if states, _ := e.store.Load(); len(states) != 0 {
		t.Fatalf("state left: %+v", states)
	}
	if _, err := e.store.ReadToken("vol-1"); err == nil {
		t.Fatal("token files left")
	}
	e.clock.SetTime(t0.Add(time.Hour))
	time.Sleep(20 * time.Millisecond)
	if e.minter.Count() != 1 {
		t.Fatalf("minted after unpublish: %d", e.minter.Count())
	}
	if err := e.m.Unpublish("vol-1"); err != nil {
		t.Fatalf("a second unpublish: %v", err)
	}
}

func TestFailedFirstMintWritesNothing(t *testing.T) {
	e := newEnv(t, 300*time.Second)
	e.minter.FailWith(&failure.Error{Reason: burnerv1alpha1.ReasonPolicyDenied,
		Message: `namespace "shop" is not selected by the issuer's policy.namespaceSelector`})
	err := e.m.Publish(context.Background(), state("vol-1"))
	var f *failure.Error
	if !errors.As(err, &f) || f.Reason != burnerv1alpha1.ReasonPolicyDenied ||
		!strings.HasPrefix(err.Error(), "PolicyDenied: namespace") {
		t.Fatalf("Publish = %v", err)
	}
	if e.m.Managed("vol-1") {
		t.Fatal("a refused volume is managed")
	}
	if states, _ := e.store.Load(); len(states) != 0 {
		t.Fatalf("state left: %+v", states)
	}
}

// The kubelet publishes again with fresh pod tokens (requiresRepublish): no mint, the next one uses the new token;
// a volume failing for an expired pod token is retried at once.
func TestRepublishTakesTheNewPodToken(t *testing.T) {
	e := newEnv(t, 3600*time.Second)
	e.publish("vol-1")
	e.advanceTo(t0.Add(2400 * time.Second)) // the pod token (1 h) has not expired yet: refresh succeeds
	eventually(t, "the refresh", func() bool { return e.minter.Count() == 2 })
	e.advanceTo(t0.Add(4800 * time.Second)) // the pod token expired: no call, a PodTokenRejected failure
	eventually(t, "the failure", func() bool { return e.report.failures() == 1 })
	if f, _ := e.report.lastFailure(); f.Reason != burnerv1alpha1.ReasonPodTokenRejected || e.minter.Count() != 2 {
		t.Fatalf("failure %v after %d calls", f, e.minter.Count())
	}
	st := state("vol-1")
	st.PodToken = mintapi.Token{Value: podTokenValue + "-2", ExpiresAt: t0.Add(3 * time.Hour)}
	if err := e.m.Publish(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the retry with the new pod token", func() bool { return e.minter.Count() == 3 })
	if got := e.minter.Calls()[2].PodToken; got != podTokenValue+"-2" {
		t.Fatal("the retry did not use the new pod token")
	}
}

// TestRefreshAt: a volume's token is replaced with a third of its lifetime left, less up to 5 % of jitter.
func TestRefreshAt(t *testing.T) {
	for _, tc := range []struct {
		lifetime time.Duration
		jitter   float64
		want     time.Duration // after issue
	}{
		{60 * time.Second, 0, 40 * time.Second},
		{60 * time.Second, 0.99, 37 * time.Second},
		{300 * time.Second, 0, 200 * time.Second},
		{3600 * time.Second, 0.5, 2310 * time.Second},
		{0, 0, 0},
	} {
		if got := policy.RefreshWithin(t0, t0.Add(tc.lifetime), 0, tc.jitter).Sub(t0); got != tc.want {
			t.Errorf("RefreshAt(%v, jitter %v) = +%v, want +%v", tc.lifetime, tc.jitter, got, tc.want)
		}
	}
}

// reports records what the Manager reported.
type reports struct {
	mu       sync.Mutex
	failed   []*failure.Error
	retryAt  time.Time
	removals int
}

func (r *reports) Current(storage.State, bool) {}

func (r *reports) RefreshFailed(_ storage.State, f *failure.Error, retryAt time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, f)
	r.retryAt = retryAt
}

func (r *reports) Removed(storage.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removals++
}

func (r *reports) failures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.failed)
}

func (r *reports) lastFailure() (*failure.Error, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed[len(r.failed)-1], r.retryAt
}

func (r *reports) removed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.removals
}
