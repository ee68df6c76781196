package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/policy"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

// Condition reasons for failures. Messages come from fixed templates: never from a response body, the key or the
// token.
const (
	ReasonInvalidSpec          = "InvalidSpec"
	ReasonAPIKeySecretNotFound = "APIKeySecretNotFound"
	ReasonAPIKeyMissing        = "APIKeyMissing"
	ReasonInvalidRequest       = "InvalidRequest"
	ReasonInvalidAPIKey        = "InvalidAPIKey"
	ReasonRateLimited          = "RateLimited"
	ReasonUpstreamError        = "UpstreamError"
)

// failure is a failed attempt to get a token, as the session's status and events report it.
type failure struct {
	Reason  string
	Message string
	// WaitForChange: retrying cannot help until the spec, the force-refresh value or the API key Secret changes
	// (the key Secret watch and the spec predicates bring the session back then).
	WaitForChange bool
	// RetryAfter is the server's wait, when it gave one.
	RetryAfter time.Duration
}

// issue mints a new token and writes it, or records why it could not.
func (r *BurnerSessionReconciler) issue(
	ctx context.Context, bs *burnerv1alpha1.BurnerSession, in policy.Input, reason, message string,
) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	if err := burnerapi.ValidateWalletAddress(bs.Spec.WalletAddress); err != nil {
		return r.fail(bs, in, inputsOf(bs, ""), failure{
			Reason: ReasonInvalidSpec, Message: "spec.walletAddress: " + err.Error(), WaitForChange: true,
		}), nil
	}
	apiKey, keyVersion, f := r.apiKey(ctx, bs)
	if f != nil {
		return r.fail(bs, in, inputsOf(bs, keyVersion), *f), nil
	}
	inputs := inputsOf(bs, keyVersion)
	if remaining, blocked := r.backingOff(bs, inputs, in.Now); blocked {
		r.setReady(bs, in)
		return nextWake(in, remaining), nil
	}

	log.V(1).Info("issuing token", "reason", reason, "detail", message)
	start := r.Clock.Now()
	sess, err := r.API.CreateSession(ctx, apiKey, burnerapi.Request{
		WalletAddress: bs.Spec.WalletAddress, Scopes: scopeStrings(bs.Spec.Scopes), TTLSeconds: bs.Spec.TTLSeconds,
	})
	if throttled(err) {
		// Held back by the shared per-key limiter before any call: not a failure of this session, so no status
		// write or event; come back when the limiter allows, spread so the held-back sessions do not return at once.
		return ctrl.Result{RequeueAfter: wait.Jitter(max(burnerapi.RetryAfter(err), time.Second), 1)}, errHeldBack
	}
	observeAPICall(err, r.Clock.Since(start))
	if err != nil {
		return r.fail(bs, in, inputs, classify(err)), nil
	}
	issued := tokensecret.Issued{
		Token: sess.Token, IssuedAt: start, ExpiresAt: sess.ExpiresAt, GrantedScopes: sess.Scopes,
	}
	// Remembered before the write, so that a retry after a failed write writes this token instead of minting another.
	r.issued.remember(bs, issued)
	secret, err := r.writeToken(ctx, bs, in.Secret, issued)
	if err != nil {
		return ctrl.Result{}, err
	}
	tokensIssued.Inc()

	// A routine issue or refresh records no event: status and metrics show it, and at one refresh every few
	// minutes per session, events would double the apiserver writes and fill etcd. Events are for what needs a
	// look: the short-lifetime warning (once per spec generation), failures, recovery and repairs.
	after := policy.NewInput(bs, secret, r.Clock.Now())
	refreshAt := policy.RefreshTime(issued.IssuedAt, issued.ExpiresAt, string(bs.UID))
	if !policy.CoversMountSync(refreshAt, issued.ExpiresAt) && bs.Status.ObservedGeneration != bs.Generation {
		r.Recorder.Eventf(bs, nil, corev1.EventTypeWarning, ReasonShortLifetime, "Issue", shortLifetimeMessage)
	}
	if bs.Status.FailedAttempts > 0 {
		r.Recorder.Eventf(bs, nil, corev1.EventTypeNormal, "Recovered", "Issue",
			"recovered after %d failed attempts", bs.Status.FailedAttempts)
	}
	return r.markValid(bs, after), nil
}

// errHeldBack tells Reconcile that the local per-key limiter deferred the call: the session's status stays as it is.
var errHeldBack = errors.New("held back by the per-key limiter")

// throttled says the client refused to call because the key's limiter (or a recent 429 on that key) said wait.
func throttled(err error) bool {
	var apiErr *burnerapi.Error
	return errors.As(err, &apiErr) && apiErr.Kind == burnerapi.KindHeldBack
}

