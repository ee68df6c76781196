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

package mintserver

import (
	"context"
	"errors"
	"time"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/mint"
	"github.com/burner-operator/burner-operator/internal/mintapi"
)

// maxWait bounds how long one request waits in the manager (for its issuer's first check, for its slot in the
// per-key limiter) before it is answered RateLimited with the wait left: the node plugin gives up after 30 s, and
// then backs off as after any failure.
const maxWait = 20 * time.Second

// FromMinter is the MintFunc of the manager's mint path: a pod's volume is admitted, checked and minted for exactly
// as a BurnerSession of the same spec in the pod's namespace, through the same limiter.
func FromMinter(m *mint.Minter) MintFunc {
	return func(ctx context.Context, req Request) (mintapi.Token, error) {
		spec := req.Spec.SessionSpec()
		mreq := mint.Request{
			Namespace: req.Pod.Namespace, IssuerRef: spec.IssuerRef, WalletAddress: spec.WalletAddress,
			Scopes: spec.Scopes, TTLSeconds: spec.TTLSeconds,
			Caller: req.Pod.String() + "/" + req.VolumeID,
		}
		deadline := time.Now().Add(maxWait)
		grant, err := m.Admit(ctx, mreq)
		for errors.Is(err, issuer.ErrUnchecked) {
			if err = waitUntil(ctx, deadline, time.Second); err != nil {
				return mintapi.Token{}, err
			}
			grant, err = m.Admit(ctx, mreq)
		}
		if err != nil {
			return mintapi.Token{}, err
		}
		attempt, err := m.Prepare(ctx, grant, mreq)
		if err != nil {
			return mintapi.Token{}, err
		}
		for {
			sess, err := attempt.Call(ctx, req.NeedBy)
			if burnerapi.KindOf(err) != burnerapi.KindHeldBack {
				if err != nil {
					return mintapi.Token{}, err
				}
				return mintapi.Token{Value: sess.Token, ExpiresAt: sess.ExpiresAt}, nil
			}
			if err := waitUntil(ctx, deadline, burnerapi.RetryAfter(err)); err != nil {
				return mintapi.Token{}, err
			}
		}
	}
}

// waitUntil waits d, unless that would pass deadline: then the request is answered RateLimited with the wait left,
// for the node to come back.
func waitUntil(ctx context.Context, deadline time.Time, d time.Duration) error {
	if time.Now().Add(d).After(deadline) {
		return &failure.Error{Reason: burnerv1alpha1.ReasonRateLimited, RetryAfter: d,
			Message: "the API key's rate is spent for now; the node retries after the wait"}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
