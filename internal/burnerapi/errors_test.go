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
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"5", 5 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"900", 15 * time.Minute},
		{"901", MaxRetryAfter},
		{"86401", MaxRetryAfter},
		{"99999999999999999999999", MaxRetryAfter},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{t0.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{t0.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second},
		{t0.Add(-time.Minute).Format(http.TimeFormat), 0},
		{t0.AddDate(0, 0, 3).Format(http.TimeFormat), MaxRetryAfter},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.header, t0); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestKindOfAndRetryAfter(t *testing.T) {
	limited := &Error{Kind: KindRateLimited, StatusCode: 429, RetryAfter: 3 * time.Second, Message: "rate limited"}
	tests := []struct {
		name      string
		err       error
		wantKind  Kind
		wantAfter time.Duration
	}{
		{"nil", nil, KindNone, 0},
		{"plain error", errors.New("boom"), KindUpstream, 0},
		{"context error", context.DeadlineExceeded, KindUpstream, 0},
		{"typed", limited, KindRateLimited, 3 * time.Second},
		{"wrapped", fmt.Errorf("minting: %w", limited), KindRateLimited, 3 * time.Second},
		{"unauthorized", &Error{Kind: KindUnauthorized}, KindUnauthorized, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.wantKind {
				t.Errorf("KindOf = %v, want %v", got, tt.wantKind)
			}
			if got := RetryAfter(tt.err); got != tt.wantAfter {
				t.Errorf("RetryAfter = %v, want %v", got, tt.wantAfter)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: KindRateLimited, StatusCode: 429, RetryAfter: 5 * time.Second, Message: "rate limited"},
			"burner API: rate limited (HTTP 429), retry after 5s"},
		{&Error{Kind: KindUnauthorized, StatusCode: 401, Message: "API key rejected"}, "burner API: API key rejected (HTTP 401)"},
		{&Error{Kind: KindUpstream, Message: "request timed out after 10s"}, "burner API: request timed out after 10s"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	for k, want := range map[Kind]string{KindNone: "None", KindInvalidRequest: "InvalidRequest", KindUnauthorized: "Unauthorized",
		KindRateLimited: "RateLimited", KindHeldBack: "HeldBack", KindUpstream: "Upstream", Kind(42): "Kind(42)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
