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

// Reasons the checks report. They double as condition reasons.
const (
	ReasonSecretMissing       = "SecretMissing"
	ReasonSecretNotOwned      = "SecretNotOwned"
	ReasonSecretMissingData   = "SecretMissingData"
	ReasonExpiresAtUnparsable = "ExpiresAtUnparsable"
	ReasonSpecChanged         = "SpecChanged"
	ReasonForceRefresh        = "ForceRefreshRequested"
	ReasonNearingExpiry       = "NearingExpiry"
	ReasonExpired             = "Expired"
)

// Input is everything a check may look at.
type Input struct {
	Session *burnerv1alpha1.BurnerSession
	// Secret is the token Secret, nil when it does not exist.
	Secret *corev1.Secret
	Now    time.Time
	// Token is the Secret parsed once, valid when ParseErr is nil.
	Token    tokensecret.Token
	ParseErr error
}

// NewInput gathers an Input, parsing the Secret once for all checks.
func NewInput(bs *burnerv1alpha1.BurnerSession, secret *corev1.Secret, now time.Time) Input {
	in := Input{Session: bs, Secret: secret, Now: now}
	if secret != nil {
		in.Token, in.ParseErr = tokensecret.Parse(secret)
	}
	return in
}

// Func is one check: violated reports that the check failed, with the reason and a message saying why.
type Func func(Input) (reason, message string, violated bool)

// Chain evaluates checks in order and stops at the first violation.
type Chain []Func

// Evaluate runs the chain.
func (c Chain) Evaluate(in Input) (reason, message string, violated bool) {
	for _, check := range c {
		if reason, message, violated = check(in); violated {
			return reason, message, true
		}
	}
	return "", "", false
}

// NeedsToken says whether a new token must be issued. SecretNotOwned is in it because a foreign Secret holds no
// token of ours; the controller refuses to write over it rather than minting.
var NeedsToken = Chain{
	SecretMissing, SecretNotOwned, SecretMissingData, ExpiresAtUnparsable, SpecChanged, ForceRefreshRequested,
	NearingExpiry,
}

// NotReady says why the Secret does not hold a usable token. It ignores force-refresh and the refresh time: the
// old token stays usable until it expires.
var NotReady = Chain{
	SecretMissing, SecretNotOwned, SecretMissingData, ExpiresAtUnparsable, SpecChanged, Expired,
}

// SecretMissing is violated when the token Secret does not exist.
func SecretMissing(in Input) (string, string, bool) {
	if in.Secret == nil {
		return ReasonSecretMissing, fmt.Sprintf("Secret %q does not exist", in.Session.TokenSecretName()), true
	}
	return "", "", false
}

// SecretNotOwned is violated when the Secret exists but is not controlled by this session.
func SecretNotOwned(in Input) (string, string, bool) {
	if !metav1.IsControlledBy(in.Secret, in.Session) {
		return ReasonSecretNotOwned, fmt.Sprintf(
			"Secret %q exists and is not owned by this BurnerSession; it will not be overwritten", in.Secret.Name), true
	}
	return "", "", false
}

// SecretMissingData is violated when the token, expiresAt or issuedAt key is absent or empty.
func SecretMissingData(in Input) (string, string, bool) {
	if errors.Is(in.ParseErr, tokensecret.ErrMissingData) {
		return ReasonSecretMissingData, in.ParseErr.Error(), true
	}
	return "", "", false
}

// ExpiresAtUnparsable is violated when the Secret's timestamps cannot be read.
func ExpiresAtUnparsable(in Input) (string, string, bool) {
	if errors.Is(in.ParseErr, tokensecret.ErrExpiresAtMalformed) {
		return ReasonExpiresAtUnparsable, in.ParseErr.Error(), true
	}
	return "", "", false
}

// SpecChanged is violated when the token was issued for another wallet, scopes, ttl or API key reference.
func SpecChanged(in Input) (string, string, bool) {
	if in.Secret.Annotations[tokensecret.SpecHashAnnotation] != tokensecret.SpecHash(in.Session.Spec) {
		return ReasonSpecChanged, "the token was issued for a different spec", true
	}
	return "", "", false
}

// ForceRefreshRequested is violated when the session's force-refresh annotation has a value the Secret's token
// has not answered yet.
func ForceRefreshRequested(in Input) (string, string, bool) {
	want, ok := in.Session.Annotations[burnerv1alpha1.ForceRefreshAnnotation]
	if ok && want != "" && want != in.Secret.Annotations[tokensecret.ForceRefreshAnnotation] {
		return ReasonForceRefresh, fmt.Sprintf("annotation %s has a new value", burnerv1alpha1.ForceRefreshAnnotation), true
	}
	return "", "", false
}

// NearingExpiry is violated once the refresh time of the current token has come.
func NearingExpiry(in Input) (string, string, bool) {
	t := in.Token
	if at := RefreshTime(t.IssuedAt, t.ExpiresAt, string(in.Session.UID)); !in.Now.Before(at) {
		return ReasonNearingExpiry, fmt.Sprintf("the token expires at %s and was due for refresh at %s",
			t.ExpiresAt.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339)), true
	}
	return "", "", false
}

// Expired is violated once the current token has expired.
func Expired(in Input) (string, string, bool) {
	if t := in.Token; !in.Now.Before(t.ExpiresAt) {
		return ReasonExpired, fmt.Sprintf("the token expired at %s", t.ExpiresAt.UTC().Format(time.RFC3339)), true
	}
	return "", "", false
}
