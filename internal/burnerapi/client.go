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

// Package burnerapi is a client for the Aerosol burner sessions API (POST /api/v1/burner/sessions). It validates
// requests before sending them, checks responses strictly, rate-limits per API key and reports failures as *Error
// values whose Kind tells the caller how to react. Error texts never contain the API key or a token.
package burnerapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/utils/clock"
)

// DefaultBaseURL is the production API; SessionsPath is appended to the base URL.
const (
	DefaultBaseURL = "https://api.aerosol.com"
	SessionsPath   = "/api/v1/burner/sessions"
)

const (
	// DefaultTimeout bounds each CreateSession call (cert-manager uses the same for ACME calls).
	DefaultTimeout = 10 * time.Second
	// DefaultUserAgent is sent unless WithUserAgent overrides it.
	DefaultUserAgent = "burner-operator"
	// maxResponseBytes bounds how much of a response is read; a session response is well under 1 KiB.
	maxResponseBytes = 64 << 10
	// connectTimeout bounds the TCP connect and, again, the TLS handshake: far more than a healthy API needs, and
	// short enough that a host that does not answer holds its caller for less than a whole call timeout.
	connectTimeout = 5 * time.Second
	// backstopSlack is added to the per-call timeout for the default http.Client's own Timeout, which only matters
	// if a context deadline is somehow not honoured.
	backstopSlack = 5 * time.Second
)

// Client calls the sessions API. It is safe for concurrent use; build one and share it.
type Client struct {
	endpoint  *url.URL
	http      *http.Client
	upstreams *upstreams
	timeout   time.Duration
	clock     clock.PassiveClock
	limiter   *KeyLimiter
	userAgent string
}

type options struct {
	http       *http.Client
	timeout    time.Duration
	clock      clock.PassiveClock
	limiter    *KeyLimiter
	limiterSet bool
	userAgent  string
	inFlight   int
}

// Option configures a Client.
type Option func(*options)

// WithHTTPClient sets the HTTP client (e.g. for a custom transport). The Client uses a shallow copy that never
// follows redirects, because a redirect would forward the X-Api-Key header to wherever it points.
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.http = hc } }

// WithTimeout sets the per-call timeout (default DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithClock sets the clock used to check expiresAt, resolve Retry-After dates and drive the default KeyLimiter.
func WithClock(c clock.PassiveClock) Option { return func(o *options) { o.clock = c } }

// WithLimiter sets the adaptive per-key limiter, typically shared by every Client of a process (register its
// Collector for the metrics). The default is NewKeyLimiter(DefaultKeyRate, DefaultKeyBurst, clock) with the
// default ceiling; nil disables client-side limiting and 429 blocking.
func WithLimiter(l *KeyLimiter) Option {
	return func(o *options) { o.limiter, o.limiterSet = l, true }
}

// WithMaxInFlightPerHost bounds the calls in flight to one API host (default DefaultMaxInFlightPerHost); a call
// over the bound is not made but held back (KindHeldBack).
func WithMaxInFlightPerHost(n int) Option { return func(o *options) { o.inFlight = n } }

// WithUserAgent sets the User-Agent header (default DefaultUserAgent).
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// New returns a Client for the API at baseURL, which must pass ValidateBaseURL.
func New(baseURL string, opts ...Option) (*Client, error) {
	endpoint, err := sessionsEndpoint(baseURL)
	if err != nil {
		return nil, err
	}
	o := options{timeout: DefaultTimeout, clock: clock.RealClock{}, userAgent: DefaultUserAgent,
		inFlight: DefaultMaxInFlightPerHost}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout <= 0 {
		return nil, fmt.Errorf("timeout must be positive, got %s", o.timeout)
	}
	if o.inFlight <= 0 {
		return nil, fmt.Errorf("calls in flight per host must be positive, got %d", o.inFlight)
	}
	hc := &http.Client{Timeout: o.timeout + backstopSlack, Transport: defaultTransport(o.timeout, o.inFlight)}
	if o.http != nil {
		hc = new(*o.http)
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if !o.limiterSet {
		o.limiter = NewKeyLimiter(DefaultKeyRate, DefaultKeyBurst, o.clock)
	}
	return &Client{
		endpoint:  endpoint,
		http:      hc,
		upstreams: newUpstreams(o.clock, o.inFlight),
		timeout:   o.timeout,
		clock:     o.clock,
		limiter:   o.limiter,
		userAgent: o.userAgent,
	}, nil
}

// sessionsEndpoint is the URL sessions are created at, for an API base URL that passes ValidateBaseURL.
func sessionsEndpoint(baseURL string) (*url.URL, error) {
	base, err := ValidateBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	return base.JoinPath(SessionsPath), nil
}

// defaultTransport is http.DefaultTransport with response headers bounded like the body (a session response has a
// handful of short headers, and the default allowance, megabytes, only helps a hostile server waste memory),
// connecting within connectTimeout, waiting for headers no longer than a call may last, and keeping as many idle
// connections per host as calls may be in flight (the default 2 would make a busy host's calls handshake again).
func defaultTransport(timeout time.Duration, inFlight int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = connectTimeout
	t.ResponseHeaderTimeout = timeout
	t.MaxIdleConnsPerHost = inFlight
	t.MaxResponseHeaderBytes = maxResponseBytes
	return t
}

// CreateSession mints a session token for req using apiKey. Every error is an *Error; see Kind for how to react.
// The returned Session has been checked: non-empty token, expiresAt in the future, scopes as requested.
func (c *Client) CreateSession(ctx context.Context, apiKey string, req Request) (*Session, error) {
	if err := checkAPIKey(apiKey); err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, &Error{Kind: KindInvalidRequest, Message: "invalid request: " + err.Error()}
	}
	body, err := json.Marshal(requestBody{WalletAddress: req.WalletAddress, Scopes: req.Scopes, TTLSeconds: req.TTLSeconds})
	if err != nil {
		return nil, &Error{Kind: KindInvalidRequest, Message: "invalid request: cannot encode body", cause: err}
	}
	endpoint := c.endpoint
	if req.BaseURL != "" {
		// Checked before the limiter: a call that cannot be made must not take a slot.
		if endpoint, err = sessionsEndpoint(req.BaseURL); err != nil {
			return nil, &Error{Kind: KindInvalidRequest, Message: "invalid API URL: " + err.Error()}
		}
	}
	// The host's bulkhead and breaker before the key's limiter, so a call turned away there takes no slot of the key.
	up, refused := c.upstreams.acquire(strings.ToLower(endpoint.Host))
	if refused != nil {
		return nil, refused
	}
	var adm admission
	if c.limiter != nil {
		if adm, refused = c.limiter.admit(apiKey, req); refused != nil {
			up.done(neutral)
			return nil, refused
		}
	}
	sess, o, err := c.send(ctx, endpoint.String(), apiKey, body, adm, req)
	up.done(o)
	return sess, err
}

