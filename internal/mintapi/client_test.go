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

package mintapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"

	"github.com/burner-operator/burner-operator/internal/failure"
)

const podToken = "eyJpod-serviceaccount-token-secret"

// caFile writes srv's certificate as a PEM bundle.
func caFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.crt")
	writeCA(t, path, srv)
	return path
}

func writeCA(t *testing.T, path string, srv *httptest.Server) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func newClient(t *testing.T, srv *httptest.Server, ca string) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{URL: srv.URL, CAFile: ca, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var request = Request{Pod: PodRef{Namespace: "shop", Name: "app-0", UID: "uid-1", ServiceAccount: "app"},
	VolumeID: "csi-1", NodeID: "node-a", Attributes: map[string]string{AttributeIssuerName: "platform"}}

func TestClientMints(t *testing.T) {
	expiresAt := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var got Request
		if r.URL.Path != Path || r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+podToken ||
			json.NewDecoder(r.Body).Decode(&got) != nil || got.Pod != request.Pod || got.VolumeID != "csi-1" {
			http.Error(w, "unexpected request", http.StatusTeapot)
			return
		}
		_ = json.NewEncoder(w).Encode(Token{Value: "minted", ExpiresAt: expiresAt})
	}))
	defer srv.Close()
	tok, err := newClient(t, srv, caFile(t, srv)).Mint(context.Background(), request, podToken)
	if err != nil || tok.Value != "minted" || !tok.ExpiresAt.Equal(expiresAt) {
		t.Fatalf("Mint = %v, %v", tok, err)
	}
}

func TestClientFailures(t *testing.T) {
	for name, tc := range map[string]struct {
		status     int
		body       string
		wantReason string
		wantMsg    string
	}{
		"refusal":             {403, `{"reason":"PolicyDenied","message":"namespace \"shop\" is not selected"}`, "PolicyDenied", `namespace "shop" is not selected`},
		"rate limited":        {429, `{"reason":"RateLimited","message":"later","retryAfterSeconds":7}`, "RateLimited", "later"},
		"no reason":           {502, `<html>bad gateway</html>`, burnerv1alpha1.ReasonMintEndpointUnavailable, "HTTP 502 without a reason"},
		"reason not a reason": {403, `{"reason":"eyJ.secret","message":"x"}`, burnerv1alpha1.ReasonMintEndpointUnavailable, "HTTP 403 without a reason"},
		"200 without token":   {200, `{"expiresAt":"2026-12-05T19:00:00Z"}`, burnerv1alpha1.ReasonMintEndpointUnavailable, "without a token"},
		"200 without expiry":  {200, `{"token":"x"}`, burnerv1alpha1.ReasonMintEndpointUnavailable, "without a token and its expiry"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			_, err := newClient(t, srv, caFile(t, srv)).Mint(context.Background(), request, podToken)
			f, ok := failure.As(err)
			if !ok || f.Reason != tc.wantReason || !strings.Contains(f.Message, tc.wantMsg) {
				t.Fatalf("error %v, want %s: ...%s...", err, tc.wantReason, tc.wantMsg)
			}
			if tc.wantReason == "RateLimited" && f.RetryAfter != 7*time.Second {
				t.Fatalf("RetryAfter = %v", f.RetryAfter)
			}
			if !strings.HasPrefix(err.Error(), tc.wantReason+": ") || strings.Contains(err.Error(), podToken) {
				t.Fatalf("Error() = %q", err.Error())
			}
		})
	}
}

// The server's certificate must chain to the CA file; a rotated CA file is read again without a restart.
func TestClientVerifiesTheServerAndReloadsTheCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(Token{Value: "minted", ExpiresAt: time.Now().Add(time.Hour)})
	}))
	defer srv.Close()
	ca := writeFile(t, string(otherCA(t)))
	c := newClient(t, srv, ca)
	_, err := c.Mint(context.Background(), request, podToken)
	if f, ok := failure.As(err); !ok || f.Reason != burnerv1alpha1.ReasonMintEndpointUnavailable || !strings.Contains(f.Message, "certificate") {
		t.Fatalf("with another CA: %v", err)
	}
	if strings.Contains(err.Error(), podToken) {
		t.Fatal("the pod token is in the error")
	}
	writeCA(t, ca, srv)
	future := time.Now().Add(time.Minute) // a different mtime, as a ConfigMap update gives
	if err := os.Chtimes(ca, future, future); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Mint(context.Background(), request, podToken); err != nil {
		t.Fatalf("after the CA file changed: %v", err)
	}
}

// A redirect would resend the pod's token elsewhere: the client does not follow it.
func TestClientDoesNotFollowRedirects(t *testing.T) {
	var followed atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Store(true)
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	_, err := newClient(t, srv, caFile(t, srv)).Mint(context.Background(), request, podToken)
	if err == nil || followed.Load() {
		t.Fatalf("Mint = %v, followed = %v", err, followed.Load())
	}
}

func TestNewClientRefusals(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	ca := caFile(t, srv)
	for name, cfg := range map[string]ClientConfig{
		"plain http":    {URL: "http://127.0.0.1:1", CAFile: ca},
		"userinfo":      {URL: "https://u:p@127.0.0.1:1", CAFile: ca},
		"no CA file":    {URL: srv.URL, CAFile: filepath.Join(t.TempDir(), "missing")},
		"CA not a cert": {URL: srv.URL, CAFile: writeFile(t, "not pem")},
	} {
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("%s: NewClient accepted %+v", name, cfg)
		}
	}
}

// otherCA is a self-signed certificate the test servers' certificates do not chain to (httptest's servers all share
// one certificate).
func otherCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTokenFormattingRedactsTheValue(t *testing.T) {
	tok := Token{Value: "eyJsecret", ExpiresAt: time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if s := fmt.Sprintf(verb, tok); strings.Contains(s, "eyJsecret") || !strings.Contains(s, "2026-12-05T19:00:00Z") {
			t.Errorf("%s: %s", verb, s)
		}
	}
}
