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
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/golang-jwt/jwt/v5"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/csi/csitest"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/mintapi"
	"github.com/burner-operator/burner-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

const wallet = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"

var volumeAttributes = map[string]string{
	mintapi.AttributeIssuerKind: "ClusterBurnerIssuer", mintapi.AttributeIssuerName: "platform",
	mintapi.AttributeWalletAddress: wallet, mintapi.AttributeScopes: "wallet:read", mintapi.AttributeTTLSeconds: "120",
}

// endpoint is the handler behind a TLS server, reached through the node plugin's client.
type endpoint struct {
	kube   kubernetes.Interface
	client *mintapi.Client
	logs   *csitest.Logs

	mu    sync.Mutex
	mints []Request
	// answer is what the MintFunc returns (nil: a token).
	answer error
}

func newEndpoint(t *testing.T) *endpoint {
	t.Helper()
	kube, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	e := &endpoint{kube: kube, logs: &csitest.Logs{}}
	e.client = csitest.MintEndpoint(t, NewHandler(kube, mintapi.AudienceDefault, e.mint, e.logs.Logger()))
	return e
}

func (e *endpoint) mint(_ context.Context, req Request) (mintapi.Token, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.mints = append(e.mints, req)
	if e.answer != nil {
		return mintapi.Token{}, e.answer
	}
	return mintapi.Token{Value: csitest.TokenPrefix + "minted", ExpiresAt: time.Now().Add(2 * time.Minute).Truncate(time.Second)}, nil
}

func (e *endpoint) minted() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Request(nil), e.mints...)
}

func request(p *corev1.Pod, attrs map[string]string) mintapi.Request {
	return mintapi.Request{Pod: csitest.PodRef(p), VolumeID: "csi-1", NodeID: "node-a", Attributes: attrs}
}

func pod(t *testing.T, ns, name string, attrs map[string]string) *corev1.Pod {
	return csitest.CreatePod(t, env.Client, ns, name, attrs)
}

func TestMintForThePodThatAsks(t *testing.T) {
	e := newEndpoint(t)
	ns := env.Namespace(t)
	p := pod(t, ns, "app-0", volumeAttributes)
	podToken := env.BoundToken(t, p, mintapi.AudienceDefault)
	tok, err := e.client.Mint(context.Background(), request(p, volumeAttributes), podToken)
	if err != nil || tok.Value != csitest.TokenPrefix+"minted" {
		t.Fatalf("Mint = %v, %v", tok, err)
	}
	got := e.minted()
	if len(got) != 1 {
		t.Fatalf("%d mints", len(got))
	}
	want := Request{Pod: mintapi.PodRef{Namespace: ns, Name: "app-0", UID: string(p.UID), ServiceAccount: "app"},
		VolumeID: "csi-1", NodeID: "node-a"}
	ss := got[0].Spec.SessionSpec()
	if got[0].Pod != want.Pod || got[0].VolumeID != "csi-1" || ss.WalletAddress != wallet || ss.TTLSeconds != 120 ||
		ss.IssuerRef.Kind != burnerv1alpha1.ClusterBurnerIssuerKind || len(ss.Scopes) != 1 {
		t.Fatalf("mint request %+v", got[0])
	}
	e.logs.CheckNoTokens(t, podToken)
}

// A policy refusal from the mint path reaches the node with its reason and message (the pod's events show it).
func TestRefusalReachesTheNode(t *testing.T) {
	e := newEndpoint(t)
	e.answer = &failure.Error{Reason: burnerv1alpha1.ReasonPolicyDenied,
		Message: `scope "transactions:submit" is not in the issuer's policy.allowedScopes`}
	p := pod(t, env.Namespace(t), "app-0", volumeAttributes)
	_, err := e.client.Mint(context.Background(), request(p, volumeAttributes), env.BoundToken(t, p, mintapi.AudienceDefault))
	if err == nil || err.Error() != `PolicyDenied: scope "transactions:submit" is not in the issuer's policy.allowedScopes` {
		t.Fatalf("Mint = %v", err)
	}
}

// An internal error of the mint path is logged by the manager; the node learns only that it failed.
func TestInternalErrorIsNotForwarded(t *testing.T) {
	e := newEndpoint(t)
	e.answer = errors.New("reading Secret shop/key: connection reset by peer")
	p := pod(t, env.Namespace(t), "app-0", volumeAttributes)
	_, err := e.client.Mint(context.Background(), request(p, volumeAttributes), env.BoundToken(t, p, mintapi.AudienceDefault))
	if err == nil || !strings.HasPrefix(err.Error(), burnerv1alpha1.ReasonMintEndpointUnavailable+": ") ||
		strings.Contains(err.Error(), "Secret") {
		t.Fatalf("Mint = %v", err)
	}
}

