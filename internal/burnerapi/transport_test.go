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
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
)

// rawServer answers every request on 127.0.0.1 with the bytes of reply, then closes the connection.
func rawServer(t *testing.T, reply func(key string) []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = conn.Close() }()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				_, _ = conn.Write(reply(req.Header.Get("X-Api-Key")))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

// keyForms are the ways a hostile server can echo the key so that a plain string replace misses it.
func keyForms(key string) []string {
	return []string{key, reverse(key), url.QueryEscape(key), strconv.Quote(key), hex.EncodeToString([]byte(key)),
		base64.StdEncoding.EncodeToString([]byte(key)), strings.Join(strings.Split(key, ""), "\x00"),
		strings.Join(strings.Split(key, ""), " ")}
}

// assertBoundedAndClean checks that err's text is one of the fixed transport templates, short, and free of any form
// of the key: it is also compared with letters and digits only, which catches escaped and split copies.
func assertBoundedAndClean(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if KindOf(err) != KindUpstream {
		t.Fatalf("err = %v, want Upstream", err)
	}
	text := err.Error()
	if len(text) >= 300 {
		t.Errorf("error text is %d bytes long", len(text))
	}
	fixed := []string{msgCanceled, msgTimeout, msgDNS, msgRefused, msgReset, msgTLS, msgCertificate, msgProtocol,
		msgTooLarge, msgProxy, msgTransportMisc}
	if !slices.ContainsFunc(fixed, func(m string) bool { return strings.HasPrefix(text, "burner API: "+m) }) {
		t.Errorf("error text %q is not a fixed template", text)
	}
	alnum := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				return unicode.ToLower(r)
			}
			return -1
		}, s)
	}
	for _, secret := range secrets {
		for _, form := range append(keyForms(secret), alnum(secret), reverse(alnum(secret))) {
			if strings.Contains(text, form) || strings.Contains(alnum(text), alnum(form)) {
				t.Errorf("error text %q contains a form of a secret (%q)", text, form)
			}
		}
	}
}

// TestHostileServerCannotPutTextInErrors: a server that echoes the key back inside a malformed response, in forms a
// plain replace would miss, or floods the client, gets a short fixed message and none of its bytes in the error.
func TestHostileServerCannotPutTextInErrors(t *testing.T) {
	garbage := strings.Repeat("\x1b[31mA\xff", 200<<10/6)
	tests := []struct {
		name  string
		reply func(key string) string
		want  string
	}{
		{"key in status code", func(k string) string { return "HTTP/1.1 " + k + " OK\r\n\r\n" }, msgProtocol},
		{"reversed key in status code", func(k string) string { return "HTTP/1.1 " + reverse(k) + "\r\n\r\n" }, msgProtocol},
		{"escaped key in status line", func(k string) string { return "HTTP/1.1 2" + url.QueryEscape(k) + "\r\n\r\n" }, msgProtocol},
		{"key split across bytes in version", func(k string) string {
			return "HTTP/" + strings.Join(strings.Split(k, ""), "\x00") + " 200 OK\r\n\r\n"
		}, msgProtocol},
		{"key as header line", func(k string) string { return "HTTP/1.1 200 OK\r\n" + strconv.Quote(k) + "\r\n\r\n" }, msgProtocol},
		{"hex key in bad content length", func(k string) string {
			return "HTTP/1.1 200 OK\r\nContent-Length: " + hex.EncodeToString([]byte(k)) + "\r\n\r\n"
		}, msgProtocol},
		{"200 KB status line", func(string) string { return garbage }, msgTooLarge},
		{"200 KB header", func(string) string { return "HTTP/1.1 200 OK\r\nX-Junk: " + garbage + "\r\n\r\n" }, msgTooLarge},
		{"body cut short", func(string) string { return "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"token\":" }, msgReset},
		{"closed without answer", func(string) string { return "" }, msgReset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := rawServer(t, func(k string) []byte { return []byte(tt.reply(k)) })
			c := must(New(base, WithLimiter(nil)))
			_, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet})
			assertBoundedAndClean(t, err, testKey)
			if !strings.HasPrefix(err.Error(), "burner API: "+tt.want) {
				t.Errorf("err = %q, want category %q", err, tt.want)
			}
		})
	}
}

