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

// Package volume keeps the token of each published volume fresh: it mints the first token when the volume is
// published, replaces it in place before it expires, backs off when a refresh fails (keeping the last good token),
// resumes every volume the node kept after a plugin restart without minting while their tokens are valid, and stops
// on unpublish.
package volume

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/csi/storage"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/mintapi"
	"github.com/burner-operator/burner-operator/internal/policy"
)

// Minter asks the manager for a token on a pod's behalf (mintapi.Client).
type Minter interface {
	Mint(ctx context.Context, req mintapi.Request, podToken string) (mintapi.Token, error)
}

// Reporter hears what happens to each volume's token, for metrics and pod events. Its methods must not block.
type Reporter interface {
	// Current: the volume's files hold st's token, minted just now or resumed after a restart.
	Current(st storage.State, minted bool)
	// RefreshFailed: a refresh failed; the last token stays in place and the next attempt is at retryAt.
	RefreshFailed(st storage.State, f *failure.Error, retryAt time.Time)
	// Removed: the volume was unpublished.
	Removed(st storage.State)
}

// Config is what a Manager needs.
type Config struct {
	Store    *storage.Store
	Minter   Minter
	Reporter Reporter // nil: nothing is reported
	NodeID   string
	Clock    clock.Clock // nil: the real clock
	Log      logr.Logger
	// Jitter returns a number in [0, 1) that spreads the refreshes of volumes created together; nil: random.
	Jitter func() float64
}

// Manager runs one refresh loop per published volume.
type Manager struct {
	cfg     Config
	mu      sync.Mutex
	volumes map[string]*volume
}

type volume struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// kick wakes a failing loop at once, when a republish brought a new pod token.
	kick chan struct{}

	mu       sync.Mutex
	state    storage.State
	next     time.Time
	failures int32
}