// Tokens that do not prove the pod asks are refused before the mint path sees the request.
func TestPodTokenRefusals(t *testing.T) {
	e := newEndpoint(t)
	ns := env.Namespace(t)
	p := pod(t, ns, "app-0", volumeAttributes)
	other := pod(t, ns, "app-1", volumeAttributes)
	gone := pod(t, ns, "app-2", volumeAttributes)
	goneToken := env.BoundToken(t, gone, mintapi.AudienceDefault)
	if err := env.Client.Delete(context.Background(), gone, &clientDeleteNow); err != nil {
		t.Fatal(err)
	}
	signer, issuer, err := env.ServiceAccountSigner()
	if err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{}
	if err := env.Client.Get(context.Background(), keyOf(ns, "app"), sa); err != nil {
		t.Fatal(err)
	}
	forge := func(key any, exp time.Time) string {
		return forgeToken(t, key, issuer, p, string(sa.UID), exp)
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	// The forger signs a valid token with the apiserver's own key: the refusals below are for expiry, not forgery.
	if _, err := e.client.Mint(context.Background(), request(p, volumeAttributes),
		forge(signer, time.Now().Add(time.Hour))); err != nil {
		t.Fatalf("a token signed as the apiserver signs was refused: %v", err)
	}

	for name, tc := range map[string]struct {
		req      mintapi.Request
		podToken string
		want     string
	}{
		"no token":       {request(p, volumeAttributes), "", burnerv1alpha1.ReasonPodTokenRejected},
		"garbage":        {request(p, volumeAttributes), "not-a-jwt", burnerv1alpha1.ReasonPodTokenRejected},
		"forged":         {request(p, volumeAttributes), forge(otherKey, time.Now().Add(time.Hour)), burnerv1alpha1.ReasonPodTokenRejected},
		"expired":        {request(p, volumeAttributes), forge(signer, time.Now().Add(-time.Minute)), burnerv1alpha1.ReasonPodTokenRejected},
		"wrong audience": {request(p, volumeAttributes), env.BoundToken(t, p, "vault"), burnerv1alpha1.ReasonPodTokenRejected},
		"the apiserver's audience": {request(p, volumeAttributes), env.BoundToken(t, p, issuer),
			burnerv1alpha1.ReasonPodTokenRejected},
		"another pod's token":   {request(p, volumeAttributes), env.BoundToken(t, other, mintapi.AudienceDefault), burnerv1alpha1.ReasonPodTokenRejected},
		"a deleted pod's token": {request(gone, volumeAttributes), goneToken, burnerv1alpha1.ReasonPodTokenRejected},
		"claims another ServiceAccount": {func() mintapi.Request {
			r := request(p, volumeAttributes)
			r.Pod.ServiceAccount = "admin"
			return r
		}(), env.BoundToken(t, p, mintapi.AudienceDefault), burnerv1alpha1.ReasonPodTokenRejected},
		"asks for what the pod does not declare": {func() mintapi.Request {
			attrs := maps.Clone(volumeAttributes)
			attrs[mintapi.AttributeScopes] = "wallet:read,transactions:submit"
			return request(p, attrs)
		}(), env.BoundToken(t, p, mintapi.AudienceDefault), burnerv1alpha1.ReasonVolumeNotDeclared},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.client.Mint(context.Background(), tc.req, tc.podToken)
			var f *failure.Error
			if !errors.As(err, &f) || f.Reason != tc.want {
				t.Fatalf("Mint = %v, want %s", err, tc.want)
			}
			if tc.podToken != "" && strings.Contains(err.Error(), tc.podToken) {
				t.Fatal("the pod token is in the error")
			}
		})
	}
	if n := len(e.minted()); n != 1 {
		t.Fatalf("the mint path saw %d requests, want only the valid one", n)
	}
	e.logs.CheckNoTokens(t)
}

// A pod whose volume's attributes are invalid is refused with InvalidSpec, naming the attribute.
func TestInvalidAttributes(t *testing.T) {
	e := newEndpoint(t)
	attrs := map[string]string{mintapi.AttributeIssuerName: "platform", mintapi.AttributeWalletAddress: wallet,
		mintapi.AttributeTTLSeconds: "30"}
	p := pod(t, env.Namespace(t), "app-0", attrs)
	_, err := e.client.Mint(context.Background(), request(p, attrs), env.BoundToken(t, p, mintapi.AudienceDefault))
	if err == nil || !strings.HasPrefix(err.Error(), "InvalidSpec: csi.burner.aerosol.com/ttl-seconds") {
		t.Fatalf("Mint = %v", err)
	}
}

// forgeToken signs, with key, the claims the apiserver puts in a pod-bound ServiceAccount token.
func forgeToken(t *testing.T, key any, issuer string, p *corev1.Pod, saUID string, exp time.Time) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": issuer, "aud": []string{mintapi.AudienceDefault}, "sub": "system:serviceaccount:" + p.Namespace + ":app",
		"exp": exp.Unix(), "iat": now.Add(-2 * time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix(),
		"kubernetes.io": map[string]any{
			"namespace":      p.Namespace,
			"pod":            map[string]any{"name": p.Name, "uid": string(p.UID)},
			"serviceaccount": map[string]any{"name": "app", "uid": saUID},
		},
	}
	// envtest's signing key is ECDSA P-256, as otherKey is.
	s, err := jwt.NewWithClaims(jwt.SigningMethodES256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var clientDeleteNow = client.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}

func keyOf(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }

// Only a POST of a readable request is considered; neither reaches the TokenReview.
func TestRequestShape(t *testing.T) {
	h := NewHandler(nil, mintapi.AudienceDefault, nil, logr.Discard())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, mintapi.Path, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET answered %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, mintapi.Path, strings.NewReader("{not json")))
	var a mintapi.FailureAnswer
	if rec.Code != http.StatusBadRequest || json.NewDecoder(rec.Body).Decode(&a) != nil ||
		a.Reason != burnerv1alpha1.ReasonInvalidRequest {
		t.Fatalf("garbage answered %d %+v", rec.Code, a)
	}
}
