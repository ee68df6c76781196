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

// Package burnersim is a faithful simulator of the Burner API's session endpoint, for tests and the demo. It is
// as strict as the real API about the request (unknown fields, bad wallet, bad scope, ttl out of range: 400;
// unknown or revoked key: 401), issues real HS256 JWTs whose exp matches expiresAt, and can be told to misbehave:
// per-key rate limits with Retry-After, latency, 5xx, hangs, resets, malformed or already-expired responses. It
// counts every call.
package burnersim

import (
	"crypto/rand"
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/utils/clock"

	"github.com/burner-operator/burner-operator/internal/burnerapi"
)

// Server simulates the Burner API. It is an http.Handler; Start serves it on a loopback port.
type Server struct {
	mu          sync.Mutex
	clock       clock.PassiveClock
	signingKey  []byte
	keys        map[string]bool // key -> active (false: revoked)
	latency     time.Duration
	maxLifetime time.Duration
	fault       Fault
	faultCount  int
	randomFault Fault
	faultShare  float64
	limits      map[string]*keyLimit
	stats       Stats
	onMint      func(Minted)

	httpServer *http.Server
}

type keyLimit struct {
	limiter    *rate.Limiter
	retryAfter time.Duration
	httpDate   bool
}

// Stats counts the calls the simulator has seen. Keys are identified by Fingerprint, never by value.
type Stats struct {
	// Received counts requests whose body was read (before any latency), Total those answered.
	Received      int            `json:"received"`
	Total         int            `json:"total"`
	ByStatus      map[int]int    `json:"byStatus"`
	Mints         int            `json:"mints"`
	MintsByWallet map[string]int `json:"mintsByWallet"`
	MintsByKey    map[string]int `json:"mintsByKey"`
	// InFlight counts received requests not yet answered (nor given up by the client), MaxInFlight the most at once.
	InFlight    int `json:"inFlight"`
	MaxInFlight int `json:"maxInFlight"`
}

// Option configures a Server.
type Option func(*Server)

// WithClock sets the clock for iat, exp and expiresAt (and the rate limits), so tests with a fake clock get tokens
// that expire on the fake timeline.
func WithClock(c clock.PassiveClock) Option { return func(s *Server) { s.clock = c } }

// WithKeys sets the API keys the simulator accepts.
func WithKeys(keys ...string) Option {
	return func(s *Server) {
		for _, k := range keys {
			s.keys[k] = true
		}
	}
}

// WithMaxLifetime caps the lifetime granted, whatever ttl is asked (0: no cap).
func WithMaxLifetime(d time.Duration) Option { return func(s *Server) { s.maxLifetime = d } }

// WithLatency delays every response.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// New returns a simulator.
func New(opts ...Option) *Server {
	s := &Server{clock: clock.RealClock{}, keys: map[string]bool{}, limits: map[string]*keyLimit{}}
	for _, o := range opts {
		o(s)
	}
	s.signingKey = make([]byte, 32)
	_, _ = rand.Read(s.signingKey)
	s.Reset()
	return s
}

// fingerprints name keys under a secret of this process, so stats published by the simulator cannot confirm a key.
var fingerprints = func() burnerapi.KeyIDs {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	ids, _ := burnerapi.NewKeyIDs(secret)
	return ids
}()

// Fingerprint identifies an API key in stats and logs without revealing it, as the operator's key_id label does
// (with the operator's own secret: the two differ, and stay the same within this process).
func Fingerprint(key string) string { return fingerprints.Of(key) }

// Start serves the simulator (and its admin endpoints under /admin/) on a free loopback port and returns its base
// URL.
func (s *Server) Start() (string, error) {
	return s.Listen("127.0.0.1:0")
}

// Listen serves the simulator and its admin endpoints on addr and returns its base URL.
func (s *Server) Listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", s.AdminHandler())
	mux.Handle("/", s)
	s.httpServer = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.httpServer.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops a started simulator, dropping open connections (hung requests included).
