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
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnersim"
)

// Hung mode (-hung D): a soak of length D where, beside the usual sessions, -hung-sessions sessions of a
// BurnerIssuer whose API (a second simulator) accepts every call and never answers wait for tokens (issue 24).
const (
	hungNS     = "bench-hung"
	hungIssuer = "hung"
	hungKey    = "ak_bench_hung" // a key of its own: the hung API's timeouts slow only that key
)

// startHungUpstream starts the API that never answers and creates its issuer and sessions.
func (h *harness) startHungUpstream(ctx context.Context) error {
	h.hung = burnersim.New(burnersim.WithKeys(hungKey))
	h.hung.FailRandomly(1, burnersim.FaultTimeout)
	url, err := h.hung.Start()
	if err != nil {
		return err
	}
	if err := errors.Join(
		h.cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: hungNS}}),
		h.cl.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: hungNS, Name: keySecretName,
				Labels: map[string]string{burnerv1alpha1.APIKeyLabel: "true"}},
			Data: map[string][]byte{"apiKey": []byte(hungKey)},
		}),
		h.cl.Create(ctx, &burnerv1alpha1.BurnerIssuer{
			ObjectMeta: metav1.ObjectMeta{Namespace: hungNS, Name: hungIssuer},
			Spec: burnerv1alpha1.BurnerIssuerSpec{URL: url,
				APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: keySecretName}},
		}),
	); err != nil {
		return err
	}
	return forEach(h.c.hungSessions, h.c.concurrency, func(i int) error {
		return h.cl.Create(ctx, &burnerv1alpha1.BurnerSession{
			ObjectMeta: metav1.ObjectMeta{Namespace: hungNS, Name: fmt.Sprintf("s-%05d", i)},
			Spec: burnerv1alpha1.BurnerSessionSpec{WalletAddress: wallet, TTLSeconds: int32(h.c.ttl),
				IssuerRef: &burnerv1alpha1.IssuerReference{Kind: burnerv1alpha1.BurnerIssuerKind, Name: hungIssuer}},
		})
	})
}

// hungReport prints what the healthy sessions saw beside the hung upstream, and fails on an expired token.
func (h *harness) hungReport(w io.Writer, ready time.Duration, s *sampler, calls0 burnersim.Stats) error {
	r := processRSS(h.mgr.Pid())
	s.logExpired()
	hung := h.hung.Calls()
	leads := slices.Sorted(slices.Values(s.leads))
	lead := func(q float64) string {
		if len(leads) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f s", leads[int(q*float64(len(leads)-1))].Seconds())
	}
	_, _ = fmt.Fprintf(w, "## A hung second upstream: %d sessions (ttl %d s) beside %d sessions of an issuer whose "+
		"API never answers, %s, Secrets sampled every 500 ms\n\nMachine: %s. Manager flags: `%s`.\n\n"+
		"| healthy: all Ready after manager start | samples | expired | refreshes seen | refresh lead min / median / "+
		"max | API calls to the healthy API | hung API: calls received / most in flight at once | manager RSS peak / now |\n"+
		"|---|---|---|---|---|---|---|---|\n"+
		"| %.1f s | %d | %d (%d Secrets) | %d | %s / %s / %s | %d | %d / %d | %s / %s |\n\n",
		h.c.sessions, h.c.ttl, h.c.hungSessions, h.c.soak, machine(), h.c.managerArgs,
		ready.Seconds(), s.samples, s.expired, len(s.late), s.refreshes, lead(0), lead(0.5), lead(1),
		h.sim.Calls().Total-calls0.Total, hung.Received, hung.MaxInFlight, mib(r.peak), mib(r.now))
	if s.refreshes == 0 {
		return errors.New("no refresh seen, nothing measured: use -ttl 60")
	}
	if s.expired > 0 {
		return fmt.Errorf("%d samples saw an expired token", s.expired)
	}
	return nil
}
