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
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind classifies an error by what the caller should do about it.
type Kind int

const (
	// KindNone is what KindOf returns for a nil error.
	KindNone Kind = iota
	// KindInvalidRequest (HTTP 400 or a request rejected before sending): retrying the same request cannot succeed;
	// wait for the spec to change.
	KindInvalidRequest
	// KindUnauthorized (HTTP 401 and 403, or an unusable key): wait for the API key Secret to change.
	KindUnauthorized
	// KindRateLimited (HTTP 429): the API refused the call; retry after Error.RetryAfter when it is set.
	KindRateLimited
	// KindHeldBack: the client-side KeyLimiter refused to call (the key's rate, or a recent 429 on the key), or the
	// API's host already has the most calls in flight it may have, so no request was sent. Not a failure of the
	// request: retry after Error.RetryAfter, exactly, without jitter; with Request.Caller set, a slot (or a place in
	// line) is held for the caller until then.
	KindHeldBack
	// KindUpstream covers everything else: 5xx and other statuses, transport errors, timeouts, malformed bodies,
	// an expiresAt that is not in the future and granted scopes that differ from the requested ones. Retry with
	// backoff.
	KindUpstream
	// KindUnavailable: the circuit breaker of the API's host is open after failures in a row, so no request was
	// sent. Retry with backoff, as KindUpstream; Error.RetryAfter says when the breaker lets the next probe through.
	KindUnavailable
)

// String returns the Kind's name, e.g. "RateLimited".
func (k Kind) String() string {
	switch k {
	case KindNone:
		return "None"
	case KindInvalidRequest:
		return "InvalidRequest"
	case KindUnauthorized:
		return "Unauthorized"
	case KindRateLimited:
		return "RateLimited"
	case KindHeldBack:
		return "HeldBack"
	case KindUpstream:
		return "Upstream"
	case KindUnavailable:
		return "Unavailable"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is the error type CreateSession returns. Its text comes from fixed templates: it never contains the API
// key, a token, the request body or a response body, so it is safe for logs, events and conditions.
type Error struct {
	// Kind says how to react; see the Kind constants.
	Kind Kind
	// StatusCode is the HTTP status, or 0 if no response was received or the request was never sent.
	StatusCode int
	// RetryAfter is the wait the API (or the KeyLimiter) asked for; 0 if none was given.
	RetryAfter time.Duration
	// Message is a short reason such as "API key rejected".
	Message string

	cause error // for errors.Is (e.g. context.DeadlineExceeded); already reflected in Message
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("burner API: ")
	b.WriteString(e.Message)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the underlying transport or context error, if any.
func (e *Error) Unwrap() error { return e.cause }

// KindOf returns the Kind of err: KindNone for nil, KindUpstream for errors that are not (or do not wrap) an *Error.
func KindOf(err error) Kind {
	if err == nil {
		return KindNone
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind
	}
	return KindUpstream
}

// RetryAfter returns the wait requested by a rate-limited or held-back err, or 0.
func RetryAfter(err error) time.Duration {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.RetryAfter
	}
	return 0
}

// MaxRetryAfter caps the Retry-After the client honours. A bogus header must not park a key for hours, nor hold a
// session back past its token's expiry for long; 15 minutes is far longer than any real rate-limit window.
const MaxRetryAfter = 15 * time.Minute

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP-date relative to now. It returns 0 when the
// header is absent, unparsable or in the past.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if strings.Trim(h, "0123456789") == "" {
		secs, err := strconv.ParseInt(h, 10, 64)
		if err != nil || secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter // only digits, so err is ErrRange
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(h)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter)
}
