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
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mathrand "math/rand/v2"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/burner-operator/burner-operator/internal/burnerapi"
)

// expiresAtLayout is how the API formats expiresAt: UTC with milliseconds, e.g. 2026-04-09T12:10:00.000Z.
const expiresAtLayout = "2006-01-02T15:04:05.000Z07:00"

type sessionResponse struct {
	Token     string   `json:"token"`
	ExpiresAt string   `json:"expiresAt"`
	Scopes    []string `json:"scopes"`
	// issued is the minting clock's time, sent as Date: an API's clock shows in both.
	issued time.Time
}

type errorResponse struct {
	Error string `json:"error"`
}

// request is the body as sent: raw values, so a wrong JSON type is told apart from an absent field.
type request struct {
	WalletAddress json.RawMessage `json:"walletAddress"`
	Scopes        json.RawMessage `json:"scopes"`
	TTLSeconds    json.RawMessage `json:"ttlSeconds"`
}

// ServeHTTP answers POST /api/v1/burner/sessions as the real API does.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != burnerapi.SessionsPath {
		s.writeJSON(w, http.StatusNotFound, errorResponse{"not found"})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeJSON(w, http.StatusMethodNotAllowed, errorResponse{"method not allowed"})
		return
	}
	// Read the body first: only then does net/http notice a client that hangs up, which ends the sleeps below.
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		s.writeJSON(w, http.StatusBadRequest, errorResponse{"cannot read body"})
		return
	}
	s.mu.Lock()
	s.stats.Received++
	s.stats.InFlight++
	s.stats.MaxInFlight = max(s.stats.MaxInFlight, s.stats.InFlight)
	defer func() {
		s.mu.Lock()
		s.stats.InFlight--
		s.mu.Unlock()
	}()
	latency, fault := s.latency, FaultNone
	if s.faultCount > 0 {
		s.faultCount--
		fault = s.fault
	} else if s.faultShare > 0 && mathrand.Float64() < s.faultShare {
		fault = s.randomFault
	}
	s.mu.Unlock()
	if !sleep(r, latency) {
		return
	}
	if s.injectFault(w, r, fault) {
		return
	}

	key := r.Header.Get("X-Api-Key")
	if status, msg := s.authorize(key); status != http.StatusOK {
		if status == http.StatusTooManyRequests {
			s.writeRateLimited(w, key)
			return
		}
		s.writeJSON(w, status, errorResponse{msg})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.writeJSON(w, http.StatusUnsupportedMediaType, errorResponse{"Content-Type must be application/json"})
		return
	}
	wallet, scopes, ttl, err := parseRequest(body)
	if err != nil {
		s.writeJSON(w, http.StatusBadRequest, errorResponse{err.Error()})
		return
	}
	resp, err := s.mint(wallet, scopes, ttl, fault)
	if err != nil {
		s.writeJSON(w, http.StatusInternalServerError, errorResponse{"signing failed"})
		return
	}
	s.mu.Lock()
	s.stats.Mints++
	s.stats.MintsByWallet[wallet]++
	s.stats.MintsByKey[Fingerprint(key)]++
	onMint := s.onMint
	s.mu.Unlock()
	if onMint != nil {
		onMint(Minted{At: time.Now(), KeyID: Fingerprint(key), Wallet: wallet, Token: resp.Token,
			ExpiresAt: resp.ExpiresAt})
	}
	w.Header().Set("Date", resp.issued.UTC().Format(http.TimeFormat))
	s.writeJSON(w, http.StatusOK, resp)
}

// sleep waits d unless the client goes away first; it reports whether to go on.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// injectFault answers with fault, unless it is none or shapes the token (FaultPastExpiry, FaultStretchedLifetime,
// FaultClockBehind: see mint); it reports whether it answered.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, fault Fault) bool {
	switch fault {
	case Fault500:
		s.writeJSON(w, http.StatusInternalServerError, errorResponse{"internal error"})
	case Fault503:
		s.writeJSON(w, http.StatusServiceUnavailable, errorResponse{"service unavailable"})
	case FaultTimeout:
		s.count(0)
		sleep(r, time.Minute)
	case FaultMalformed:
		s.count(http.StatusOK)
		s.setDate(w)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"token": "eyJ`))
	case FaultReset:
		s.count(0)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	default:
		return false
	}
	return true
}

// authorize checks the key and its rate limit: 200, 401 or 429.
func (s *Server) authorize(key string) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	active, known := s.keys[key]
	switch {
	case key == "":
		return http.StatusUnauthorized, "missing X-Api-Key header"
	case !known:
		return http.StatusUnauthorized, "invalid API key"
	case !active:
		return http.StatusUnauthorized, "API key revoked"
	}
	if l := s.limits[key]; l != nil && !l.limiter.AllowN(s.clock.Now(), 1) {
		return http.StatusTooManyRequests, ""
	}
	return http.StatusOK, ""
}

