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
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Request is what CreateSession asks the API for.
type Request struct {
	// WalletAddress is the Solana address the session is bound to.
	WalletAddress string
	// Scopes to grant; empty means all scopes (the field is then omitted from the request body).
	Scopes []string
	// TTLSeconds is the requested lifetime, 1 to MaxTTLSeconds; 0 omits it so the API applies DefaultTTLSeconds.
	TTLSeconds int32

	// Caller names who asks, e.g. the session's namespace/name; it is not sent. When the KeyLimiter holds the call
	// back, the caller keeps its place in line, and a slot due within a few seconds is reserved for it: coming back
	// after RetryAfter (and less than a second late) it calls without queueing again. Empty: nothing is kept.
	Caller string
	// Tenant is whose share of the key's rate the call is made from (the caller's namespace); it is not sent. The
	// KeyLimiter shares a key's rate fairly between its tenants, so one tenant's many sessions cannot delay
	// another's refreshes.
	Tenant string
	// Weight is the tenant's share relative to the other tenants of the key (0 counts as 1); it is not sent.
	Weight int32
	// NeedBy is when the caller's current token expires (zero for a first issue); it is not sent. Within a tenant,
	// refreshes go earliest NeedBy first, and first issues after them.
	NeedBy time.Time
	// BaseURL, if set, is the API to call instead of the Client's (an issuer's spec.url); it must pass
	// ValidateBaseURL.
	BaseURL string
}

// Session is a minted session token. Its formatting methods redact Token, so printing a Session with any fmt verb
// cannot leak it; read the field explicitly where the token is needed.
type Session struct {
	// Token is the bearer token. It is a secret.
	Token string
	// ExpiresAt is when the token expires on the client's clock, in UTC: the lifetime the API gave it (expiresAt
	// less the response's Date) from when the response arrived, so a clock ahead of or behind the API's shifts it
	// to our timeline (see parseResponse). Refresh timing must use it, not the requested TTL.
	ExpiresAt time.Time
	// Scopes are the granted scopes, sorted.
	Scopes []string
}

// String describes s without its token.
func (s Session) String() string {
	return fmt.Sprintf("Session{Token:[redacted], ExpiresAt:%s, Scopes:%v}", s.ExpiresAt.Format(time.RFC3339), s.Scopes)
}

// GoString makes %#v redact the token too.
func (s Session) GoString() string { return s.String() }

// Format makes every fmt verb (%v, %+v, %s, %q, ...) print the redacted String.
func (s Session) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, s.String()) }

// validate rejects a request the API would answer with 400, so no API call (and rate-limit token) is wasted on it.
func (r Request) validate() error {
	if err := ValidateWalletAddress(r.WalletAddress); err != nil {
		return err
	}
	for i, s := range r.Scopes {
		if !slices.Contains(AllScopes, s) {
			return fmt.Errorf("unknown scope %q, want one of %s", s, strings.Join(AllScopes, ", "))
		}
		if slices.Contains(r.Scopes[:i], s) {
			return fmt.Errorf("duplicate scope %q", s)
		}
	}
	if r.TTLSeconds < 0 || r.TTLSeconds > MaxTTLSeconds {
		return fmt.Errorf("ttlSeconds %d is out of range, want 1 to %d (or 0 for the default)", r.TTLSeconds, MaxTTLSeconds)
	}
	return nil
}

// requestBody is the JSON the API expects.
type requestBody struct {
	WalletAddress string   `json:"walletAddress"`
	Scopes        []string `json:"scopes,omitempty"`
	TTLSeconds    int32    `json:"ttlSeconds,omitempty"`
}

// responseBody is the 200 response. Unknown fields are ignored so the API can add some; the ones here are checked.
type responseBody struct {
	Token     string   `json:"token"`
	ExpiresAt string   `json:"expiresAt"`
	Scopes    []string `json:"scopes"`
}

// MinLifetime is the shortest token lifetime accepted as a success. The operator refreshes a token well before it
// expires, so a lifetime of seconds (an API bug, or a server clock far off) would make it mint in a loop, dozens of
// times a minute per session; below this floor the response is an upstream error and is retried with backoff
// instead. 30 s is half the shortest ttlSeconds a BurnerSession may ask for.
const MinLifetime = 30 * time.Second

// maxTokenLen bounds the token a 200 response may carry.
const maxTokenLen = 16 << 10

