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

// Package mintserver is the manager's side of the mint endpoint: it proves who asks (a TokenReview of the pod's
// ServiceAccount token, which must be bound to the very pod the request names, and the pod's spec must declare the
// volume with exactly these attributes), then hands the request to the manager's mint path (a MintFunc) and answers
// with the token or the reason it was refused. A node can thus only get tokens for pods that run with a token the
// kubelet obtained for them, and only what those pods declare.
package mintserver

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/mintapi"
)

// MintFunc mints a token for a pod's volume, through the same path as a BurnerSession's (issuer resolution, policy
// with the pod's namespace, key read, per-key limiter, API call, answer checks). A refusal or a failed mint is a
// *failure.Error whose Reason is a condition reason of api/v1alpha1 and whose Message comes from a fixed template
// (PolicyDenied names the rule); any other error is internal: it is logged, and the node gets no detail of it.
type MintFunc func(ctx context.Context, req Request) (mintapi.Token, error)

// Request is a mint the pod proved it may ask for.
type Request struct {
	// Pod is the pod, as the TokenReview and the pod object confirm it.
	Pod mintapi.PodRef
	// VolumeID and NodeID are what the node plugin says, for logs only.
	VolumeID, NodeID string
	// NeedBy is when the volume's current token expires, zero for a first mount: the limiter's priority (mint's
	// Attempt.Call needBy). The node says it; at worst a node jumps its own pods' queue for its key.
	NeedBy time.Time
	// Spec is the volume's parsed attributes: a BurnerSession spec (Spec.SessionSpec) in Pod.Namespace.
	Spec mintapi.Spec
}

// The TokenReview's user extra of a token bound to a pod (the kubelet's tokenRequests tokens are).
const (
	extraPodName = "authentication.kubernetes.io/pod-name"
	extraPodUID  = "authentication.kubernetes.io/pod-uid"
)

// maxRequestBytes bounds a request body: a pod reference and five attributes.
const maxRequestBytes = 64 << 10

// Handler serves mintapi.Path.
type Handler struct {
	kube     kubernetes.Interface
	audience string
	mint     MintFunc
	log      logr.Logger
}

// NewHandler returns the handler. kube needs create on tokenreviews and get on pods; audience is the one the
// CSIDriver's tokenRequests ask for (mintapi.AudienceDefault).
func NewHandler(kube kubernetes.Interface, audience string, mint MintFunc, log logr.Logger) *Handler {
	return &Handler{kube: kube, audience: audience, mint: mint, log: log}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var req mintapi.Request
	// Unknown fields are ignored, not refused: a node plugin one release ahead of the manager still gets its tokens.
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes)).Decode(&req); err != nil {
		h.fail(w, req, &failure.Error{Reason: burnerv1alpha1.ReasonInvalidRequest, Message: "the request is not readable"})
		return
	}
	tok, err := h.serve(r.Context(), bearer(r.Header.Get("Authorization")), req)
	if err != nil {
		h.fail(w, req, err)
		return
	}
	h.log.V(1).Info("Minted a token for a pod's volume", "pod", req.Pod.String(), "volume", req.VolumeID,
		"node", req.NodeID, "expiresAt", tok.ExpiresAt)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(tok)
}

// serve authenticates, authorizes and mints.
func (h *Handler) serve(ctx context.Context, podToken string, req mintapi.Request) (mintapi.Token, error) {
	if err := h.authenticate(ctx, podToken, req.Pod); err != nil {
		return mintapi.Token{}, err
	}
	if err := h.declared(ctx, req); err != nil {
		return mintapi.Token{}, err
	}
	spec, err := mintapi.ParseAttributes(req.Attributes)
	if err != nil {
		return mintapi.Token{}, &failure.Error{Reason: burnerv1alpha1.ReasonInvalidSpec, Message: err.Error()}
	}
	return h.mint(ctx, Request{Pod: req.Pod, VolumeID: req.VolumeID, NodeID: req.NodeID, Spec: spec,
		NeedBy: req.NeedBy})
}

func rejected(format string, args ...any) *failure.Error {
	return failure.New(burnerv1alpha1.ReasonPodTokenRejected, format, args...)
}

