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
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseResponse(t *testing.T) {
	exp := t0.Add(10 * time.Minute)
	all := okBody(exp, AllScopes...)
	tests := []struct {
		name      string
		body      string
		requested []string
		wantErr   string // substring of the error; "" means success
		wantExp   time.Time
	}{
		{name: "doc example", body: all, wantExp: exp},
		{name: "requested subset", body: okBody(exp, ScopeWalletRead), requested: []string{ScopeWalletRead}, wantExp: exp},
		{name: "granted in other order with duplicates",
			body:      okBody(exp, ScopeTransactionsBuild, ScopeWalletRead, ScopeWalletRead),
			requested: []string{ScopeWalletRead, ScopeTransactionsBuild}, wantExp: exp},
		{name: "no fractional seconds", body: strings.Replace(all, ".000Z", "Z", 1), wantExp: exp},
		{name: "offset and nanoseconds", wantExp: exp.Add(123456789),
			body: `{"token":"t","expiresAt":"2026-04-09T14:10:00.123456789+02:00","scopes":["wallet:read","transactions:build","transactions:submit"]}`},
		{name: "unknown fields ignored", body: strings.Replace(all, "{", `{"sessionId":"x","extra":{"a":[1]},`, 1), wantExp: exp},
		{name: "not JSON", body: "<html>502</html>", wantErr: "not the expected JSON object"},
		{name: "truncated JSON", body: all[:20], wantErr: "not the expected JSON object"},
		{name: "JSON array", body: "[]", wantErr: "not the expected JSON object"},
		{name: "token wrong type", body: strings.Replace(all, `"token":"`+testToken+`"`, `"token":1`, 1), wantErr: "not the expected JSON object"},
		{name: "null body", body: "null", wantErr: "token is missing"},
		{name: "missing token", body: strings.Replace(all, `"token":"`+testToken+`",`, "", 1), wantErr: "token is missing"},
		{name: "empty token", body: strings.Replace(all, testToken, "", 1), wantErr: "token is missing"},
		{name: "token with newline", body: strings.Replace(all, testToken, `abc\ndef`, 1), wantErr: "not printable ASCII"},
		{name: "token too long", body: strings.Replace(all, testToken, strings.Repeat("a", maxTokenLen+1), 1), wantErr: "too long"},
		{name: "missing expiresAt", body: fmt.Sprintf(`{"token":"t","scopes":[%s]}`, quoteAll(AllScopes)), wantErr: "expiresAt is missing"},
		{name: "unparsable expiresAt", body: strings.Replace(all, "2026-04-09T12:10:00.000Z", "tomorrow", 1), wantErr: "not an RFC 3339"},
		{name: "date only", body: strings.Replace(all, "2026-04-09T12:10:00.000Z", "2026-04-09", 1), wantErr: "not an RFC 3339"},
		{name: "expiresAt number", body: strings.Replace(all, `"2026-04-09T12:10:00.000Z"`, "1775736600", 1), wantErr: "not the expected JSON"},
		{name: "past expiresAt", body: okBody(t0.Add(-time.Second), AllScopes...), wantErr: "is not after the current time"},
		{name: "expiresAt equals now", body: okBody(t0, AllScopes...), wantErr: "is not after the current time"},
		{name: "lifetime of seconds", body: okBody(t0.Add(5*time.Second), AllScopes...), wantErr: "token lifetime too short"},
		{name: "lifetime just below the floor", body: okBody(t0.Add(MinLifetime-time.Millisecond), AllScopes...), wantErr: "token lifetime too short"},
		{name: "lifetime at the floor", body: okBody(t0.Add(MinLifetime), AllScopes...), wantExp: t0.Add(MinLifetime)},
		{name: "expiresAt absurdly far", body: okBody(t0.AddDate(10, 0, 0), AllScopes...), wantErr: "lifetime too long"},
		{name: "fewer scopes than all", body: okBody(exp, ScopeWalletRead), wantErr: "granted scopes differ"},
		{name: "missing scopes", body: fmt.Sprintf(`{"token":"t","expiresAt":%q}`, exp.Format(time.RFC3339)), wantErr: "granted scopes differ"},
		{name: "extra scope", body: okBody(exp, ScopeWalletRead, ScopeTransactionsBuild),
			requested: []string{ScopeWalletRead}, wantErr: "granted scopes differ"},
		{name: "unknown scope", body: okBody(exp, append(slices.Clone(AllScopes), "admin")...), wantErr: "granted scopes differ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseResponse([]byte(tt.body), Request{Scopes: tt.requested, TTLSeconds: 600}, t0, time.Time{})
			if tt.wantErr != "" {
				if s != nil || err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseResponse = %v, %v; want error containing %q", s, err, tt.wantErr)
				}
				if KindOf(err) != KindUpstream {
					t.Errorf("KindOf = %v, want Upstream", KindOf(err))
				}
				assertNoSecrets(t, err)
				return
			}
			if err != nil {
				t.Fatalf("parseResponse: %v", err)
			}
			if !s.ExpiresAt.Equal(tt.wantExp) || s.ExpiresAt.Location() != time.UTC {
				t.Errorf("ExpiresAt = %v, want %v in UTC", s.ExpiresAt, tt.wantExp)
			}
			want := tt.requested
			if len(want) == 0 {
				want = AllScopes
			}
			if !slices.Equal(s.Scopes, sortedSet(want)) {
				t.Errorf("Scopes = %v, want sorted %v", s.Scopes, want)
			}
		})
	}
}

func TestSessionFormattingRedactsToken(t *testing.T) {
	s := Session{Token: testToken, ExpiresAt: t0, Scopes: []string{ScopeWalletRead}}
	want := "Session{Token:[redacted], ExpiresAt:2026-04-09T12:00:00Z, Scopes:[wallet:read]}"
	if got := fmt.Sprint(s); got != want {
		t.Errorf("Sprint = %q, want %q", got, want)
	}
	assertNoSecrets(t, s)
	assertNoSecrets(t, &s)
	assertNoSecrets(t, struct{ S Session }{s}) // nested values are formatted through Format too
}
