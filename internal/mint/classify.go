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

package mint

import (
	"errors"
	"fmt"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/failure"
)

// classify maps a client error to a failure. The error's own text is built by burnerapi from fixed templates that
// carry no secret; it is still not copied into conditions, only its kind and status code.
func classify(err error) *failure.Error {
	var apiErr *burnerapi.Error
	status := ""
	if errors.As(err, &apiErr) && apiErr.StatusCode != 0 {
		status = fmt.Sprintf(" (HTTP %d)", apiErr.StatusCode)
	}
	switch burnerapi.KindOf(err) {
	case burnerapi.KindInvalidRequest:
		return &failure.Error{Reason: burnerv1alpha1.ReasonInvalidRequest,
			Message: "the Burner API rejected the request" + status + "; fix the spec"}
	case burnerapi.KindUnauthorized:
		if status == "" {
			// Refused by the client before any call: the key cannot even be sent as a header.
			return &failure.Error{Reason: burnerv1alpha1.ReasonInvalidAPIKey,
				Message: "the API key is unusable (" + upstreamDetail(err) + "); fix the API key Secret"}
		}
		return &failure.Error{Reason: burnerv1alpha1.ReasonInvalidAPIKey,
			Message: "the Burner API rejected the API key" + status + "; update the API key Secret"}
	case burnerapi.KindRateLimited:
		return &failure.Error{Reason: burnerv1alpha1.ReasonRateLimited, RetryAfter: burnerapi.RetryAfter(err),
			Message: "rate limited by the Burner API" + status}
	case burnerapi.KindUnavailable:
		return &failure.Error{Reason: burnerv1alpha1.ReasonUpstreamError,
			Message: "the Burner API was not called: " + upstreamDetail(err)}
	default:
		return &failure.Error{Reason: burnerv1alpha1.ReasonUpstreamError,
			Message: "the Burner API call failed" + status + ": " + upstreamDetail(err)}
	}
}

// upstreamDetail is a short, secret-free description of a transport or response failure.
func upstreamDetail(err error) string {
	var apiErr *burnerapi.Error
	if errors.As(err, &apiErr) && apiErr.Message != "" {
		return apiErr.Message
	}
	return "unexpected error"
}