func (s *Server) Close() {
	if s.httpServer != nil {
		_ = s.httpServer.Close()
	}
}

// AddKey accepts key (again, if it was revoked).
func (s *Server) AddKey(key string) { s.setKey(key, true) }

// RevokeKey makes key answer 401.
func (s *Server) RevokeKey(key string) { s.setKey(key, false) }

func (s *Server) setKey(key string, active bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[key] = active
}

// SetLatency delays every later response by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetMaxLifetime caps the lifetime of later tokens (0: no cap).
func (s *Server) SetMaxLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxLifetime = d
}

// FailNext makes the next n session requests fail with f; n = 0 clears a pending fault.
func (s *Server) FailNext(n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.faultCount = f, n
}

// FailRandomly makes each later session request fail with f with probability share (0 stops it), for a
// background error rate; FailNext's faults go first.
func (s *Server) FailRandomly(share float64, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.randomFault, s.faultShare = f, share
}

// SetRateLimit limits key to perSecond requests (burst burst); beyond it the simulator answers 429 with a
// Retry-After of retryAfter in seconds. perSecond <= 0 removes the limit.
func (s *Server) SetRateLimit(key string, perSecond float64, burst int, retryAfter time.Duration) {
	s.setRateLimit(key, perSecond, burst, retryAfter, false)
}

// SetRateLimitHTTPDate is SetRateLimit with Retry-After sent as an HTTP date.
func (s *Server) SetRateLimitHTTPDate(key string, perSecond float64, burst int, retryAfter time.Duration) {
	s.setRateLimit(key, perSecond, burst, retryAfter, true)
}

func (s *Server) setRateLimit(key string, perSecond float64, burst int, retryAfter time.Duration, httpDate bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if perSecond <= 0 {
		delete(s.limits, key)
		return
	}
	l := rate.NewLimiter(rate.Limit(perSecond), burst)
	// Start full at the simulator's notion of now (a fake clock may be far from the zero time).
	l.SetBurstAt(s.clock.Now(), burst)
	s.limits[key] = &keyLimit{limiter: l, retryAfter: retryAfter, httpDate: httpDate}
}

// Calls returns a copy of the counters.
func (s *Server) Calls() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.stats
	c.ByStatus = maps.Clone(s.stats.ByStatus)
	c.MintsByWallet = maps.Clone(s.stats.MintsByWallet)
	c.MintsByKey = maps.Clone(s.stats.MintsByKey)
	return c
}

// Minted is a token the simulator issued, for tests that must know when (e.g. how long until a pod reads it) or
// look for it where it must not be (e.g. in etcd). Never log Token.
type Minted struct {
	At        time.Time
	KeyID     string // Fingerprint of the API key
	Wallet    string
	Token     string
	ExpiresAt string
}

// OnMint calls f for every token issued from now on (nil: stop); f runs in the request's handler and must be quick.
func (s *Server) OnMint(f func(Minted)) {
	s.mu.Lock()
	s.onMint = f
	s.mu.Unlock()
}

// TotalMints is how many tokens were issued.
func (s *Server) TotalMints() int { return s.Calls().Mints }

// Reset zeroes the counters.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{ByStatus: map[int]int{}, MintsByWallet: map[string]int{}, MintsByKey: map[string]int{},
		InFlight: s.stats.InFlight} // still in flight: their handlers will count them out
}

// writeJSON answers with status and v as JSON, and counts the call.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	s.count(status)
	s.setDate(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// setDate sends the Date header from the simulator's clock, as a real server does from its own: the client measures
// token lifetimes against it, so a fake clock must show there too. A Date already set (a minted token's) stays.
func (s *Server) setDate(w http.ResponseWriter) {
	if w.Header().Get("Date") != "" {
		return
	}
	w.Header().Set("Date", s.clock.Now().UTC().Format(http.TimeFormat))
}

func (s *Server) count(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Total++
	s.stats.ByStatus[status]++
}