// apiKey returns the API key and the key Secret's resourceVersion, so that a failure can wait for the key to
// change. API key Secrets are not cached: the value is read straight from the apiserver, and kept in memory only
// while the metadata cache shows that Secret at the same resourceVersion, so a burst of mints costs one read per key.
func (r *BurnerSessionReconciler) apiKey(ctx context.Context, bs *burnerv1alpha1.BurnerSession) (string, string, *failure) {
	ref := bs.Spec.APIKeySecretRef
	if ref.Key == "" {
		ref.Key = burnerv1alpha1.DefaultAPIKeySecretKey
	}
	key := client.ObjectKey{Namespace: bs.Namespace, Name: ref.Name}
	if version := r.secretVersion(ctx, key); version != "" {
		if v, ok := r.apiKeys.Load(key); ok && v.(readKey).version == version {
			return keyIn(v.(readKey).data, ref, version)
		}
	}
	// Workers that miss together (every session of a key is due at start-up) share one read.
	v, err, _ := r.keyReads.Do(key.String(), func() (any, error) {
		s := &corev1.Secret{}
		if err := r.APIReader.Get(ctx, key, s); err != nil {
			return nil, err
		}
		read := readKey{version: s.ResourceVersion, data: s.Data}
		r.apiKeys.Store(key, read)
		return read, nil
	})
	if err != nil {
		if client.IgnoreNotFound(err) == nil {
			return "", "", &failure{Reason: ReasonAPIKeySecretNotFound, WaitForChange: true,
				Message: fmt.Sprintf("API key Secret %q not found", ref.Name)}
		}
		return "", "", &failure{Reason: ReasonAPIKeySecretNotFound,
			Message: fmt.Sprintf("cannot read API key Secret %q: %s", ref.Name, apiStatusReason(err))}
	}
	read := v.(readKey)
	return keyIn(read.data, ref, read.version)
}

// readKey is an API key Secret's data as read at one resourceVersion.
type readKey struct {
	version string
	data    map[string][]byte
}

// keyIn takes the key out of the Secret's data. Surrounding whitespace is dropped: a Secret made from a file
// (`kubectl create secret --from-file`) usually ends in a newline, which no API key contains.
func keyIn(data map[string][]byte, ref burnerv1alpha1.SecretKeySelector, version string) (string, string, *failure) {
	key := strings.TrimSpace(string(data[ref.Key]))
	if key == "" {
		return "", version, &failure{Reason: ReasonAPIKeyMissing, WaitForChange: true,
			Message: fmt.Sprintf("API key Secret %q has no data under key %q", ref.Name, ref.Key)}
	}
	return key, version, nil
}

// classify maps a client error to a failure. The error's own text is built by burnerapi from fixed templates that
// carry no secret; it is still not copied into conditions, only its kind and status code.
func classify(err error) failure {
	var apiErr *burnerapi.Error
	status := ""
	if errors.As(err, &apiErr) && apiErr.StatusCode != 0 {
		status = fmt.Sprintf(" (HTTP %d)", apiErr.StatusCode)
	}
	switch burnerapi.KindOf(err) {
	case burnerapi.KindInvalidRequest:
		return failure{Reason: ReasonInvalidRequest, WaitForChange: true,
			Message: "the Burner API rejected the request" + status + "; fix the spec"}
	case burnerapi.KindUnauthorized:
		if status == "" {
			// Refused by the client before any call: the key cannot even be sent as a header.
			return failure{Reason: ReasonInvalidAPIKey, WaitForChange: true,
				Message: "the API key is unusable (" + upstreamDetail(err) + "); fix the API key Secret"}
		}
		return failure{Reason: ReasonInvalidAPIKey, WaitForChange: true,
			Message: "the Burner API rejected the API key" + status + "; update the API key Secret"}
	case burnerapi.KindRateLimited:
		return failure{Reason: ReasonRateLimited, RetryAfter: burnerapi.RetryAfter(err),
			Message: "rate limited by the Burner API" + status}
	default:
		return failure{Reason: ReasonUpstreamError,
			Message: "the Burner API call failed" + status + ": " + upstreamDetail(err)}
	}
}

// upstreamDetail is a short, secret-free description of a transport or response failure.
func upstreamDetail(err error) string {
	var apiErr *burnerapi.Error
	if errors.As(err, &apiErr) && apiErr.Message != "" {
		return apiErr.Message
	}
	return "unexpected error"
}

// inputsOf fingerprints what an attempt is made with, so a failure that needs a change waits for one.
func inputsOf(bs *burnerv1alpha1.BurnerSession, keyVersion string) string {
	h := sha256.Sum256([]byte(tokensecret.SpecHash(bs.Spec) + "\x00" +
		bs.Annotations[burnerv1alpha1.ForceRefreshAnnotation] + "\x00" + keyVersion))
	return hex.EncodeToString(h[:8])
}

func scopeStrings(scopes []burnerv1alpha1.Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}