// MaxPlausibleLifetime is the furthest a token Secret's expiresAt may lie after its issuedAt: MaxTTLSeconds plus 5
// minutes, which covers the call's duration and LifetimeSlack, and Secrets written before the expiry was put on our
// clock (then an API clock ahead of ours showed in it). An expiresAt further away is absurd.
const MaxPlausibleLifetime = MaxTTLSeconds*time.Second + 5*time.Minute

// LifetimeSlack is how much longer than the requested ttlSeconds a token may live. The lifetime is measured on the
// API's own clock (expiresAt - Date), so clock differences between the cluster and the API do not enter it; what
// remains is Date's one-second resolution and the moments between the API stamping expiresAt and Date. Without a
// Date header the lifetime is measured on our clock and the slack also absorbs a synchronised clock's drift (NTP
// keeps it well under a second). 10 s covers both with room and stays small next to the shortest ttl (60 s): a
// token that outlives the request by more is an upstream error, never written, so a tightened policy or a
// removed namespace label bites at the next refresh, not an hour later.
const LifetimeSlack = 10 * time.Second

// parseResponse turns a 200 body into a Session, checking everything the caller relies on: a usable token, a
// lifetime of at least MinLifetime and at most the requested ttlSeconds plus LifetimeSlack (so neither a bogus date
// nor the API can stretch a token beyond what was asked), and exactly the requested scopes, or AllScopes when the
// request named none. Error messages are fixed templates that never quote the body.
//
// received is our clock when the response arrived; serverNow is the response's Date header (zero if absent or
// unparsable). The lifetime is measured on the server's clock when it can be (expiresAt - Date), so a clock ahead
// or behind on either side does not distort it, and the returned expiry is received + lifetime: the token's expiry
// on our clock, which is what the cluster's pods compare against. It errs late by at most the response's transit
// and Date's one-second resolution, both far below any refresh margin. Any Date that parses is used, however far
// from our clock: expiresAt comes from the same server, and a broken Date shows as a lifetime out of bounds, an
// error that says so.
func parseResponse(body []byte, req Request, received, serverNow time.Time) (*Session, error) {
	var rb responseBody
	if err := json.Unmarshal(body, &rb); err != nil {
		return nil, malformed("body is not the expected JSON object")
	}
	if rb.Token == "" {
		return nil, malformed("token is missing or empty")
	}
	if len(rb.Token) > maxTokenLen || strings.IndexFunc(rb.Token, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		// The token ends up in Secrets and Authorization headers: refuse anything but printable ASCII.
		return nil, malformed("token is not printable ASCII or is too long")
	}
	if rb.ExpiresAt == "" {
		return nil, malformed("expiresAt is missing or empty")
	}
	apiExp, err := time.Parse(time.RFC3339Nano, rb.ExpiresAt)
	if err != nil {
		return nil, malformed("expiresAt is not an RFC 3339 timestamp")
	}
	apiNow := received
	if !serverNow.IsZero() {
		apiNow = serverNow
	}
	lifetime := apiExp.Sub(apiNow)
	if lifetime <= 0 {
		return nil, malformed(fmt.Sprintf("expiresAt %s is not after the current time %s",
			apiExp.UTC().Format(time.RFC3339), apiNow.UTC().Format(time.RFC3339)))
	}
	ttl := time.Duration(req.TTLSeconds) * time.Second
	if req.TTLSeconds == 0 {
		ttl = DefaultTTLSeconds * time.Second
	}
	switch {
	case lifetime < MinLifetime:
		return nil, &Error{Kind: KindUpstream, Message: fmt.Sprintf("token lifetime too short: %s, below the %s minimum",
			lifetime.Round(time.Second), MinLifetime)}
	case lifetime > ttl+LifetimeSlack:
		return nil, &Error{Kind: KindUpstream, Message: fmt.Sprintf(
			"token lifetime too long: %s, longer than the %s asked for (slack %s); not used",
			lifetime.Round(time.Second), ttl, LifetimeSlack)}
	}
	granted := sortedSet(rb.Scopes)
	requested := req.Scopes
	if len(requested) == 0 {
		requested = AllScopes
	}
	if !slices.Equal(granted, sortedSet(requested)) {
		return nil, malformed(fmt.Sprintf("granted scopes differ from the requested %v", requested))
	}
	return &Session{Token: rb.Token, ExpiresAt: received.Add(lifetime).UTC(), Scopes: granted}, nil
}

func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func malformed(reason string) *Error {
	return &Error{Kind: KindUpstream, Message: "malformed response: " + reason}
}
