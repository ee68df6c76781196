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

// Package controller holds the reconcilers of BurnerSessions and of both kinds of issuer. A session's Reconcile
// reads as its files do: observe the token Secret (observe.go), admit the request through the mint path
// (internal/mint), shape the Secret by its template (template.go), restore the last token issued when the Secret
// lost it (lastissued.go), mint a token when one is due (mint.go) and write it (write.go); the outcome (outcome.go)
// then decides the status (status.go), the requeue (requeue.go) and what is reported (report.go).
package controller

import (
	"context"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/mint"
	"github.com/burner-operator/burner-operator/internal/policy"
	"github.com/burner-operator/burner-operator/internal/secrets"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// BurnerSessionReconciler keeps each BurnerSession's token Secret holding a valid token.
type BurnerSessionReconciler struct {
	// Client reads BurnerSessions and token Secrets from the manager's cache, which holds only managed Secrets.
	client.Client
	// APIReader reads straight from the apiserver what the cache does not hold (a token Secret whose label was
	// stripped by hand, our own write not yet seen), so the manager never caches every Secret in the cluster.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  events.EventRecorder
	// Clock is the only source of time for decisions; tests inject a fake one.
	Clock clock.PassiveClock
	// Minter is the mint path, shared with every other caller in the manager.
	Minter *mint.Minter
	// Secrets reads the metadata of Secrets the main cache does not hold.
	Secrets *secrets.Reader
	// ForceRefreshInterval is the least time from a session's last token to one a new force-refresh value asks for
	// (policy.ForceRefreshWait); 0: none.
	ForceRefreshInterval time.Duration

	// lastIssued keeps the last token written per session, so a token Secret deleted or edited by hand is repaired
	// without minting while that token is still good.
	lastIssued lastIssued
	// sent records, per session, the last status patch sent (see patchStatus).
	sent sync.Map
	// rateLimited holds the sessions whose last call was answered with a quiet 429 (see mint).
	rateLimited sync.Map
}

// The verbs the manager uses, and no more (TestManagerRunsUnderInstalledRBAC runs it under them). Setting
// blockOwnerDeletion on the token Secret's owner reference needs update on burnersessions/finalizers where the
// OwnerReferencesPermissionEnforcement admission plugin is on (OpenShift and others). Namespaces are read for
// their labels, which an issuer's namespaceSelector matches. A token Secret is patched when the secretTemplate alone
// changes its labels and annotations (the cached copy, compacted, is never written back whole).
// +kubebuilder:rbac:groups=burner.aerosol.com,resources=burnersessions,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=burner.aerosol.com,resources=burnersessions/status,verbs=patch
// +kubebuilder:rbac:groups=burner.aerosol.com,resources=burnersessions/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one BurnerSession's token Secret up to date and reports it in status.
func (r *BurnerSessionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// 1. Load the session. A session being deleted needs nothing: its Secret is garbage-collected with it.
	bs := &burnerv1alpha1.BurnerSession{}
	if err := r.Get(ctx, req.NamespacedName, bs); err != nil {
		if client.IgnoreNotFound(err) == nil {
			r.lastIssued.forget(req.NamespacedName)
			r.sent.Delete(req.NamespacedName)
			r.rateLimited.Delete(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !bs.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}

	// 2-4. Observe the token Secret, decide, and mint and write a token if one is due.
	o, err := r.reconcileToken(ctx, bs)
	if err != nil {
		return ctrl.Result{}, err
	}
	if o.failure != nil && o.source == refused {
		// A refused session gets no token written: the one in memory would only be kept for nothing.
		r.lastIssued.forget(req.NamespacedName)
	}

	// 5. Report: the status, then the requeue from it, then the events, logs and counts of what needs a look. An
	// unchanged status is not written (a held-back session's, typically). A token minted while the manager stops is
	// reported too.
	ctx, cancel := finishing(ctx)
	defer cancel()
	orig := bs.DeepCopy()
	setStatus(bs, o)
	res := requeue(bs, o)
	r.report(ctx, orig, bs, o, res)
	if err := r.patchStatus(ctx, orig, bs); err != nil {
		// The failure record did not reach status: retry with the controller's error backoff instead of res.
		return ctrl.Result{}, err
	}
	return res, nil
}

// reconcileToken observes the token Secret, decides whether a token must be written, and writes one: the last
// token issued if it is still good (a Secret deleted or edited by hand), else a new one; or, when no token is due,
// only the labels and annotations the secretTemplate changed.
func (r *BurnerSessionReconciler) reconcileToken(ctx context.Context, bs *burnerv1alpha1.BurnerSession) (outcome, error) {
	secret, err := r.tokenSecret(ctx, bs)
	if err != nil {
		return outcome{}, err
	}
	in := policy.NewInput(bs, secret, r.Clock.Now())
	if secret != nil && !in.Owned {
		// Writing would destroy somebody else's data; the Secret watches bring the session back when it is gone.
		reason, message, _ := policy.SecretNotOwned(in)
		return refusedBy(in, &failure.Error{Reason: reason, Message: message}), nil
	}
	// Checked at every reconcile and before anything is due: a refusal shows on Ready at once, and the current
	// token is left to expire.
	req := mint.ForSession(bs)
	grant, err := r.Minter.Admit(ctx, req)
	if errors.Is(err, issuer.ErrUnchecked) {
		// Its issuer is about to be checked: wait for that, as for the limiter, without a word in status.
		return outcome{in: in, heldBack: policy.Recheck}, nil
	}
	if f, ok := failure.As(err); ok {
		return refusedBy(in, f), nil
	}
	if err != nil {
		return outcome{}, err
	}
	// The issuer's maxSessionsPerNamespace, which ranks the namespace's sessions: refused the same way.
	overLimit, err := r.seat(ctx, bs, grant.Policy())
	if err != nil {
		return outcome{}, err
	}
	if overLimit != nil {
		return refusedBy(in, overLimit), nil
	}
	tmpl := tokensecret.MergeTemplates(grant.SecretTemplate(), bs.Spec.SecretTemplate)
	reshaped, f := shape(in, tmpl)
	if f != nil {
		return refusedBy(in, f), nil
	}
	a := attempt{req: req, grant: grant, template: tmpl,
		fingerprint: policy.Fingerprint(in, grant.KeyVersion, grant.URL())}
	var due bool
	a.reason, a.detail, due = policy.NeedsToken.Evaluate(in)
	if last, ok := r.lastIssued.restore(in); ok {
		return r.repair(ctx, in, last, a, due)
	}
	// A new force-refresh value too soon after the last token waits for the interval (policy.ForceRefreshWait).
	until, why, deferred := policy.ForceRefreshWait(in, r.ForceRefreshInterval)
	if !due || deferred {
		// A new template, the session's or its issuer's, changes no token: the labels and annotations alone are
		// written, with no call.
		if reshaped {
			if err := r.reshape(ctx, in, tmpl); err != nil {
				if f, ok := failure.As(err); ok {
					return refusedBy(in, f), nil
				}
				return writeFailed(in, a.fingerprint, err)
			}
		}
		return outcome{in: in, forceRefreshAt: until, deferral: why}, nil
	}
	return r.mint(ctx, bs, in, a)
}

// repair writes last, the last token issued, into the token Secret (deleted, or edited by hand), without minting;
// due says whether the observed Secret needed a new token, a.reason and a.detail why.
func (r *BurnerSessionReconciler) repair(
	ctx context.Context, in policy.Input, last tokensecret.Token, a attempt, due bool,
) (outcome, error) {
	bs := in.Session
	if in.Secret == nil && r.lastIssued.written(bs) {
		// A requeue can outrun the watch that brings our own write into the cache: ask the apiserver before
		// creating that Secret again (a 409 otherwise).
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: bs.Namespace, Name: bs.TokenSecretName()},
			secrets.Metadata()); err == nil {
			return outcome{in: in, heldBack: policy.Recheck}, nil
		} else if client.IgnoreNotFound(err) != nil {
			return outcome{}, err
		}
	}
	written, err := r.writeSecret(ctx, bs, in.Secret, last, a.template)
	if err != nil {
		return writeFailed(in, a.fingerprint, err)
	}
	r.lastIssued.markWritten(bs)
	why := "after it was edited"
	if due {
		why = "(" + a.detail + ")"
	}
	r.Recorder.Eventf(bs, nil, corev1.EventTypeNormal, burnerv1alpha1.ReasonRepaired, "Repair",
		"restored the current token into Secret %q %s", written.Name, why)
	return outcome{in: policy.NewInput(bs, written, in.Now)}, nil
}
