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

package burnerapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestCreateSessionSendsExactRequest(t *testing.T) {
	tests := []struct {
		name     string
		req      Request
		wantBody string
	}{
		{name: "minimal omits scopes and ttl", req: Request{WalletAddress: testWallet},
			wantBody: `{"walletAddress":"` + testWallet + `"}`},
		{name: "empty scopes omitted", req: Request{WalletAddress: testWallet, Scopes: []string{}, TTLSeconds: 60},
			wantBody: `{"walletAddress":"` + testWallet + `","ttlSeconds":60}`},
		{name: "doc example", req: Request{WalletAddress: testWallet, Scopes: AllScopes, TTLSeconds: 600},
			wantBody: `{"walletAddress":"` + testWallet + `","scopes":["wallet:read","transactions:build","transactions:submit"],"ttlSeconds":600}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *http.Request
			var body []byte
			c, _ := newClient(t, func(w http.ResponseWriter, r *http.Request) {
				got, body = r, must(io.ReadAll(r.Body))
				respond(http.StatusOK, okBody(t0.Add(time.Minute), AllScopes...))(w, r)
			}, WithUserAgent("test-agent"))
			s, err := c.CreateSession(context.Background(), testKey, tt.req)
			if err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			if s.Token != testToken || !s.ExpiresAt.Equal(t0.Add(time.Minute)) {
				t.Errorf("session = %+v", s)
			}
			if got.Method != http.MethodPost || got.URL.Path != SessionsPath || got.URL.RawQuery != "" {
				t.Errorf("request = %s %s", got.Method, got.URL)
			}
			for h, want := range map[string]string{"X-Api-Key": testKey, "Content-Type": "application/json",
				"Accept": "application/json", "User-Agent": "test-agent", "Authorization": ""} {
				if v := got.Header.Get(h); v != want {
					t.Errorf("header %s = %q, want %q", h, v, want)
				}
			}
			if string(body) != tt.wantBody {
				t.Errorf("body = %s\nwant   %s", body, tt.wantBody)
			}
		})
	}
}

func TestCreateSessionBaseURLWithPath(t *testing.T) {
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		respond(http.StatusOK, okBody(t0.Add(time.Minute), AllScopes...))(w, r) // Date t0: a minute's lifetime
	}))
	defer srv.Close()
	c, err := New(srv.URL + "/proxy/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet}); err != nil {
		t.Fatal(err)
	}
	if path != "/proxy"+SessionsPath {
		t.Errorf("path = %q", path)
	}
}

// echo is an error body that repeats the secrets back, as a careless upstream might.
const echo = `{"error":"invalid key ` + testKey + ` for token ` + testToken + `"}`

func TestCreateSessionStatusCodes(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		header    []string
		wantKind  Kind
		wantAfter time.Duration
	}{
		{name: "200", status: 200, wantKind: KindNone},
		{name: "201 is unexpected", status: 201, wantKind: KindUpstream},
		{name: "302 not followed", status: 302, header: []string{"Location", "/elsewhere"}, wantKind: KindUpstream},
		{name: "400", status: 400, wantKind: KindInvalidRequest},
		{name: "401", status: 401, wantKind: KindUnauthorized},
		{name: "403", status: 403, wantKind: KindUnauthorized},
		{name: "404", status: 404, wantKind: KindUpstream},
		{name: "429 seconds", status: 429, header: []string{"Retry-After", "7"}, wantKind: KindRateLimited, wantAfter: 7 * time.Second},
		{name: "429 HTTP-date", status: 429, header: []string{"Retry-After", t0.Add(time.Minute).Format(http.TimeFormat)},
			wantKind: KindRateLimited, wantAfter: time.Minute},
		{name: "429 without header", status: 429, wantKind: KindRateLimited},
		{name: "429 unparsable header", status: 429, header: []string{"Retry-After", "later"}, wantKind: KindRateLimited},
		{name: "500", status: 500, wantKind: KindUpstream},
		{name: "502", status: 502, wantKind: KindUpstream},
		{name: "503", status: 503, header: []string{"Retry-After", "3"}, wantKind: KindUpstream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := echo
			if tt.status == 200 {
				body = okBody(t0.Add(5*time.Minute), AllScopes...)
			}
			c, _ := newClient(t, respond(tt.status, body, tt.header...))
			s, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet})
			if KindOf(err) != tt.wantKind {
				t.Fatalf("KindOf(%v) = %v, want %v", err, KindOf(err), tt.wantKind)
			}
			if err == nil {
				assertNoSecrets(t, s)
				return
			}
			e, _ := errors.AsType[*Error](err)
			if e.StatusCode != tt.status || e.RetryAfter != tt.wantAfter || RetryAfter(err) != tt.wantAfter {
				t.Errorf("error = %+v, want status %d, RetryAfter %v", e, tt.status, tt.wantAfter)
			}
			assertNoSecrets(t, err)
		})
	}
}

func TestCreateSessionMalformedBodies(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"bad JSON", `{"token":`, "not the expected JSON object"},
		{"past expiresAt", okBody(t0.Add(-time.Minute), AllScopes...), "not after the current time"},
		{"huge body", strings.Repeat(" ", maxResponseBytes) + okBody(t0.Add(time.Hour), AllScopes...), "response too large: body exceeds 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, respond(http.StatusOK, tt.body))
			_, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet})
			if KindOf(err) != KindUpstream || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want Upstream containing %q", err, tt.wantErr)
			}
			assertNoSecrets(t, err)
		})
	}
}

// Without a Date header, expiresAt is judged on the injected clock.
func TestCreateSessionUsesClientClockForExpiry(t *testing.T) {
	c, clk := newClient(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Date"] = nil // net/http adds one unless told not to
		_, _ = w.Write([]byte(okBody(t0.Add(time.Minute), AllScopes...)))
	})
	clk.SetTime(t0.Add(2 * time.Minute))
	_, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet})
	if KindOf(err) != KindUpstream {
		t.Fatalf("err = %v, want Upstream for a token already expired by the injected clock", err)
	}
}

func TestCreateSessionRejectsBeforeSending(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		req      Request
		wantKind Kind
		wantErr  string
	}{
		{"empty key", "", Request{WalletAddress: testWallet}, KindUnauthorized, "API key is empty"},
		{"key with trailing newline", testKey + "\n", Request{WalletAddress: testWallet}, KindUnauthorized, "trailing newline"},
		{"key with space", "ak live", Request{WalletAddress: testWallet}, KindUnauthorized, "whitespace"},
		{"bad wallet", testKey, Request{WalletAddress: "0x1234"}, KindInvalidRequest, "wallet address is 6 characters long"},
		{"unknown scope", testKey, Request{WalletAddress: testWallet, Scopes: []string{"all"}}, KindInvalidRequest, `unknown scope "all"`},
		{"ttl out of range", testKey, Request{WalletAddress: testWallet, TTLSeconds: 3601}, KindInvalidRequest, "ttlSeconds 3601"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			c, _ := newClient(t, func(http.ResponseWriter, *http.Request) { calls.Add(1) })
			_, err := c.CreateSession(context.Background(), tt.key, tt.req)
			if KindOf(err) != tt.wantKind || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %v containing %q", err, tt.wantKind, tt.wantErr)
			}
			if calls.Load() != 0 {
				t.Errorf("API called %d times, want 0", calls.Load())
			}
			assertNoSecrets(t, err)
		})
	}
}

func TestCreateSessionTransportErrors(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	hang := func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a closed connection only once the body is read
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	tests := []struct {
		name    string
		client  func(t *testing.T) *Client
		ctx     func() (context.Context, context.CancelFunc)
		wantErr string
		wantIs  error
	}{
		{name: "connection refused", wantErr: "connection refused", wantIs: syscall.ECONNREFUSED,
			client: func(t *testing.T) *Client { return must(New(closed.URL, WithLimiter(nil))) }},
		{name: "per-call timeout", wantErr: "request timed out after 50ms", wantIs: context.DeadlineExceeded,
			client: func(t *testing.T) *Client { c, _ := newClient(t, hang, WithTimeout(50*time.Millisecond)); return c }},
		{name: "caller cancels", wantErr: "request canceled", wantIs: context.Canceled,
			client: func(t *testing.T) *Client { c, _ := newClient(t, hang); return c },
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(20*time.Millisecond, cancel)
				return ctx, cancel
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			_, err := tt.client(t).CreateSession(ctx, testKey, Request{WalletAddress: testWallet})
			if KindOf(err) != KindUpstream || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want Upstream containing %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			assertNoSecrets(t, err)
		})
	}
}

func TestCreateSessionNeverFollowsRedirects(t *testing.T) {
	var leaked atomic.Bool
	thief := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("X-Api-Key") != "")
	}))
	defer thief.Close()
	for _, opt := range []Option{WithTimeout(time.Second), WithHTTPClient(&http.Client{})} {
		c, _ := newClient(t, respond(http.StatusTemporaryRedirect, "", "Location", thief.URL), opt)
		_, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet})
		if KindOf(err) != KindUpstream || leaked.Load() {
			t.Fatalf("err = %v, key forwarded = %v; want Upstream and no forwarding", err, leaked.Load())
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New("http://api.aerosol.com"); err == nil {
		t.Error("New accepted plain http to a remote host")
	}
	if _, err := New(DefaultBaseURL, WithTimeout(0)); err == nil {
		t.Error("New accepted a zero timeout")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