// authenticate reviews podToken for the handler's audience and checks that it is the ServiceAccount token of pod.
func (h *Handler) authenticate(ctx context.Context, podToken string, pod mintapi.PodRef) error {
	if podToken == "" {
		return rejected("no pod ServiceAccount token in the Authorization header")
	}
	review, err := h.kube.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{
		Spec: authenticationv1.TokenReviewSpec{Token: podToken, Audiences: []string{h.audience}},
	}, metav1.CreateOptions{})
	if err != nil {
		h.log.Error(err, "TokenReview failed", "pod", pod.String())
		return &failure.Error{Reason: burnerv1alpha1.ReasonMintEndpointUnavailable,
			Message: "the manager could not review the pod's token; see the manager's log"}
	}
	st := review.Status
	switch {
	case !st.Authenticated:
		h.log.V(1).Info("Pod token refused by the TokenReview", "pod", pod.String(), "error", st.Error)
		return rejected("the pod's ServiceAccount token is not valid for audience %q (expired, revoked, "+
			"forged, or its pod is gone)", h.audience)
	case !slices.Contains(st.Audiences, h.audience):
		return rejected("the pod's ServiceAccount token is not for audience %q", h.audience)
	case st.User.Username != "system:serviceaccount:"+pod.Namespace+":"+pod.ServiceAccount:
		return rejected("the token is not of ServiceAccount %s/%s", pod.Namespace, pod.ServiceAccount)
	case single(st.User.Extra[extraPodName]) != pod.Name || single(st.User.Extra[extraPodUID]) != pod.UID:
		return rejected("the token is not bound to pod %s (uid %s)", pod.String(), pod.UID)
	}
	return nil
}

// declared checks that the pod exists with that UID and ServiceAccount and declares a volume of this driver with
// exactly the requested attributes, so a node holding a pod's token cannot ask for anything else in its name.
func (h *Handler) declared(ctx context.Context, req mintapi.Request) error {
	pod, err := h.kube.CoreV1().Pods(req.Pod.Namespace).Get(ctx, req.Pod.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return rejected("pod %s does not exist", req.Pod.String())
	case err != nil:
		h.log.Error(err, "Reading the pod failed", "pod", req.Pod.String())
		return &failure.Error{Reason: burnerv1alpha1.ReasonMintEndpointUnavailable,
			Message: "the manager could not read the pod; see the manager's log"}
	case string(pod.UID) != req.Pod.UID || pod.Spec.ServiceAccountName != req.Pod.ServiceAccount:
		return rejected("pod %s is not the pod the token is bound to", req.Pod.String())
	}
	for _, v := range pod.Spec.Volumes {
		if v.CSI != nil && v.CSI.Driver == mintapi.DriverName &&
			maps.Equal(mintapi.OwnAttributes(v.CSI.VolumeAttributes), req.Attributes) {
			return nil
		}
	}
	return &failure.Error{Reason: burnerv1alpha1.ReasonVolumeNotDeclared,
		Message: fmt.Sprintf("pod %s has no %s volume with these attributes", req.Pod.String(), mintapi.DriverName)}
}

// statuses maps a failure's reason to the HTTP status of the answer (for the manager's access logs and metrics;
// the node plugin reads the reason from the body). Reasons not listed are 502: the mint behind the endpoint failed.
var statuses = map[string]int{
	burnerv1alpha1.ReasonPodTokenRejected:        http.StatusUnauthorized,
	burnerv1alpha1.ReasonVolumeNotDeclared:       http.StatusForbidden,
	burnerv1alpha1.ReasonMintEndpointUnavailable: http.StatusServiceUnavailable,
	burnerv1alpha1.ReasonInvalidSpec:             http.StatusBadRequest,
	burnerv1alpha1.ReasonInvalidRequest:          http.StatusBadRequest,
	burnerv1alpha1.ReasonPolicyDenied:            http.StatusForbidden,
	burnerv1alpha1.ReasonAPIKeySecretNotLabelled: http.StatusForbidden,
	burnerv1alpha1.ReasonIssuerNotFound:          http.StatusNotFound,
	burnerv1alpha1.ReasonIssuerNotReady:          http.StatusConflict,
	burnerv1alpha1.ReasonURLNotAllowed:           http.StatusForbidden,
	burnerv1alpha1.ReasonRateLimited:             http.StatusTooManyRequests,
}

// fail answers err: a *failure.Error as it is, anything else as an internal failure without its text.
func (h *Handler) fail(w http.ResponseWriter, req mintapi.Request, err error) {
	f, ok := failure.As(err)
	if !ok {
		h.log.Error(err, "Minting for a pod's volume failed", "pod", req.Pod.String(), "volume", req.VolumeID)
		f = &failure.Error{Reason: burnerv1alpha1.ReasonMintEndpointUnavailable,
			Message: "the manager failed to mint; see the manager's log"}
	}
	h.log.V(1).Info("Refused a mint for a pod's volume", "pod", req.Pod.String(), "volume", req.VolumeID,
		"node", req.NodeID, "reason", f.Reason, "message", f.Message)
	code, known := statuses[f.Reason]
	if !known {
		code = http.StatusBadGateway
	}
	answer := mintapi.NewFailureAnswer(f)
	if answer.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(answer.RetryAfterSeconds))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(answer)
}

func bearer(header string) string {
	const prefix = "Bearer "
	if len(header) > len(prefix) && strings.EqualFold(header[:len(prefix)], prefix) {
		return strings.TrimSpace(header[len(prefix):])
	}
	return ""
}

// single is the value of a one-valued extra, "" for none or several.
func single(values authenticationv1.ExtraValue) string {
	if len(values) != 1 {
		return ""
	}
	return values[0]
}
