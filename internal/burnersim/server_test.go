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

package burnersim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/burner-operator/burner-operator/internal/burnerapi"
)

const (
	key    = "ak_test_sim_0d9e8f7a"
	wallet = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"
)

var t0 = time.Date(2026, 4, 9, 12, 0, 0, 0, time.UTC)

func newSim(t *testing.T, opts ...Option) (*Server, string, *clocktesting.FakeClock) {
	t.Helper()
	clk := clocktesting.NewFakeClock(t0)
	s := New(append([]Option{WithClock(clk), WithKeys(key)}, opts...)...)
	url, err := s.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, url, clk
}

func post(t *testing.T, url, method, path, apiKey, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if apiKey != "" {
		req.Header.Set("X-Api-Key", apiKey)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestRejectsWhatTheDocDoesNotAllow: every request shape outside the documented one is refused, with the status
// the real API uses.
func TestRejectsWhatTheDocDoesNotAllow(t *testing.T) {
	s, url, _ := newSim(t)
	s.RevokeKey("ak_revoked")
	const path, ct = burnerapi.SessionsPath, "application/json"
	ok := `{"walletAddress":"` + wallet + `"}`
	cases := []struct {
		name, method, path, key, contentType, body string
		want                                       int
	}{
		{"wrong method", http.MethodGet, path, key, ct, "", http.StatusMethodNotAllowed},
		{"wrong path", http.MethodPost, "/api/v1/burner/session", key, ct, ok, http.StatusNotFound},
		{"missing key", http.MethodPost, path, "", ct, ok, http.StatusUnauthorized},
		{"unknown key", http.MethodPost, path, "ak_nope", ct, ok, http.StatusUnauthorized},
		{"revoked key", http.MethodPost, path, "ak_revoked", ct, ok, http.StatusUnauthorized},
		{"missing content type", http.MethodPost, path, key, "", ok, http.StatusUnsupportedMediaType},
		{"wrong content type", http.MethodPost, path, key, "text/plain", ok, http.StatusUnsupportedMediaType},
		{"not JSON", http.MethodPost, path, key, ct, "walletAddress=" + wallet, http.StatusBadRequest},
		{"not an object", http.MethodPost, path, key, ct, `["` + wallet + `"]`, http.StatusBadRequest},
		{"unknown field", http.MethodPost, path, key, ct, `{"walletAddress":"` + wallet + `","ttl":60}`, http.StatusBadRequest},
		{"missing wallet", http.MethodPost, path, key, ct, `{"ttlSeconds":60}`, http.StatusBadRequest},
		{"null wallet", http.MethodPost, path, key, ct, `{"walletAddress":null}`, http.StatusBadRequest},
		{"wallet not base58", http.MethodPost, path, key, ct, `{"walletAddress":"0OIl` + wallet[4:] + `"}`, http.StatusBadRequest},
		{"wallet 33 bytes", http.MethodPost, path, key, ct, `{"walletAddress":"` + wallet + `zz"}`, http.StatusBadRequest},
		{"unknown scope", http.MethodPost, path, key, ct, `{"walletAddress":"` + wallet + `","scopes":["root:all"]}`, http.StatusBadRequest},
		{"duplicate scope", http.MethodPost, path, key, ct, `{"walletAddress":"` + wallet + `","scopes":["wallet:read","wallet:read"]}`, http.StatusBadRequest},
		{"empty scopes", http.MethodPost, path, key, ct, `{"walletAddress":"` + wallet + `","scopes":[]}`, http.StatusBadRequest},
		{"scopes not array", http.MethodPost, path, key, ct, `{"walletAddress":"` + wallet + `","scopes":"wallet:read"}`, http.StatusBadRequest},
		{"ttl 0", http.MethodPost, path, key, ct, `{"walletAddress":"` + wallet + `","ttlSeconds":0}`, http.StatusBadRequest},
		{"ttl 3601", http.MethodPost, path, key, ct, `{"walletAddress":"` + wallet + `","ttlSeconds":3601}`, http.StatusBadRequest},
		{"ttl fractional", http.MethodPost, path, key, ct, `{"walletAddress":"` + wallet + `","ttlSeconds":1.5}`, http.StatusBadRequest},
		{"ttl string", http.MethodPost, path, key, ct, `{"walletAddress":"` + wallet + `","ttlSeconds":"300"}`, http.StatusBadRequest},
		{"trailing data", http.MethodPost, path, key, ct, ok + `{}`, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, url, tc.method, tc.path, tc.key, tc.contentType, tc.body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.want, body)
			}
			if strings.Contains(body, key) {
				t.Fatal("the error body echoes the API key")
			}
		})
	}
	if got := s.TotalMints(); got != 0 {
		t.Fatalf("%d tokens minted for invalid requests", got)
	}
}

