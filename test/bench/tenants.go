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
	"maps"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// The two-tenant scenario's namespaces, and tenant B's wallet: the simulator counts mints by wallet, so each
// tenant's calls are told apart.
const (
	tenantA = "tenant-a"
	tenantB = "tenant-b"
	walletB = "11111111111111111111111111111111"
)

// tenantLog follows one namespace's token Secrets: each refresh's lead (the replaced token's expiresAt minus the
// time the new one was seen written), and when every session first had a token.
type tenantLog struct {
	mu     sync.Mutex
	leads  []time.Duration
	issued map[string]time.Time // first token seen, by Secret
	expiry map[string]time.Time // current token's expiresAt, by Secret
}

// twoTenants runs the fair-share scenario: on one ClusterBurnerIssuer whose key the upstream limits, tenant A holds
// c.sessions sessions of ttl c.ttl (a flood: with ttl 60, far more refreshes than the limit allows), tenant B
// c.tenantB sessions of ttl c.tenantBTTL. It runs the manager for c.twoTenants and reports, per tenant, the time
// until every session first had a token, the refreshes and their leads, the refreshes written after the token
// they replaced had expired, and the calls per second it got. It fails if one of B's tokens expired.
func (h *harness) twoTenants(ctx context.Context, w io.Writer) error {
	c := h.c
	for _, ns := range []string{tenantA, tenantB} {
		if err := h.cl.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	if err := h.createKeySecrets(ctx); err != nil {
		return err
	}
	session := func(ns, wallet string, ttl, i int) *burnerv1alpha1.BurnerSession {
		bs := &burnerv1alpha1.BurnerSession{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("s-%05d", i)},
			Spec:       burnerv1alpha1.BurnerSessionSpec{WalletAddress: wallet, TTLSeconds: int32(ttl)},
		}
		c.keyReference(&bs.Spec)
		return bs
	}
	if err := forEach(c.sessions, c.concurrency, func(i int) error {
		return h.cl.Create(ctx, session(tenantA, wallet, c.ttl, i))
	}); err != nil {
		return err
	}
	if err := forEach(c.tenantB, 8, func(i int) error {
		return h.cl.Create(ctx, session(tenantB, walletB, c.tenantBTTL, i))
	}); err != nil {
		return err
	}
	logs, err := h.followTenants(ctx)
	if err != nil {
		return err
	}
	calls0 := h.sim.Calls()
	start := time.Now()
	if _, err := h.startManager(ctx); err != nil {
		return err
	}
	for end := start.Add(c.twoTenants); time.Now().Before(end); {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(30 * time.Second):
		}
		fmt.Fprintf(os.Stderr, "two tenants: %3.0fs, A %d refreshes, B %d refreshes\n", time.Since(start).Seconds(),
			logs[tenantA].refreshes(), logs[tenantB].refreshes())
	}
	took := time.Since(start)
	calls := h.sim.Calls()
	now := time.Now()

	_, _ = fmt.Fprintf(w, "## Two tenants on one ClusterBurnerIssuer, upstream %g calls/s, %s\n\n"+
		"| tenant | sessions | ttl | all first issued after | refreshes | written after expiry | lead min / median | "+
		"tokens expired at the end | calls/s |\n|---|---|---|---|---|---|---|---|---|\n",
		c.upstreamRate, took.Round(time.Second))
	var bExpired int
	for _, t := range []struct {
		ns, wallet    string
		sessions, ttl int
	}{{tenantA, wallet, c.sessions, c.ttl}, {tenantB, walletB, c.tenantB, c.tenantBTTL}} {
		l := logs[t.ns]
		late, minLead, median, expiredNow, issuedAfter := l.summary(start, now, t.sessions)
		mints := calls.MintsByWallet[t.wallet] - calls0.MintsByWallet[t.wallet]
		_, _ = fmt.Fprintf(w, "| %s | %d | %d s | %s | %d | %d | %s / %s | %d | %.1f |\n", t.ns, t.sessions, t.ttl,
			issuedAfter, l.refreshes(), late, minLead, median, expiredNow, float64(mints)/took.Seconds())
		if t.ns == tenantB {
			bExpired = late + expiredNow
		}
	}
	throttled := calls.ByStatus[http.StatusTooManyRequests] - calls0.ByStatus[http.StatusTooManyRequests]
	_, _ = fmt.Fprintf(w, "\nAPI calls: %d (%.1f/s), %d answered 429; the limiter's rate at the end: %.1f/s\n\n",
		calls.Total-calls0.Total, float64(calls.Total-calls0.Total)/took.Seconds(), throttled, h.learnedRate())
	if bExpired > 0 {
		return fmt.Errorf("tenant B: %d tokens expired before their refresh", bExpired)
	}
	return nil
}

// followTenants logs both tenants' token Secrets from the harness's informer.
func (h *harness) followTenants(ctx context.Context) (map[string]*tenantLog, error) {
	logs := map[string]*tenantLog{}
	for _, ns := range []string{tenantA, tenantB} {
		logs[ns] = &tenantLog{issued: map[string]time.Time{}, expiry: map[string]time.Time{}}
	}
	informer, err := h.sessions.GetInformer(ctx, &corev1.Secret{})
	if err != nil {
		return nil, err
	}
	record := func(o any) {
		if s, ok := o.(*corev1.Secret); ok && logs[s.Namespace] != nil {
			logs[s.Namespace].saw(s, time.Now())
		}
	}
	_, err = informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: record, UpdateFunc: func(_, o any) { record(o) },
	})
	return logs, err
}

// saw records a token Secret seen at now: a new expiresAt replacing another is a refresh, whose lead is the old
// expiresAt minus now.
func (l *tenantLog) saw(s *corev1.Secret, now time.Time) {
	exp, err := time.Parse(time.RFC3339, string(s.Data[tokensecret.KeyExpiresAt]))
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	prev, seen := l.expiry[s.Name]
	switch {
	case !seen:
		l.issued[s.Name] = now
	case exp.Equal(prev):
		return
	default:
		l.leads = append(l.leads, prev.Sub(now))
	}
	l.expiry[s.Name] = exp
}

func (l *tenantLog) refreshes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.leads)
}

// summary: refreshes written after the token they replaced expired, the smallest and the median lead, the tokens
// expired at now (never refreshed in time, or never issued), and the time from start until every one of the
// sessions had a first token ("-" if some never did).
func (l *tenantLog) summary(start, now time.Time, sessions int) (late int, minLead, median string, expiredNow int,
	issuedAfter string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	leads := slices.Sorted(slices.Values(l.leads))
	for _, d := range leads {
		if d <= 0 {
			late++
		}
	}
	minLead, median = "-", "-"
	if len(leads) > 0 {
		minLead, median = seconds(leads[0]), seconds(leads[len(leads)/2])
	}
	for _, exp := range l.expiry {
		if !now.Before(exp) {
			expiredNow++
		}
	}
	expiredNow += sessions - len(l.expiry)
	issuedAfter = "-"
	if len(l.issued) == sessions {
		last := slices.MaxFunc(slices.Collect(maps.Values(l.issued)), time.Time.Compare)
		issuedAfter = seconds(last.Sub(start))
	}
	return late, minLead, median, expiredNow, issuedAfter
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
