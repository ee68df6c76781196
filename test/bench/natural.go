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
	"maps"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// measureNatural waits, with no force-refresh, until every token Secret holds a new token minted at its own
// refresh time, and counts what those refreshes cost: a third write or a Repaired event is a regression.
func (h *harness) measureNatural(ctx context.Context) (phase, error) {
	if h.c.ttl > 900 {
		return phase{}, fmt.Errorf("-phases natural waits for tokens to reach their refresh time: use -ttl 300, not %d",
			h.c.ttl)
	}
	var before map[string]int
	since := metav1.Now().Rfc3339Copy() // events carry whole seconds
	p, err := h.measure(ctx, "natural", func(context.Context) (func() int, error) {
		before = h.progress.tokenCounts()
		return func() int { renewed, _ := h.progress.renewedSince(before); return renewed }, nil
	})
	if err != nil {
		return p, err
	}
	_, p.count = h.progress.renewedSince(before)
	p.events, err = h.eventsSince(ctx, since.Time)
	return p, err
}

// renewedSince is how many token Secrets hold a newer token than in before, and how many tokens that took.
func (p *progress) renewedSince(before map[string]int) (secrets, tokens int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, n := range p.tokens {
		if n > before[key] {
			secrets++
			tokens += n - before[key]
		}
	}
	return secrets, tokens
}

// eventsSince counts the events (events.k8s.io) recorded in the bench namespaces since t, by reason.
func (h *harness) eventsSince(ctx context.Context, t time.Time) (string, error) {
	list, err := h.kube.EventsV1().Events("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	byReason := map[string]int{}
	for _, e := range list.Items {
		if strings.HasPrefix(e.Namespace, "bench-") && !e.CreationTimestamp.Time.Before(t) {
			byReason[e.Reason]++
		}
	}
	var parts []string
	for _, reason := range slices.Sorted(maps.Keys(byReason)) {
		parts = append(parts, fmt.Sprintf("%s %d", reason, byReason[reason]))
	}
	return strings.Join(parts, ", "), nil
}
