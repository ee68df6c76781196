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

// Package mint is the one path from a request for a token to the Burner API, shared by every caller (the
// BurnerSession reconciler, which writes the token to a Secret, and the per-pod service): resolve where the tokens
// come from (an issuer or an inline key), check the issuer's policy and the key Secret's opt-in (Admit), check the
// request and read the key (Prepare), wait for the per-key limiter and call the API, whose client checks the answer
// (Call). Each step fails with a *failure.Error that names the reason users see; no step keeps a token.
package mint

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/metrics"
	"github.com/burner-operator/burner-operator/internal/policy"
	"github.com/burner-operator/burner-operator/internal/secrets"
)

// Client calls the Burner API; *burnerapi.Client implements it, with the per-key limiter in front.
type Client interface {
	CreateSession(ctx context.Context, apiKey string, req burnerapi.Request) (*burnerapi.Session, error)
}

// Minter mints tokens. One serves the whole manager, so that every call with a key goes through one limiter.
type Minter struct {
	// Issuers resolves issuer references; its Reader (the manager's cache) also reads namespaces' labels.
	Issuers issuer.Resolver
	Secrets *secrets.Reader
	API     Client
	Clock   clock.PassiveClock
}

// Request is what a caller asks for, in its namespace: a session's spec, or a pod volume's attributes.
type Request struct {
	Namespace string
	// IssuerRef names the issuer; when nil, APIKeySecretRef names a key Secret of the namespace.
	IssuerRef       *burnerv1alpha1.IssuerReference
	APIKeySecretRef burnerv1alpha1.SecretKeySelector
	WalletAddress   string
	// Scopes asked for; none asks for all.
	Scopes     []burnerv1alpha1.Scope
	TTLSeconds int32
	// Caller names the requester to the per-key limiter, which keeps a slot for it ("namespace/name").
	Caller string
}

// ForSession is the request of a BurnerSession.
func ForSession(bs *burnerv1alpha1.BurnerSession) Request {
	return Request{
		Namespace: bs.Namespace, IssuerRef: bs.Spec.IssuerRef, APIKeySecretRef: bs.Spec.APIKeySecretRef,
		WalletAddress: bs.Spec.WalletAddress, Scopes: bs.Spec.Scopes, TTLSeconds: bs.Spec.TTLSeconds,
		Caller: bs.Namespace + "/" + bs.Name,
	}
}

// Application is req as the issuer's policy p judges it, made in a namespace with these labels.
func (req Request) Application(p *burnerv1alpha1.IssuerPolicy, nsLabels labels.Set) policy.Application {
	return policy.Application{Namespace: req.Namespace, NamespaceLabels: nsLabels, WalletAddress: req.WalletAddress,
		Scopes: req.Scopes, TTLSeconds: req.TTLSeconds, Policy: p}
}

// NamespaceLabels reads the labels of namespace, which policy p judges only through its namespaceSelector (nil
// without one: nothing is read).
func NamespaceLabels(
	ctx context.Context, c client.Reader, namespace string, p *burnerv1alpha1.IssuerPolicy,
) (labels.Set, error) {
	if p == nil || p.NamespaceSelector == nil {
		return nil, nil
	}
	ns := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return nil, err
	}
	return ns.Labels, nil
}

// Grant is a request's admission: where its tokens come from, cleared by the issuer's policy.
type Grant struct {
	origin issuer.Origin
	// KeyVersion is the key Secret's resourceVersion as the caches show it ("" before they do).
	KeyVersion string
}

// URL is the API the grant's tokens come from; "" for the manager's default.
func (g Grant) URL() string { return g.origin.URL }

// Policy is the issuer's policy, nil without one (or without an issuer).
func (g Grant) Policy() *burnerv1alpha1.IssuerPolicy { return g.origin.Policy }

// SecretTemplate is the issuer's default shape of token Secrets, read with the rest of the issuer (empty without
// an issuer).
func (g Grant) SecretTemplate() burnerv1alpha1.SecretTemplate { return g.origin.SecretTemplate }