// TestProxyCredentialsNeverInErrors: a proxy URL carrying user:password that refuses connections is reported as a
// proxy failure without the URL.
func TestProxyCredentialsNeverInErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now: connection refused
	proxy := must(url.Parse("http://proxyuser:Pr0xyPassw0rd@" + addr))
	for _, target := range []string{"http://127.0.0.2:1", "https://api.aerosol.com"} {
		hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
		c := must(New(target, WithHTTPClient(hc), WithLimiter(nil)))
		_, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet})
		assertBoundedAndClean(t, err, testKey, "Pr0xyPassw0rd", "proxyuser")
		if !strings.HasPrefix(err.Error(), "burner API: "+msgProxy) {
			t.Errorf("%s: err = %q, want %q", target, err, msgProxy)
		}
	}
}

// TestTLSFailuresAreCategorised: an untrusted certificate, and plain HTTP where TLS was expected.
func TestTLSFailuresAreCategorised(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshake is expected
	srv.StartTLS()
	defer srv.Close()
	_, err := must(New(srv.URL, WithLimiter(nil))).CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet})
	assertBoundedAndClean(t, err, testKey)
	if !strings.HasPrefix(err.Error(), "burner API: "+msgCertificate) {
		t.Errorf("untrusted certificate: err = %q", err)
	}

	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	_, err = must(New(strings.Replace(plain.URL, "http:", "https:", 1), WithLimiter(nil))).
		CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet})
	assertBoundedAndClean(t, err, testKey)
	if !strings.HasPrefix(err.Error(), "burner API: "+msgProtocol) && !strings.HasPrefix(err.Error(), "burner API: "+msgTLS) {
		t.Errorf("plain HTTP behind https: err = %q", err)
	}
}

// TestTransportCategory maps errors that are hard to provoke on a loopback (DNS, resets, TLS records) to their
// categories.
func TestTransportCategory(t *testing.T) {
	bg := context.Background()
	canceled, cancel := context.WithCancel(bg)
	cancel()
	wrap := func(err error) error { return &url.Error{Op: "Post", URL: "https://api.aerosol.com", Err: err} }
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want string
	}{
		{"dns", bg, wrap(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}), msgDNS},
		{"dns timeout", bg, wrap(&net.DNSError{Err: "i/o timeout", IsTimeout: true}), msgTimeout},
		{"refused", bg, wrap(&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), msgRefused},
		{"reset", bg, wrap(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), msgReset},
		{"eof", bg, wrap(io.EOF), msgReset},
		{"deadline", bg, wrap(os.ErrDeadlineExceeded), msgTimeout},
		{"canceled", canceled, wrap(context.Canceled), msgCanceled},
		{"tls record", bg, wrap(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), msgTLS},
		{"tls alert", bg, wrap(tls.AlertError(40)), msgTLS},
		{"proxy dial", bg, wrap(&net.OpError{Op: "proxyconnect", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), msgProxy},
		{"header limit", bg, wrap(errors.New("net/http: server response headers exceeded 65536 bytes; aborted")), msgTooLarge},
		{"other", bg, wrap(errors.New("something " + testKey)), msgTransportMisc},
	}
	for _, tt := range tests {
		if got := transportCategory(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("é", MaxMessageBytes) // 2 bytes each
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"short", "short"},
		{strings.Repeat("a", MaxMessageBytes), strings.Repeat("a", MaxMessageBytes)},
		{strings.Repeat("a", MaxMessageBytes+1), strings.Repeat("a", MaxMessageBytes-3) + "…"},
		{long, long[:MaxMessageBytes-3-1] + "…"}, // 253 bytes would split an é: cut to 252
		{"bad \xff utf-8", "bad \uFFFD utf-8"},
	}
	for _, tt := range tests {
		got := Truncate(tt.in)
		if got != tt.want {
			t.Errorf("Truncate(%.20q…) = %.40q…, want %.40q…", tt.in, got, tt.want)
		}
		if len(got) > MaxMessageBytes || !utf8Valid(got) {
			t.Errorf("Truncate result is %d bytes or invalid UTF-8", len(got))
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

// TestLifetimeMeasuredOnServerClock: the Date header measures the lifetime against the server's clock, and the
// expiry returned is that lifetime from now on our clock, whichever clock is ahead.
func TestLifetimeMeasuredOnServerClock(t *testing.T) {
	tests := []struct {
		name    string
		date    string
		exp     time.Time
		wantExp time.Time
		wantErr string
	}{
		{"no skew", t0.Format(http.TimeFormat), t0.Add(5 * time.Minute), t0.Add(5 * time.Minute), ""},
		{"server 2h ahead", t0.Add(2 * time.Hour).Format(http.TimeFormat), t0.Add(2*time.Hour + 5*time.Minute), t0.Add(5 * time.Minute), ""},
		{"server 2m behind", t0.Add(-2 * time.Minute).Format(http.TimeFormat), t0.Add(3 * time.Minute), t0.Add(5 * time.Minute), ""},
		{"server 1h behind", t0.Add(-time.Hour).Format(http.TimeFormat), t0.Add(-55 * time.Minute), t0.Add(5 * time.Minute), ""},
		{"expired by Date", t0.Add(-time.Hour).Format(http.TimeFormat), t0.Add(-time.Hour), time.Time{}, "not after the current time"},
		{"absent Date", "", t0.Add(5 * time.Minute), t0.Add(5 * time.Minute), ""},
		{"garbage Date", "yesterday-ish", t0.Add(5 * time.Minute), t0.Add(5 * time.Minute), ""},
		{"lifetime of seconds by Date", t0.Add(time.Hour).Format(http.TimeFormat), t0.Add(time.Hour + 10*time.Second), time.Time{}, "token lifetime too short"},
		{"lifetime of seconds without Date", "", t0.Add(10 * time.Second), time.Time{}, "token lifetime too short"},
		{"server 2h ahead without Date", "", t0.Add(2*time.Hour + 5*time.Minute), time.Time{}, "token lifetime too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header()["Date"] = []string{tt.date}
				if tt.date == "" {
					w.Header()["Date"] = nil // net/http adds one unless told not to
				}
				_, _ = w.Write([]byte(okBody(tt.exp, AllScopes...)))
			})
			s, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet})
			if tt.wantErr != "" {
				if KindOf(err) != KindUpstream || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want Upstream containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !s.ExpiresAt.Equal(tt.wantExp) {
				t.Fatalf("CreateSession = %v, %v; want expiry %s", s, err, tt.wantExp)
			}
		})
	}
}

