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

// Package failure is the error of the mint path that users see: a condition reason (api/v1alpha1's Reason*
// constants, which users alert on) and a message from a fixed template, never from a response body, an API key or a
// token. A session shows it on its conditions and events; a CSI mount fails with it.
package failure

import (
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Error is why no token could be had.
type Error struct {
	Reason  string
	Message string
	// RetryAfter is the server's wait, when it gave one.
	RetryAfter time.Duration
}

// New is a failure with a message made from format, which must carry no secret.
func New(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return e.Reason + ": " + e.Message }

// As returns the failure err is or wraps.
func As(err error) (*Error, bool) {
	var f *Error
	ok := errors.As(err, &f)
	return f, ok
}

// StatusReason names an apiserver error without its message, which may quote an admission webhook's text.
func StatusReason(err error) string {
	if reason := apierrors.ReasonForError(err); reason != metav1.StatusReasonUnknown {
		return string(reason)
	}
	return "request failed"
}