// Admit resolves where req's tokens come from and checks, before anything is due, what forbids using it: an issuer
// that is missing or not Ready, its policy, a key Secret that does not opt in. It makes no API call. The policy's
// maxSessionsPerNamespace is not judged here: it ranks a namespace's BurnerSessions, which their reconciler does;
// a pod's volume does not count against it (the pods a namespace may run are its ResourceQuota's to cap). A refusal is a
// *failure.Error; issuer.ErrUnchecked says the issuer is about to be checked; any other error is the apiserver's.
func (m *Minter) Admit(ctx context.Context, req Request) (Grant, error) {
	origin, err := m.Issuers.Resolve(ctx, req.Namespace, req.IssuerRef, req.APIKeySecretRef)
	if err != nil {
		return Grant{}, err
	}
	if p := origin.Policy; p != nil {
		nsLabels, err := NamespaceLabels(ctx, m.Issuers.Reader, req.Namespace, p)
		if err != nil {
			return Grant{}, err
		}
		if reason, message, denied := policy.Permitted.Evaluate(req.Application(p, nsLabels)); denied {
			return Grant{}, &failure.Error{Reason: reason, Message: message}
		}
	}
	g := Grant{origin: origin}
	if meta := m.Secrets.Meta(ctx, origin.KeySecret); meta != nil {
		if !secrets.OptedIn(meta) {
			return Grant{}, secrets.NotLabelled(origin.KeySecret)
		}
		g.KeyVersion = meta.ResourceVersion
	}
	return g, nil
}

// Attempt is a call ready to be made: the request checked and the key read.
type Attempt struct {
	m      *Minter
	apiKey string
	req    burnerapi.Request
}

// Prepare checks what the API would refuse (the wallet address) and reads the key; its error is a *failure.Error.
func (m *Minter) Prepare(ctx context.Context, g Grant, req Request) (Attempt, error) {
	if err := burnerapi.ValidateWalletAddress(req.WalletAddress); err != nil {
		return Attempt{}, failure.New(burnerv1alpha1.ReasonInvalidSpec, "spec.walletAddress: %s", err.Error())
	}
	apiKey, _, err := m.Secrets.APIKey(ctx, g.origin.KeySecret, g.origin.KeyField)
	if err != nil {
		return Attempt{}, err
	}
	scopes := make([]string, len(req.Scopes))
	for i, s := range req.Scopes {
		scopes[i] = string(s)
	}
	return Attempt{m: m, apiKey: apiKey, req: burnerapi.Request{
		WalletAddress: req.WalletAddress, Scopes: scopes, TTLSeconds: req.TTLSeconds,
		Caller: req.Caller, Tenant: req.Namespace, Weight: g.origin.NamespaceWeights[req.Namespace],
		BaseURL: g.origin.URL,
	}}, nil
}

// Call waits for the per-key limiter and calls the API. needBy, when set, is when the caller's current token
// expires: the limiter serves the tokens about to expire first. A call the limiter defers returns its
// burnerapi.KindHeldBack error (burnerapi.RetryAfter says until when); a call cut short by ctx returns ctx's error;
// any other failure is a *failure.Error.
func (a Attempt) Call(ctx context.Context, needBy time.Time) (*burnerapi.Session, error) {
	req := a.req
	req.NeedBy = needBy
	start := a.m.Clock.Now()
	sess, err := a.m.API.CreateSession(ctx, a.apiKey, req)
	if burnerapi.KindOf(err) == burnerapi.KindHeldBack {
		return nil, err
	}
	if err != nil && ctx.Err() != nil {
		// The caller is stopping: not the API's failure, and nothing to count.
		return nil, ctx.Err()
	}
	if burnerapi.KindOf(err) != burnerapi.KindUnavailable { // an open circuit sent nothing
		metrics.ObserveAPICall(err, a.m.Clock.Since(start))
	}
	if err != nil {
		return nil, classify(err)
	}
	return sess, nil
}