// New returns a Manager; call Resume once before serving, then Publish and Unpublish.
func New(cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Reporter == nil {
		cfg.Reporter = nopReporter{}
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	return &Manager{cfg: cfg, volumes: map[string]*volume{}}
}

// Managed says whether the volume is published and refreshed here.
func (m *Manager) Managed(volumeID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.volumes[volumeID] != nil
}

// Publish mints the first token of a new volume, writes it and starts refreshing it. For a volume already managed
// (the kubelet publishes again to hand over a fresh pod token) it only keeps the new pod token, and retries at once
// if the volume's refreshes are failing. A failed first mint writes nothing and returns its *failure.Error.
func (m *Manager) Publish(ctx context.Context, st storage.State) error {
	m.mu.Lock()
	v := m.volumes[st.VolumeID]
	m.mu.Unlock()
	if v != nil {
		return m.takePodToken(v, st.PodToken)
	}
	tok, err := m.cfg.Minter.Mint(ctx, m.request(st), st.PodToken.Value)
	if err == nil {
		err = m.accept(&st, tok)
	}
	if err != nil {
		_ = m.cfg.Store.Remove(st.VolumeID)
		return asFailure(err)
	}
	m.start(st, true)
	return nil
}

// Resume starts refreshing every volume the store kept: a token that is still valid and not due is not minted
// again, one whose refresh time passed while the plugin was down is refreshed at once.
func (m *Manager) Resume() (int, error) {
	states, err := m.cfg.Store.Load()
	for _, st := range states {
		m.start(st, false)
	}
	return len(states), err
}

// Unpublish stops the volume's refreshes and removes its files and state; an unknown volume is no error.
func (m *Manager) Unpublish(volumeID string) error {
	m.mu.Lock()
	v := m.volumes[volumeID]
	delete(m.volumes, volumeID)
	m.mu.Unlock()
	if v != nil {
		v.cancel()
		<-v.done
		m.cfg.Reporter.Removed(v.state)
	}
	return m.cfg.Store.Remove(volumeID)
}

// Stop stops every refresh loop and keeps the files and state, for the next plugin to resume.
func (m *Manager) Stop() {
	m.mu.Lock()
	vs := make([]*volume, 0, len(m.volumes))
	for _, v := range m.volumes {
		vs = append(vs, v)
	}
	m.volumes = map[string]*volume{}
	m.mu.Unlock()
	for _, v := range vs {
		v.cancel()
		<-v.done
	}
}

func (m *Manager) start(st storage.State, minted bool) {
	ctx, cancel := context.WithCancel(context.Background())
	v := &volume{ctx: ctx, cancel: cancel, done: make(chan struct{}), kick: make(chan struct{}, 1), state: st,
		next: st.RefreshAt}
	m.mu.Lock()
	m.volumes[st.VolumeID] = v
	m.mu.Unlock()
	m.cfg.Reporter.Current(st, minted)
	go m.run(v)
}

func (m *Manager) takePodToken(v *volume, podToken mintapi.Token) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if podToken.Value == v.state.PodToken.Value && podToken.ExpiresAt.Equal(v.state.PodToken.ExpiresAt) {
		return nil
	}
	v.state.PodToken = podToken
	if err := m.cfg.Store.Save(v.state); err != nil {
		return asFailure(err)
	}
	if v.failures > 0 {
		select {
		case v.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// run waits for each refresh time and refreshes, until the volume is unpublished or the manager stopped.
func (m *Manager) run(v *volume) {
	defer close(v.done)
	for {
		v.mu.Lock()
		wait := v.next.Sub(m.cfg.Clock.Now())
		v.mu.Unlock()
		if wait > 0 {
			t := m.cfg.Clock.NewTimer(wait)
			select {
			case <-v.ctx.Done():
				t.Stop()
				return
			case <-v.kick:
				t.Stop()
			case <-t.C():
			}
		} else if v.ctx.Err() != nil {
			return
		}
		m.refresh(v)
	}
}

// refresh makes one attempt and sets when the next one is due.
func (m *Manager) refresh(v *volume) {
	v.mu.Lock()
	st := v.state
	v.mu.Unlock()
	now := m.cfg.Clock.Now()
	var tok mintapi.Token
	var err error
	if !now.Before(st.PodToken.ExpiresAt) {
		err = &failure.Error{Reason: burnerv1alpha1.ReasonPodTokenRejected,
			Message: "the pod's ServiceAccount token has expired; waiting for the kubelet to publish the volume again"}
	} else {
		ctx, cancel := context.WithTimeout(v.ctx, attemptTimeout(st.ExpiresAt.Sub(now)))
		tok, err = m.cfg.Minter.Mint(ctx, m.request(st), st.PodToken.Value)
		cancel()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ctx.Err() != nil {
		return // unpublished meanwhile: write nothing
	}
	if err == nil {
		st = v.state // a republish may have brought a newer pod token meanwhile
		if err = m.accept(&st, tok); err == nil {
			v.state, v.next, v.failures = st, st.RefreshAt, 0
			m.cfg.Reporter.Current(st, true)
			return
		}
	}
	f := asFailure(err)
	v.failures++
	now = m.cfg.Clock.Now()
	v.next = now.Add(max(policy.Backoff(v.failures, st.VolumeID), f.RetryAfter))
	if lastChance := v.state.ExpiresAt.Add(-policy.LastChance); now.Before(lastChance) && lastChance.Before(v.next) {
		v.next = lastChance
	}
	m.cfg.Log.Info("Refreshing a volume's token failed; the last token stays in place", "volume", st.VolumeID,
		"pod", st.Pod.String(), "reason", f.Reason, "message", f.Message, "attempt", v.failures,
		"expiresAt", v.state.ExpiresAt, "retryAt", v.next)
	m.cfg.Reporter.RefreshFailed(v.state, f, v.next)
}

// accept writes tok into the volume's files, then its state: a crash in between costs one extra mint on resume,
// never a state that promises more than the files hold.
func (m *Manager) accept(st *storage.State, tok mintapi.Token) error {
	now := m.cfg.Clock.Now()
	if !tok.ExpiresAt.After(now) {
		return &failure.Error{Reason: burnerv1alpha1.ReasonUpstreamError, Message: "the minted token has already expired"}
	}
	if err := m.cfg.Store.WriteToken(st.VolumeID, tok); err != nil {
		return err
	}
	st.IssuedAt, st.ExpiresAt = now, tok.ExpiresAt
	// A volume has no kubelet sync lag (the plugin swaps the files and the pod sees them at once), so no margin: the
	// lead is lifetime/3, 20 s at the minimum ttl of 60 s, room for one attempt (bounded by attemptTimeout) and the
	// last-chance attempt policy.LastChance before expiry. A ttl-60 volume is minted every 40 s, not every 30 s.
	st.RefreshAt = policy.RefreshWithin(now, tok.ExpiresAt, 0, m.cfg.Jitter())
	return m.cfg.Store.Save(*st)
}

func (m *Manager) request(st storage.State) mintapi.Request {
	return mintapi.Request{Pod: st.Pod, VolumeID: st.VolumeID, NodeID: m.cfg.NodeID, Attributes: st.Attributes,
		NeedBy: st.ExpiresAt}
}

// attemptTimeout bounds one refresh attempt by half the time the current token has left (at least 5 s, at most
// mintapi.DefaultTimeout), so a hung call leaves room for the last-chance attempt.
func attemptTimeout(left time.Duration) time.Duration {
	return min(max(left/2, 5*time.Second), mintapi.DefaultTimeout)
}

// asFailure names the reason of any error: a mint's own *failure.Error, or a write on the node.
func asFailure(err error) *failure.Error {
	if f, ok := failure.As(err); ok {
		return f
	}
	return &failure.Error{Reason: burnerv1alpha1.ReasonVolumeWriteFailed, Message: err.Error()}
}

type nopReporter struct{}

func (nopReporter) Current(storage.State, bool)                            {}
func (nopReporter) RefreshFailed(storage.State, *failure.Error, time.Time) {}
func (nopReporter) Removed(storage.State)                                  {}
