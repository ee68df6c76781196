package main

import (
	"context"
	"fmt"
	"io"
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
	ready, err := h.startManager(ctx)
	if err != nil {
		return err
	}
	if err := h.poll(ctx, "soak start", ready); err != nil {
		return err
	}
	calls0 := h.sim.Calls()
	if h.c.chaos > 0 {
		stop := h.startChaos(ctx)
		s, err := h.sample(ctx)
		c := stop()
		if err != nil {
			return err
		}
		return h.chaosReport(w, s, c, calls0)
	}
	s, err := h.sample(ctx)
	if err != nil {
		return err
	}
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

type samples struct{ samples, expired, refreshes int }

// sample reads every token Secret from the harness's cache every 500 ms for c.soak. A sample is expired when the
// Secret's expiresAt is not after the sample time (or unreadable); a refresh is a token that changed.
func (h *harness) sample(ctx context.Context) (samples, error) {
	var s samples
	tokens := map[string]string{}
	end := time.Now().Add(h.c.soak)
	for now := time.Now(); now.Before(end); now = time.Now() {
		var list corev1.SecretList
		if err := h.sessions.List(ctx, &list); err != nil {
			return s, err
		}
		for i := range list.Items {
			secret := &list.Items[i]
			s.samples++
			exp, err := time.Parse(time.RFC3339, string(secret.Data[tokensecret.KeyExpiresAt]))
			if err != nil || !now.Before(exp) {
				s.expired++
			}
			token := string(secret.Data[tokensecret.KeyToken])
			if prev, ok := tokens[secret.Namespace+"/"+secret.Name]; ok && prev != token {
				s.refreshes++
			}
			tokens[secret.Namespace+"/"+secret.Name] = token
		}
		time.Sleep(500 * time.Millisecond)
	}
	return s, nil
}
