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

package mintapi

import (
	"fmt"
	"time"

	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/failure"
)

// Path is where the manager serves the mint endpoint.
const Path = "/v1alpha1/mint"

// AudienceDefault is the audience of the pod ServiceAccount tokens the kubelet hands the node plugin (the CSIDriver's
// tokenRequests) and the manager accepts: tokens for any other audience (the apiserver's own included) are refused.
const AudienceDefault = "burner.aerosol.com"

// Request is what the node plugin sends for one volume. The pod's ServiceAccount token travels in the Authorization
// header, never in the body.
type Request struct {
	Pod PodRef `json:"pod"`
	// VolumeID and NodeID name the volume and the node in the manager's logs; they grant nothing.
	VolumeID string `json:"volumeID"`
	NodeID   string `json:"nodeID"`
	// Attributes are the volume's attributes under AttributePrefix, as the pod spec declares them.
	Attributes map[string]string `json:"attributes"`
	// NeedBy is when the volume's current token expires (zero for a first mount): the per-key limiter serves the
	// tokens about to expire first.
	NeedBy time.Time `json:"needBy,omitzero"`
}

// PodRef is the pod a volume belongs to, as the kubelet tells the node plugin (podInfoOnMount). The manager believes
// none of it until the pod's token proves it.
type PodRef struct {
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	UID            string `json:"uid"`
	ServiceAccount string `json:"serviceAccount"`
}

// String is namespace/name, for logs.
func (p PodRef) String() string { return p.Namespace + "/" + p.Name }

// Token is a minted token. Its formatting methods redact Value, so printing a Token with any fmt verb cannot leak
// it; read the field explicitly where the token is needed.
type Token struct {
	Value     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// String describes t without its value.
func (t Token) String() string {
	return fmt.Sprintf("Token{Value:[redacted], ExpiresAt:%s}", t.ExpiresAt.Format(time.RFC3339))
}

// GoString makes %#v redact the value too.
func (t Token) GoString() string { return t.String() }

// Format makes every fmt verb print the redacted String.
func (t Token) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, t.String()) }

// FailureAnswer is the body of a refused or failed mint: a *failure.Error on the wire. Its Reason is a condition
// reason of api/v1alpha1 (PolicyDenied, IssuerNotFound, RateLimited, UpstreamError, ...) or one of this package's, and
// its Message comes from a fixed template (never a token, a key or an upstream body); the node plugin fails the mount
// with "Reason: Message", what the pod's events show.
type FailureAnswer struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// RetryAfterSeconds, when set, is the earliest time worth another attempt (the API's Retry-After).
	RetryAfterSeconds int `json:"retryAfterSeconds,omitempty"`
}

// NewFailureAnswer is f's answer; a RetryAfter is rounded up to the second.
func NewFailureAnswer(f *failure.Error) FailureAnswer {
	return FailureAnswer{Reason: f.Reason, Message: f.Message,
		RetryAfterSeconds: int((f.RetryAfter + time.Second - 1) / time.Second)}
}

// failure is the answer as the error it stands for, its message capped.
func (a FailureAnswer) failure() *failure.Error {
	return &failure.Error{Reason: a.Reason, Message: burnerapi.Truncate(a.Message),
		RetryAfter: time.Duration(max(a.RetryAfterSeconds, 0)) * time.Second}
}
