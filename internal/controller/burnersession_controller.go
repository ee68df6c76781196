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

// Package controller holds the BurnerSession reconciler: it gathers the observed state, lets the policy package
// decide, calls the Burner API only when a new token is due, and writes the token Secret and the status.
package controller

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/policy"
)

// SessionIssuer mints session tokens; *burnerapi.Client implements it.
type SessionIssuer interface {
	CreateSession(ctx context.Context, apiKey string, req burnerapi.Request) (*burnerapi.Session, error)
}

// BurnerSessionReconciler keeps each BurnerSession's token Secret holding a valid token.
type BurnerSessionReconciler struct {
	// Client reads BurnerSessions and token Secrets from the manager's cache, which holds only managed Secrets.
	client.Client
	// APIReader reads Secrets the cache does not hold (API keys, foreign Secrets in the way) straight from the
	// apiserver, so the manager never caches every Secret in the cluster.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  events.EventRecorder
	// Clock is the only source of time for decisions; tests inject a fake one.
	Clock clock.PassiveClock
	API   SessionIssuer

	// issued keeps the last token written per session, so a token Secret deleted or edited by hand is repaired
	// without minting while that token is still valid.
	issued issuedTokens
	// patchedFrom records, per session, the resourceVersion its last status patch was computed from (see
	// patchStatus).
	patchedFrom sync.Map
	// apiKeys holds API key Secrets' data by resourceVersion, and keyReads joins concurrent reads of one (see apiKey).
	apiKeys  sync.Map
	keyReads singleflight.Group
	// existing tells whether a Secret the main cache does not hold exists (metadata-only cache of all other Secrets).
	existing client.Reader
}

// +kubebuilder:rbac:groups=burner.aerosol.com,resources=burnersessions,verbs=get;list;watch
// +kubebuilder:rbac:groups=burner.aerosol.com,resources=burnersessions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one BurnerSession's token Secret up to date and reports it in status.
func (r *BurnerSessionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	// 1. Load the session. A session being deleted needs nothing: its Secret is garbage-collected with it.
	bs := &burnerv1alpha1.BurnerSession{}
	if err := r.Get(ctx, req.NamespacedName, bs); err != nil {
		if client.IgnoreNotFound(err) == nil {
			r.issued.forget(req.NamespacedName)
			r.patchedFrom.Delete(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !bs.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	orig := bs.DeepCopy()
	var heldBack bool
	defer func() {
		if heldBack {
			// Nothing was decided: a status write now would only cost the apiserver.
			return
		}
		if reterr == nil {
			bs.Status.ObservedGeneration = bs.Generation
		}
		reterr = r.patchStatus(ctx, orig, bs, reterr)
	}()

	// 2. Observe the token Secret and let the policy decide.
	secret, err := r.tokenSecret(ctx, bs)
	if err != nil {
		return ctrl.Result{}, err
	}
	now := r.Clock.Now()
	in := policy.NewInput(bs, secret, now)
	bs.Status.SecretName = bs.TokenSecretName()
	reason, message, due := policy.NeedsToken.Evaluate(in)
	if reason == policy.ReasonSecretNotOwned {
		// Writing would destroy somebody else's data; the Secret watch brings us back when it is removed.
		r.markFailed(bs, in, failure{Reason: reason, Message: message})
		r.Recorder.Eventf(bs, nil, corev1.EventTypeWarning, reason, "Refuse", message)
		return ctrl.Result{}, nil
	}

	// 3. Not due: the stored token stands. Repair the Secret from memory if it was edited by hand.
	if !due {
		if err := r.restoreIfEdited(ctx, bs, secret); err != nil {
			return ctrl.Result{}, err
		}
		return r.markValid(bs, in), nil
	}

	// 4. Due because the Secret was deleted or damaged while the last token we wrote is still good: rewrite it.
	if last, ok := r.issued.reusable(bs, now); ok {
		secret, err = r.writeToken(ctx, bs, secret, last)
		if err != nil {
			return ctrl.Result{}, err
		}
		r.Recorder.Eventf(bs, nil, corev1.EventTypeNormal, "Repaired", "Repair",
			"restored the current token into Secret %q (%s)", secret.Name, message)
		return r.markValid(bs, policy.NewInput(bs, secret, now)), nil
	}

	// 5. Mint a new token, unless a previous failure says to wait.
	res, err := r.issue(ctx, bs, in, reason, message)
	if heldBack = errors.Is(err, errHeldBack); heldBack {
		return res, nil
	}
	return res, err
}

// requeueAt is the result that brings the session back at t, rounded up to the second; the workqueue runs on the
// real clock, so this is a duration, not a time.
func requeueAt(now, t time.Time) ctrl.Result {
	d := t.Sub(now)
	if d <= 0 {
		return ctrl.Result{RequeueAfter: time.Second}
	}
	return ctrl.Result{RequeueAfter: d.Truncate(time.Second) + time.Second}
}

// tokenSecret returns the session's token Secret, or nil when there is none. Managed Secrets come from the cache;
// a Secret of that name that the cache does not hold (unlabelled, so not ours or stripped by hand) is read once
// directly, and only when the metadata cache says it exists.
func (r *BurnerSessionReconciler) tokenSecret(ctx context.Context, bs *burnerv1alpha1.BurnerSession) (*corev1.Secret, error) {
	key := client.ObjectKey{Namespace: bs.Namespace, Name: bs.TokenSecretName()}
	s := &corev1.Secret{}
	err := r.Get(ctx, key, s)
	if client.IgnoreNotFound(err) != nil {
		return nil, err
	}
	if err == nil {
		return s, nil
	}
	if r.existing != nil && r.secretVersion(ctx, key) == "" {
		return nil, nil
	}
	if err := r.APIReader.Get(ctx, key, s); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return s, nil
}
