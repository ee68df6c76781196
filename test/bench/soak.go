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

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// soak runs the manager over the sessions for c.soak (under faults in chaos mode) and samples every token Secret
// every 500 ms, counting samples where the Secret held an expired (or unreadable) token, and the refreshes seen.
func (h *harness) soak(ctx context.Context, w io.Writer) error {
	if err := h.createSessions(ctx); err != nil {
		return err
	}
	if h.c.hung > 0 {
		if err := h.startHungUpstream(ctx); err != nil {
			return err
		}
	}
	start := time.Now()
	ready, err := h.startManager(ctx)
	if err != nil {
		return err
	}
	if err := h.poll(ctx, "soak start", ready); err != nil {
		return err
	}
	allReady := time.Since(start)
	calls0 := h.sim.Calls()
	if h.c.chaos > 0 {
		stop := h.startChaos(ctx)
		s, err := h.sample(ctx)
		c := stop()
		if err != nil {
			return err
		}
		return h.chaosReport(ctx, w, s, c, calls0)
	}
	s, err := h.sample(ctx)
	if err != nil {
		return err
	}
	if h.c.hung > 0 {
		return h.hungReport(w, allReady, s, calls0)
	}
	s.logExpired()
	calls := h.sim.Calls().Total - calls0.Total
	r := processRSS(h.mgr.Pid())
	_, _ = fmt.Fprintf(w, "## Soak: %d sessions, ttl %d s, %s, Secrets sampled every 500 ms\n\n"+
		"| samples | expired or unreadable | refreshes seen | API calls | manager RSS peak / now |\n|---|---|---|---|---|\n"+
		"| %d | %d | %d | %d | %s / %s |\n\n",
		h.c.sessions, h.c.ttl, h.c.soak, s.samples, s.expired, s.refreshes, calls, mib(r.peak), mib(r.now))
	if s.expired > 0 {
		return fmt.Errorf("%d samples saw an expired token", s.expired)
	}
	return nil
}

// sampler reads every token Secret from the harness's cache. A sample is expired when the Secret's expiresAt is
// not after the sample time (or unreadable); a refresh is a token that changed since the previous pass, and its
// lead how long before the replaced token's expiresAt it was seen (up to a pass late).
type sampler struct {
	samples, expired, refreshes int
	tokens                      map[string]string
	expires                     map[string]time.Time
	leads                       []time.Duration
	late                        map[string]time.Duration // per expired Secret, the longest it was seen expired
	first                       map[string]time.Time     // and when it was first seen expired
}

func newSampler() *sampler {
	return &sampler{tokens: map[string]string{}, expires: map[string]time.Time{}, late: map[string]time.Duration{},
		first: map[string]time.Time{}}
}

// sample passes over the Secrets every 500 ms for c.soak.
func (h *harness) sample(ctx context.Context) (*sampler, error) {
	s := newSampler()
	for end := time.Now().Add(h.c.soak); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if err := s.pass(ctx, h); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (s *sampler) pass(ctx context.Context, h *harness) error {
	var list corev1.SecretList
	if err := h.sessions.List(ctx, &list); err != nil {
		return err
	}
	now := time.Now()
	for i := range list.Items {
		secret := &list.Items[i]
		key := secret.Namespace + "/" + secret.Name
		s.samples++
		exp, err := time.Parse(time.RFC3339, string(secret.Data[tokensecret.KeyExpiresAt]))
		if err != nil || !now.Before(exp) {
			s.expired++
			if _, seen := s.late[key]; !seen {
				s.first[key] = now
			}
			s.late[key] = max(s.late[key], now.Sub(exp))
		}
		token := string(secret.Data[tokensecret.KeyToken])
		if prev, ok := s.tokens[key]; ok && prev != token {
			s.refreshes++
			s.leads = append(s.leads, s.expires[key].Sub(now))
		}
		s.tokens[key] = token
		s.expires[key] = exp
	}
	return nil
}

// logExpired names the Secrets seen expired, and for how long, on stderr: where to look in the manager's log.
func (s *sampler) logExpired() {
	for key, late := range s.late {
		fmt.Fprintf(os.Stderr, "%s expired: %s, seen up to %.1f s past its expiresAt\n",
			s.first[key].Format(time.TimeOnly), key, late.Seconds())
	}
}
