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
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// soak runs the manager over the sessions for c.soak and samples every token Secret every 500 ms, counting samples
// where the Secret held an expired (or unreadable) token, and the refreshes seen.
func (h *harness) soak(ctx context.Context, w io.Writer) error {
	if err := h.createSessions(ctx); err != nil {
		return err
	}
	ready, err := h.startManager(ctx)
	if err != nil {
		return err
	}
	if err := h.poll(ctx, "soak start", ready); err != nil {
		return err
	}
	calls0 := h.sim.Calls().Total
	tokens := map[string]string{}
	var samples, expired, refreshes int
	end := time.Now().Add(h.c.soak)
	for now := time.Now(); now.Before(end); now = time.Now() {
		var list corev1.SecretList
		if err := h.sessions.List(ctx, &list); err != nil {
			return err
		}
		for i := range list.Items {
			s := &list.Items[i]
			samples++
			exp, err := time.Parse(time.RFC3339, string(s.Data[tokensecret.KeyExpiresAt]))
			if err != nil || !now.Before(exp) {
				expired++
			}
			token := string(s.Data[tokensecret.KeyToken])
			if prev, ok := tokens[s.Namespace+"/"+s.Name]; ok && prev != token {
				refreshes++
			}
			tokens[s.Namespace+"/"+s.Name] = token
		}
		time.Sleep(500 * time.Millisecond)
	}
	calls := h.sim.Calls().Total - calls0
	r := processRSS(h.mgr.Pid())
	_, _ = fmt.Fprintf(w, "## Soak: %d sessions, ttl %d s, %s, Secrets sampled every 500 ms\n\n"+
		"| samples | expired or unreadable | refreshes seen | API calls | manager RSS peak / now |\n|---|---|---|---|---|\n"+
		"| %d | %d | %d | %d | %s / %s |\n\n",
		h.c.sessions, h.c.ttl, h.c.soak, samples, expired, refreshes, calls, mib(r.peak), mib(r.now))
	if expired > 0 {
		return fmt.Errorf("%d samples saw an expired token", expired)
	}
	return nil
}