// TestServesTheDocsExample: the request of the API doc, and the minimal one.
func TestServesTheDocsExample(t *testing.T) {
	s, url, clk := newSim(t)
	for _, tc := range []struct {
		body       string
		wantTTL    time.Duration
		wantScopes int
	}{
		{`{"walletAddress":"` + wallet + `","scopes":["wallet:read","transactions:build","transactions:submit"],"ttlSeconds":600}`, 600 * time.Second, 3},
		{`{"walletAddress":"` + wallet + `"}`, 300 * time.Second, 3},
		{"{\n  \"walletAddress\": \"" + wallet + "\",\n  \"scopes\": [\"wallet:read\"]\n}\n", 300 * time.Second, 1},
	} {
		resp, body := post(t, url, http.MethodPost, burnerapi.SessionsPath, key, "application/json; charset=utf-8", tc.body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var got sessionResponse
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		wantExp := clk.Now().Add(tc.wantTTL)
		if date, _ := http.ParseTime(resp.Header.Get("Date")); !date.Equal(clk.Now()) {
			t.Fatalf("Date %q, want the simulator's clock %s", resp.Header.Get("Date"), clk.Now())
		}
		if got.ExpiresAt != wantExp.Format("2006-01-02T15:04:05.000Z") || len(got.Scopes) != tc.wantScopes {
			t.Fatalf("response %+v, want expiresAt %s", got, wantExp)
		}
		w, scopes, exp, err := s.VerifyToken(got.Token)
		if err != nil || w != wallet || len(scopes) != tc.wantScopes || !exp.Equal(wantExp) {
			t.Fatalf("JWT: wallet %q scopes %v exp %s err %v", w, scopes, exp, err)
		}
	}
	st := s.Calls()
	if st.Mints != 3 || st.MintsByWallet[wallet] != 3 || st.MintsByKey[Fingerprint(key)] != 3 || st.ByStatus[200] != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func newClient(t *testing.T, url string, clk clock.PassiveClock) *burnerapi.Client {
	t.Helper()
	c, err := burnerapi.New(url, burnerapi.WithClock(clk), burnerapi.WithTimeout(500*time.Millisecond),
		burnerapi.WithLimiter(burnerapi.NewKeyLimiter(rate.Inf, 1, clock.RealClock{})))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClientAgainstSimulator: the real client and the simulator agree on success and on every failure.
func TestClientAgainstSimulator(t *testing.T) {
	req := burnerapi.Request{WalletAddress: wallet, Scopes: []string{"wallet:read"}, TTLSeconds: 120}
	for _, tc := range []struct {
		name  string
		setup func(s *Server)
		want  burnerapi.Kind
	}{
		{"success", func(*Server) {}, burnerapi.KindNone},
		{"500", func(s *Server) { s.FailNext(1, Fault500) }, burnerapi.KindUpstream},
		{"503", func(s *Server) { s.FailNext(1, Fault503) }, burnerapi.KindUpstream},
		{"timeout", func(s *Server) { s.FailNext(1, FaultTimeout) }, burnerapi.KindUpstream},
		{"malformed", func(s *Server) { s.FailNext(1, FaultMalformed) }, burnerapi.KindUpstream},
		{"past expiry", func(s *Server) { s.FailNext(1, FaultPastExpiry) }, burnerapi.KindUpstream},
		{"reset", func(s *Server) { s.FailNext(1, FaultReset) }, burnerapi.KindUpstream},
		{"stretched lifetime", func(s *Server) { s.FailNext(1, FaultStretchedLifetime) }, burnerapi.KindUpstream},
		{"clock behind", func(s *Server) { s.FailNext(1, FaultClockBehind) }, burnerapi.KindNone},
		{"revoked", func(s *Server) { s.RevokeKey(key) }, burnerapi.KindUnauthorized},
		{"rate limited", func(s *Server) { s.SetRateLimit(key, 0.001, 0, 7*time.Second) }, burnerapi.KindRateLimited},
		{"slow but in time", func(s *Server) { s.SetLatency(50 * time.Millisecond) }, burnerapi.KindNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, url, clk := newSim(t)
			tc.setup(s)
			sess, err := newClient(t, url, clk).CreateSession(context.Background(), key, req)
			if got := burnerapi.KindOf(err); got != tc.want {
				t.Fatalf("kind %s (%v), want %s", got, err, tc.want)
			}
			if err != nil {
				if strings.Contains(err.Error(), key) {
					t.Fatal("error text carries the API key")
				}
				return
			}
			if !sess.ExpiresAt.Equal(clk.Now().Add(120*time.Second)) || len(sess.Scopes) != 1 {
				t.Fatalf("session %v", sess)
			}
		})
	}
}

func TestRateLimitRetryAfterForms(t *testing.T) {
	for _, httpDate := range []bool{false, true} {
		s, url, clk := newSim(t)
		if httpDate {
			s.SetRateLimitHTTPDate(key, 0.001, 0, 30*time.Second)
		} else {
			s.SetRateLimit(key, 0.001, 0, 30*time.Second)
		}
		_, err := newClient(t, url, clk).CreateSession(context.Background(), key, burnerapi.Request{WalletAddress: wallet})
		if burnerapi.KindOf(err) != burnerapi.KindRateLimited || burnerapi.RetryAfter(err) != 30*time.Second {
			t.Fatalf("httpDate=%v: %v, retry after %s", httpDate, err, burnerapi.RetryAfter(err))
		}
	}
}

func TestMaxLifetimeCapsGrantedLifetime(t *testing.T) {
	_, url, clk := newSim(t, WithMaxLifetime(time.Minute))
	sess, err := newClient(t, url, clk).CreateSession(context.Background(), key, burnerapi.Request{WalletAddress: wallet, TTLSeconds: 3600})
	if err != nil || !sess.ExpiresAt.Equal(clk.Now().Add(time.Minute)) {
		t.Fatalf("%v %v", sess, err)
	}
}

func TestFaultsAreCountedAndCleared(t *testing.T) {
	s, url, clk := newSim(t)
	c := newClient(t, url, clk)
	s.FailNext(2, Fault503)
	for range 2 {
		if _, err := c.CreateSession(context.Background(), key, burnerapi.Request{WalletAddress: wallet}); err == nil {
			t.Fatal("fault not injected")
		}
	}
	if _, err := c.CreateSession(context.Background(), key, burnerapi.Request{WalletAddress: wallet}); err != nil {
		t.Fatalf("fault outlived its count: %v", err)
	}
	if st := s.Calls(); st.Total != 3 || st.ByStatus[503] != 2 || st.Mints != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRandomFaultsFollowTheirShareAndStop(t *testing.T) {
	s, url, clk := newSim(t)
	c := newClient(t, url, clk)
	s.FailRandomly(1, Fault503)
	if _, err := c.CreateSession(context.Background(), key, burnerapi.Request{WalletAddress: wallet}); err == nil {
		t.Fatal("fault not injected at share 1")
	}
	s.FailRandomly(0, Fault503)
	if _, err := c.CreateSession(context.Background(), key, burnerapi.Request{WalletAddress: wallet}); err != nil {
		t.Fatalf("fault outlived share 0: %v", err)
	}
	if st := s.Calls(); st.ByStatus[503] != 1 || st.Mints != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAdminHandler(t *testing.T) {
	s := New(WithKeys(key))
	h := s.AdminHandler()
	do := func(method, path, body string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		return rec.Code
	}
	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{http.MethodPost, "/admin/keys", `{"key":"ak_new"}`, http.StatusNoContent},
		{http.MethodDelete, "/admin/keys/" + key, "", http.StatusNoContent},
		{http.MethodPost, "/admin/faults", `{"fault":"503","count":2}`, http.StatusNoContent},
		{http.MethodPost, "/admin/faults", `{"fault":"bogus","count":2}`, http.StatusBadRequest},
		{http.MethodPost, "/admin/latency", `{"latency":"20ms"}`, http.StatusNoContent},
		{http.MethodPost, "/admin/latency", `{"latency":"soon"}`, http.StatusBadRequest},
		{http.MethodPost, "/admin/rate-limit", `{"key":"ak_new","perSecond":1,"burst":1,"retryAfter":"2s"}`, http.StatusNoContent},
		{http.MethodGet, "/admin/stats", "", http.StatusOK},
		{http.MethodPost, "/admin/reset", "", http.StatusNoContent},
	} {
		if got := do(tc.method, tc.path, tc.body); got != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, got, tc.want)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.keys["ak_new"] || s.keys[key] || s.faultCount != 2 || s.latency != 20*time.Millisecond || s.limits["ak_new"] == nil {
		t.Fatal("admin calls did not take effect")
	}
}