// send makes an admitted call and reports, besides its result, what it says of the host for the breaker.
func (c *Client) send(
	ctx context.Context, endpoint, apiKey string, body []byte, adm admission, req Request,
) (*Session, outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, neutral, &Error{Kind: KindUpstream, Message: "cannot build request", cause: err}
	}
	hreq.Header.Set("X-Api-Key", apiKey)
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)

	resp, err := c.http.Do(hreq)
	if err != nil {
		return c.transportError(ctx, adm, err)
	}
	defer func() { _ = resp.Body.Close() }()
	// Read one byte past the limit to tell "exactly at the limit" from "too large".
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return c.transportError(ctx, adm, err)
	}
	if resp.StatusCode >= http.StatusInternalServerError {
		return nil, failed, c.statusError(adm, resp)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, answered, c.statusError(adm, resp)
	}
	if c.limiter != nil {
		c.limiter.succeeded(adm)
	}
	if len(data) > maxResponseBytes {
		return nil, answered, &Error{Kind: KindUpstream,
			Message: fmt.Sprintf("%s: body exceeds %d bytes", msgTooLarge, maxResponseBytes)}
	}
	serverNow, _ := http.ParseTime(resp.Header.Get("Date")) // zero when absent or unparsable
	sess, err := parseResponse(data, req, c.clock.Now(), serverNow)
	return sess, answered, err
}

// checkAPIKey catches keys that cannot be a valid header value, most often a trailing newline from
// `echo key > file` when the Secret was created, and reports it without echoing the key.
func checkAPIKey(apiKey string) error {
	if apiKey == "" {
		return &Error{Kind: KindUnauthorized, Message: "API key is empty"}
	}
	if strings.IndexFunc(apiKey, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return &Error{Kind: KindUnauthorized,
			Message: "API key contains whitespace or non-printable characters (a trailing newline in the Secret?)"}
	}
	return nil
}

// statusError maps a non-200 response to an *Error without looking at its body, which could echo secrets.
func (c *Client) statusError(adm admission, resp *http.Response) *Error {
	e := &Error{StatusCode: resp.StatusCode}
	switch code := resp.StatusCode; {
	case code == http.StatusBadRequest:
		e.Kind, e.Message = KindInvalidRequest, "request rejected as invalid"
	case code == http.StatusUnauthorized:
		e.Kind, e.Message = KindUnauthorized, "API key rejected"
	case code == http.StatusForbidden:
		e.Kind, e.Message = KindUnauthorized, "API key not permitted"
	case code == http.StatusTooManyRequests:
		e.Kind, e.Message = KindRateLimited, "rate limited"
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())
		if c.limiter != nil {
			c.limiter.rateLimited(adm, e.RetryAfter)
		}
	case code >= 500:
		e.Kind, e.Message = KindUpstream, "server error"
	default:
		e.Kind, e.Message = KindUpstream, "unexpected status"
	}
	return e
}

// transportError wraps a failed round trip or body read in a fixed message (see transportCategory); err is kept
// for errors.Is but its text, which may quote server bytes or a proxy URL, never reaches Error(). A timeout or a
// lost connection is congestion: the key's rate is cut as for a 429. A call the caller canceled says nothing of
// the host.
func (c *Client) transportError(ctx context.Context, adm admission, err error) (*Session, outcome, error) {
	msg := transportCategory(ctx, err)
	o := failed
	switch msg {
	case msgCanceled:
		o = neutral
	case msgTimeout, msgReset, msgRefused:
		if c.limiter != nil {
			c.limiter.congested(adm)
		}
	}
	if msg == msgTimeout {
		msg = fmt.Sprintf("%s after %s", msgTimeout, c.timeout)
	}
	return nil, o, &Error{Kind: KindUpstream, Message: msg, cause: err}
}
