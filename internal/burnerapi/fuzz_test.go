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
	"strings"
	"testing"
	"time"
)

// Run with: go test ./internal/burnerapi -run '^$' -fuzz '^FuzzValidateWalletAddress$' -fuzztime 10s
func FuzzValidateWalletAddress(f *testing.F) {
	for _, seed := range []string{testWallet, "11111111111111111111111111111111", strings.Repeat("z", 44),
		"0OIl" + testWallet[4:], "", "é", strings.Repeat("1", 32) + "2"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		if ValidateWalletAddress(addr) != nil {
			return
		}
		b, err := decodeBase58(addr)
		if err != nil || len(b) != walletAddressBytes {
			t.Fatalf("accepted %q but it decodes to %d bytes (%v)", addr, len(b), err)
		}
		if enc := encodeBase58(b); enc != addr {
			t.Fatalf("accepted %q but it re-encodes as %q", addr, enc)
		}
	})
}

// Run with: go test ./internal/burnerapi -run '^$' -fuzz '^FuzzParseResponse$' -fuzztime 10s
func FuzzParseResponse(f *testing.F) {
	exp := t0.Add(10 * time.Minute)
	for _, seed := range []struct {
		body   string
		scopes string
	}{
		{okBody(exp, AllScopes...), ""},
		{okBody(exp, ScopeWalletRead), ScopeWalletRead},
		{okBody(exp, ScopeTransactionsBuild, ScopeWalletRead), "wallet:read,transactions:build"},
		{okBody(t0.Add(-time.Minute), AllScopes...), ""},
		{`{"token":"","expiresAt":"2026-04-09T12:10:00Z","scopes":[]}`, ""},
		{`{"token":"t","expiresAt":"2026-04-09T12:10:00.5+14:00"}`, ""},
		{`{"token":"t","expiresAt":"9999-12-31T23:59:59Z","scopes":null}`, ""},
		{`null`, ""},
		{`{"token":`, ""},
	} {
		f.Add([]byte(seed.body), seed.scopes)
	}
	f.Fuzz(func(t *testing.T, body []byte, scopes string) {
		var requested []string
		if scopes != "" {
			requested = strings.Split(scopes, ",")
		}
		s, err := parseResponse(body, Request{Scopes: requested, TTLSeconds: MaxTTLSeconds}, t0, time.Time{})
		if (s == nil) == (err == nil) {
			t.Fatalf("parseResponse = %v, %v; want exactly one of session and error", s, err)
		}
		if err != nil {
			if KindOf(err) != KindUpstream {
				t.Fatalf("error kind %v, want Upstream", KindOf(err))
			}
			return
		}
		if s.Token == "" || s.ExpiresAt.Sub(t0) < MinLifetime {
			t.Fatalf("accepted a session with empty token or expiry %v less than MinLifetime away", s.ExpiresAt)
		}
	})
}