// TestClockAheadOfTheAPIStillAcceptsTokens: with the cluster's clock ten minutes ahead of the API's, a 5-minute
// token is already past by our clock, yet it lives 5 minutes: it is accepted and expires 5 minutes from our now.
func TestClockAheadOfTheAPIStillAcceptsTokens(t *testing.T) {
	apiNow := t0.Add(-10 * time.Minute)
	c, _ := newClient(t, respond(http.StatusOK, okBody(apiNow.Add(5*time.Minute), AllScopes...),
		"Date", apiNow.Format(http.TimeFormat)))
	s, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet})
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if want := t0.Add(5 * time.Minute); !s.ExpiresAt.Equal(want) {
		t.Fatalf("ExpiresAt = %s, want %s (the API's lifetime on our clock)", s.ExpiresAt, want)
	}
}

// TestStretchedLifetimeIsRejected: a token that lives longer than asked (plus LifetimeSlack) is an upstream error,
// measured on the API's clock whichever way the clocks differ; up to the slack it is accepted.
func TestStretchedLifetimeIsRejected(t *testing.T) {
	tests := []struct {
		name     string
		ttl      int32
		date     time.Time
		lifetime time.Duration
		wantErr  bool
	}{
		{"60 s asked, an hour given", 60, t0, time.Hour, true},
		{"default asked, an hour given", 0, t0, time.Hour, true},
		{"60 s asked, past the slack", 60, t0, time.Minute + LifetimeSlack + time.Second, true},
		{"60 s asked, an hour given by a clock behind ours", 60, t0.Add(-30 * time.Minute), time.Hour, true},
		{"60 s asked, within the slack", 60, t0, time.Minute + LifetimeSlack, false},
		{"60 s asked, 60 s given by a clock ahead of ours", 60, t0.Add(30 * time.Minute), time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newClient(t, respond(http.StatusOK, okBody(tt.date.Add(tt.lifetime), AllScopes...),
				"Date", tt.date.Format(http.TimeFormat)))
			s, err := c.CreateSession(context.Background(), testKey, Request{WalletAddress: testWallet, TTLSeconds: tt.ttl})
			if !tt.wantErr {
				if err != nil || !s.ExpiresAt.Equal(t0.Add(tt.lifetime)) {
					t.Fatalf("CreateSession = %v, %v; want expiry %s", s, err, t0.Add(tt.lifetime))
				}
				return
			}
			if KindOf(err) != KindUpstream || !strings.Contains(err.Error(), "token lifetime too long") {
				t.Fatalf("err = %v, want Upstream: token lifetime too long", err)
			}
			assertNoSecrets(t, err)
		})
	}
}
