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

// Package csitest has the fakes the CSI node plugin's tests share: a Minter that stands in for the manager's mint
// endpoint, answering from a clock the test controls.
package csitest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"k8s.io/utils/clock"

	"github.com/burner-operator/burner-operator/internal/mintapi"
)

// TokenPrefix starts every token the fake mints, so a test can search logs and errors for any of them.
const TokenPrefix = "eyJfake-burner-token-"

// Call is one Mint call the fake received.
type Call struct {
	Request  mintapi.Request
	PodToken string
}

// Minter mints tokens valid for Lifetime from Clock's now, or fails with the failure set by FailWith.
type Minter struct {
	Clock    clock.PassiveClock
	Lifetime time.Duration
	// Delay is how long each call takes (the API's latency); 0 answers at once.
	Delay time.Duration

	mu    sync.Mutex
	calls []Call
	fail  error
}

// NewMinter returns a Minter of tokens that live lifetime on clk.
func NewMinter(clk clock.PassiveClock, lifetime time.Duration) *Minter {
	return &Minter{Clock: clk, Lifetime: lifetime}
}

// Mint implements volume.Minter.
func (m *Minter) Mint(ctx context.Context, req mintapi.Request, podToken string) (mintapi.Token, error) {
	if m.Delay > 0 {
		select {
		case <-time.After(m.Delay):
		case <-ctx.Done():
			return mintapi.Token{}, ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, Call{Request: req, PodToken: podToken})
	if m.fail != nil {
		return mintapi.Token{}, m.fail
	}
	return mintapi.Token{Value: fmt.Sprintf("%s%d", TokenPrefix, len(m.calls)),
		ExpiresAt: m.Clock.Now().Add(m.Lifetime).Truncate(time.Second)}, nil
}

// FailWith makes every later call fail with err; nil makes them succeed again.
func (m *Minter) FailWith(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

// Calls returns the calls so far.
func (m *Minter) Calls() []Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Call(nil), m.calls...)
}

// Count is the number of calls so far.
func (m *Minter) Count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

// Logs collects a logger's lines at every verbosity, for tests that assert no token is ever logged.
type Logs struct {
	mu sync.Mutex
	b  strings.Builder
}

// Logger writes into l.
func (l *Logs) Logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.b.WriteString(prefix + args + "\n")
	}, funcr.Options{Verbosity: 10})
}

// String is everything logged so far.
func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// CheckNoTokens fails t if the logs hold a token the fake minted or any of secrets.
func (l *Logs) CheckNoTokens(t testing.TB, secrets ...string) {
	t.Helper()
	s := l.String()
	for _, secret := range append(secrets, TokenPrefix) {
		if strings.Contains(s, secret) {
			t.Errorf("a token is in the logs:\n%s", s)
			return
		}
	}
}
