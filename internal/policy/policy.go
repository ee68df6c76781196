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

// Package policy decides, from the observed token Secret alone, whether a BurnerSession needs a new token and
// whether the token it has is ready to use. Each check is a pure function of Input; a Chain stops at the first
// check that is violated, and that check's reason becomes the condition reason (the cert-manager trigger pattern).
package policy

import (
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// Input is everything a check may look at, each derived value computed once.
type Input struct {
	Session *burnerv1alpha1.BurnerSession
	// Secret is the token Secret, nil when it does not exist.
	Secret *corev1.Secret
	Now    time.Time
	// Owned: the Secret exists and this session is its controller.
	Owned bool
	// Token is the Secret parsed once, valid when ParseErr is nil.
	Token    tokensecret.Token
	ParseErr error
	// RefreshAt is when Token is due for refresh (valid when ParseErr is nil).
	RefreshAt time.Time
	// SpecHash and ForceRefresh are what a token issued now would be issued for: the session's spec hash and its
	// force-refresh value.
	SpecHash     string
	ForceRefresh string
}

// NewInput gathers an Input, parsing the Secret once for all checks.
func NewInput(bs *burnerv1alpha1.BurnerSession, secret *corev1.Secret, now time.Time) Input {
	in := Input{
		Session: bs, Secret: secret, Now: now,
		SpecHash:     tokensecret.SpecHash(bs.Spec),
		ForceRefresh: bs.Annotations[burnerv1alpha1.ForceRefreshAnnotation],
	}
	if secret == nil {
		return in
	}
	in.Owned = metav1.IsControlledBy(secret, bs)
	if in.Token, in.ParseErr = tokensecret.Parse(secret); in.ParseErr == nil {
		in.RefreshAt = RefreshTime(in.Token.IssuedAt, in.Token.ExpiresAt, string(bs.UID))
	}
	return in
}

// Usable says whether the Secret is ours and holds a parsable token, so its times can be reported.
func (in Input) Usable() bool { return in.Owned && in.ParseErr == nil }

// Func is one check of an input: violated reports that the check failed, with the reason and a message saying why.
type Func[T any] func(T) (reason, message string, violated bool)

// Chain evaluates checks in order and stops at the first violation.
type Chain[T any] []Func[T]

// Evaluate runs the chain.
func (c Chain[T]) Evaluate(in T) (reason, message string, violated bool) {
	for _, check := range c {
		if reason, message, violated = check(in); violated {
			return reason, message, true
		}
	}
	return "", "", false
}

// NeedsToken says whether a new token must be issued into a Secret the session owns (or that does not exist yet):
// ownership is checked before it, since a foreign Secret is a reason to refuse, not to mint.
var NeedsToken = Chain[Input]{
	SecretMissing, SecretMissingData, ExpiresAtUnparsable, SpecChanged, ForceRefreshRequested, NearingExpiry,
}

// NotReady says why the Secret does not hold a usable token. It ignores force-refresh and the refresh time: the
// old token stays usable until it expires.
var NotReady = Chain[Input]{
	SecretMissing, SecretNotOwned, SecretMissingData, ExpiresAtUnparsable, SpecChanged, Expired,
}

// SecretMissing is violated when the token Secret does not exist.
func SecretMissing(in Input) (string, string, bool) {
	if in.Secret == nil {
		return burnerv1alpha1.ReasonSecretMissing,
			fmt.Sprintf("Secret %q does not exist", in.Session.TokenSecretName()), true
	}
	return "", "", false
}

// SecretNotOwned is violated when the Secret exists but is not controlled by this session.
func SecretNotOwned(in Input) (string, string, bool) {
	if !in.Owned {
		return burnerv1alpha1.ReasonSecretNotOwned, fmt.Sprintf(
			"Secret %q exists and is not owned by this BurnerSession; it will not be overwritten", in.Secret.Name), true
	}
	return "", "", false
}

// SecretMissingData is violated when the token, expiresAt or issuedAt key is absent or empty.
func SecretMissingData(in Input) (string, string, bool) {
	if errors.Is(in.ParseErr, tokensecret.ErrMissingData) {
		return burnerv1alpha1.ReasonSecretMissingData, in.ParseErr.Error(), true
	}
	return "", "", false
}

// ExpiresAtUnparsable is violated when the Secret's timestamps cannot be read.
func ExpiresAtUnparsable(in Input) (string, string, bool) {
	if errors.Is(in.ParseErr, tokensecret.ErrExpiresAtMalformed) {
		return burnerv1alpha1.ReasonExpiresAtUnparsable, in.ParseErr.Error(), true
	}
	return "", "", false
}

// SpecChanged is violated when the token was issued for another wallet, scopes, ttl or API key reference.
func SpecChanged(in Input) (string, string, bool) {
	if in.Token.SpecHash != in.SpecHash {
		return burnerv1alpha1.ReasonSpecChanged, "the token was issued for a different spec", true
	}
	return "", "", false
}

// ForceRefreshRequested is violated when the session's force-refresh annotation has a value the Secret's token
// has not answered yet.
func ForceRefreshRequested(in Input) (string, string, bool) {
	if in.ForceRefresh != "" && in.ForceRefresh != in.Token.ForceRefresh {
		return burnerv1alpha1.ReasonForceRefreshRequested,
			fmt.Sprintf("annotation %s has a new value", burnerv1alpha1.ForceRefreshAnnotation), true
	}
	return "", "", false
}

// NearingExpiry is violated once the refresh time of the current token has come.
func NearingExpiry(in Input) (string, string, bool) {
	if !in.Now.Before(in.RefreshAt) {
		return burnerv1alpha1.ReasonNearingExpiry, fmt.Sprintf("the token expires at %s and was due for refresh at %s",
			in.Token.ExpiresAt.UTC().Format(time.RFC3339), in.RefreshAt.UTC().Format(time.RFC3339)), true
	}
	return "", "", false
}

// Expired is violated once the current token has expired.
func Expired(in Input) (string, string, bool) {
	if !in.Now.Before(in.Token.ExpiresAt) {
		return burnerv1alpha1.ReasonExpired,
			fmt.Sprintf("the token expired at %s", in.Token.ExpiresAt.UTC().Format(time.RFC3339)), true
	}
	return "", "", false
}