func (s *Server) writeRateLimited(w http.ResponseWriter, key string) {
	s.mu.Lock()
	l := s.limits[key]
	now := s.clock.Now()
	s.mu.Unlock()
	if l != nil && l.retryAfter > 0 {
		if l.httpDate {
			w.Header().Set("Retry-After", now.Add(l.retryAfter).UTC().Format(http.TimeFormat))
		} else {
			w.Header().Set("Retry-After", strconv.Itoa(int(l.retryAfter.Seconds())))
		}
	}
	s.writeJSON(w, http.StatusTooManyRequests, errorResponse{"rate limit exceeded"})
}

// parseRequest enforces the documented body: a JSON object with walletAddress (required, a Solana address),
// scopes (optional, a non-empty array of known scopes without duplicates) and ttlSeconds (optional integer, 1 to
// 3600, default 300), and nothing else.
func parseRequest(data []byte) (wallet string, scopes []string, ttl int, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var req request
	if err := dec.Decode(&req); err != nil {
		return "", nil, 0, fmt.Errorf("invalid JSON body: %v", err)
	}
	if dec.More() || dec.InputOffset() != int64(len(bytes.TrimRight(data, " \t\r\n"))) {
		return "", nil, 0, errors.New("invalid JSON body: trailing data")
	}
	if isAbsent(req.WalletAddress) {
		return "", nil, 0, errors.New("walletAddress is required")
	}
	if err := json.Unmarshal(req.WalletAddress, &wallet); err != nil {
		return "", nil, 0, errors.New("walletAddress must be a string")
	}
	if err := burnerapi.ValidateWalletAddress(wallet); err != nil {
		return "", nil, 0, errors.New("invalid walletAddress")
	}
	scopes = slices.Clone(burnerapi.AllScopes)
	if !isAbsent(req.Scopes) {
		// Into a fresh slice: unmarshalling into one that aliases AllScopes would overwrite it.
		scopes = nil
		if err := json.Unmarshal(req.Scopes, &scopes); err != nil || len(scopes) == 0 {
			return "", nil, 0, errors.New("scopes must be a non-empty array of strings")
		}
		for i, sc := range scopes {
			if !slices.Contains(burnerapi.AllScopes, sc) {
				return "", nil, 0, fmt.Errorf("invalid scope %q", sc)
			}
			if slices.Contains(scopes[:i], sc) {
				return "", nil, 0, fmt.Errorf("duplicate scope %q", sc)
			}
		}
	}
	ttl = burnerapi.DefaultTTLSeconds
	if !isAbsent(req.TTLSeconds) {
		n, err := strconv.Atoi(string(req.TTLSeconds))
		if err != nil || n < 1 || n > burnerapi.MaxTTLSeconds {
			return "", nil, 0, fmt.Errorf("ttlSeconds must be an integer from 1 to %d", burnerapi.MaxTTLSeconds)
		}
		ttl = n
	}
	return wallet, slices.Sorted(slices.Values(scopes)), ttl, nil
}

// isAbsent: the field was left out. An explicit null is a type error, not an absence.
func isAbsent(raw json.RawMessage) bool { return raw == nil }

// mint issues an HS256 JWT for wallet and scopes, shaped by fault; expiresAt is whole seconds so it equals the
// JWT's exp.
func (s *Server) mint(wallet string, scopes []string, ttl int, fault Fault) (sessionResponse, error) {
	s.mu.Lock()
	now, lifetime := s.clock.Now(), time.Duration(ttl)*time.Second
	if s.maxLifetime > 0 && s.maxLifetime < lifetime {
		lifetime = s.maxLifetime
	}
	s.mu.Unlock()
	switch fault {
	case FaultPastExpiry:
		lifetime = -time.Minute
	case FaultStretchedLifetime:
		lifetime = burnerapi.MaxTTLSeconds * time.Second
	case FaultClockBehind:
		now = now.Add(-ClockBehind)
	}
	exp := now.Add(lifetime).Truncate(time.Second)
	jti := make([]byte, 12)
	_, _ = rand.Read(jti)
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": wallet, "scopes": scopes, "iat": now.Unix(), "exp": exp.Unix(), "jti": hex.EncodeToString(jti),
	}).SignedString(s.signingKey)
	if err != nil {
		return sessionResponse{}, err
	}
	return sessionResponse{Token: token, ExpiresAt: exp.UTC().Format(expiresAtLayout), Scopes: scopes, issued: now}, nil
}

// VerifyToken checks a token's signature and returns what it is bound to. Expiry is checked on the simulator's
// clock.
func (s *Server) VerifyToken(token string) (wallet string, scopes []string, exp time.Time, err error) {
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return s.signingKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(s.clock.Now))
	if err != nil {
		return "", nil, time.Time{}, err
	}
	wallet, _ = claims["sub"].(string)
	raw, _ := claims["scopes"].([]any)
	for _, v := range raw {
		if sc, ok := v.(string); ok {
			scopes = append(scopes, sc)
		}
	}
	e, err := claims.GetExpirationTime()
	if err != nil || e == nil {
		return "", nil, time.Time{}, errors.New("token has no exp")
	}
	return wallet, scopes, e.Time, nil
}
