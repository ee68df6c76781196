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

// Package driver serves the CSI Identity and Node services of the node plugin, for inline ephemeral volumes only: a
// publish checks the request, mints the first token through the volume manager and bind-mounts the volume's files
// read-only at the pod's target path; an unpublish stops the refreshes and removes the mount and the files.
package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/mount-utils"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/csi/storage"
	"github.com/burner-operator/burner-operator/internal/csi/volume"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/mintapi"
)

// The volume context keys the kubelet sets (podInfoOnMount, tokenRequests, inline ephemeral volumes).
const (
	contextPodName        = "csi.storage.k8s.io/pod.name"
	contextPodNamespace   = "csi.storage.k8s.io/pod.namespace"
	contextPodUID         = "csi.storage.k8s.io/pod.uid"
	contextServiceAccount = "csi.storage.k8s.io/serviceAccount.name"
	contextEphemeral      = "csi.storage.k8s.io/ephemeral"
	// contextTokens holds the pod's ServiceAccount tokens, by audience: a secret, never logged (see redact). The
	// kubelet puts it in the request's secrets when the CSIDriver sets serviceAccountTokenInSecrets (Kubernetes
	// 1.35+, feature gate CSIServiceAccountTokenSecrets), else in the volume context.
	contextTokens = "csi.storage.k8s.io/serviceAccount.tokens"
)

// Config is what the Node service needs.
type Config struct {
	NodeID  string
	Manager *volume.Manager
	Store   *storage.Store
	Mounter mount.Interface
	// Audience is the audience of the pod token to present to the manager (the CSIDriver's tokenRequests).
	Audience string
	Log      logr.Logger
}

type nodeServer struct {
	csi.UnimplementedNodeServer
	cfg Config

	mu   sync.Mutex
	busy map[string]bool
}

func newNodeServer(cfg Config) *nodeServer { return &nodeServer{cfg: cfg, busy: map[string]bool{}} }

func (ns *nodeServer) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	id, target := req.GetVolumeId(), req.GetTargetPath()
	if err := checkTarget(id, target); err != nil {
		return nil, err
	}
	switch {
	case req.GetVolumeCapability() == nil:
		return nil, status.Error(codes.InvalidArgument, "volume capability is missing")
	case req.GetVolumeCapability().GetMount() == nil:
		return nil, status.Error(codes.InvalidArgument, "only filesystem (mount) volumes are supported")
	case req.GetVolumeContext()[contextEphemeral] != "true":
		return nil, status.Errorf(codes.InvalidArgument, "%s serves inline ephemeral volumes only", mintapi.DriverName)
	case !req.GetReadonly():
		return nil, status.Error(codes.InvalidArgument, "the volume must be mounted with readOnly: true")
	}
	if !ns.lock(id) {
		return nil, status.Errorf(codes.Aborted, "an operation on volume %s is in progress", id)
	}
	defer ns.unlock(id)

	st, err := ns.state(req)
	if err != nil {
		return nil, err
	}
	republish := ns.cfg.Manager.Managed(id)
	if err := ns.cfg.Manager.Publish(ctx, st); err != nil {
		return nil, failureStatus(err)
	}
	if err := ns.ensureMounted(id, target); err != nil {
		if !republish {
			_ = ns.cfg.Manager.Unpublish(id)
		}
		return nil, status.Errorf(codes.Internal, "mounting the volume at %s: %v", target, err)
	}
	if !republish {
		ns.cfg.Log.Info("Published a volume", "volume", id, "pod", st.Pod.String())
	}
	return &csi.NodePublishVolumeResponse{}, nil
}

// checkTarget checks what publish and unpublish both need: a volume ID that can name a directory, a target path.
func checkTarget(id, target string) error {
	switch {
	case id == "":
		return status.Error(codes.InvalidArgument, "volume ID is missing")
	case !storage.ValidVolumeID(id):
		return status.Errorf(codes.InvalidArgument, "volume ID %q cannot name a directory", id)
	case target == "":
		return status.Error(codes.InvalidArgument, "target path is missing")
	}
	return nil
}

// state reads the volume's State from the request, checking the attributes and the pod's identity and token.
func (ns *nodeServer) state(req *csi.NodePublishVolumeRequest) (storage.State, error) {
	vc := req.GetVolumeContext()
	attrs := mintapi.OwnAttributes(vc)
	if _, err := mintapi.ParseAttributes(attrs); err != nil {
		return storage.State{}, status.Error(codes.InvalidArgument, burnerv1alpha1.ReasonInvalidSpec+": "+err.Error())
	}
	pod := mintapi.PodRef{Namespace: vc[contextPodNamespace], Name: vc[contextPodName], UID: vc[contextPodUID],
		ServiceAccount: vc[contextServiceAccount]}
	if pod.Namespace == "" || pod.Name == "" || pod.UID == "" || pod.ServiceAccount == "" {
		return storage.State{}, status.Errorf(codes.InvalidArgument,
			"the pod's identity is missing from the volume context: the CSIDriver %s needs podInfoOnMount: true",
			mintapi.DriverName)
	}
	podToken, err := ns.podToken(podTokens(req))
	if err != nil {
		return storage.State{}, status.Error(codes.InvalidArgument, err.Error())
	}
	return storage.State{VolumeID: req.GetVolumeId(), TargetPath: req.GetTargetPath(), Pod: pod, Attributes: attrs,
		PodToken: podToken}, nil
}

// podTokens is the kubelet's JSON of the pod's ServiceAccount tokens: from the request's secrets, else (a kubelet or
// apiserver without the CSIServiceAccountTokenSecrets gate) from the volume context.
func podTokens(req *csi.NodePublishVolumeRequest) string {
	if raw := req.GetSecrets()[contextTokens]; raw != "" {
		return raw
	}
	return req.GetVolumeContext()[contextTokens]
}

// podToken picks the token for the manager's audience out of the kubelet's tokens. Errors never quote the input.
func (ns *nodeServer) podToken(raw string) (mintapi.Token, error) {
	missing := fmt.Errorf("no ServiceAccount token for audience %q in the publish request: the CSIDriver %s needs "+
		"tokenRequests with that audience", ns.cfg.Audience, mintapi.DriverName)
	if raw == "" {
		return mintapi.Token{}, missing
	}
	var tokens map[string]struct {
		Token               string    `json:"token"`
		ExpirationTimestamp time.Time `json:"expirationTimestamp"`
	}
	if err := json.Unmarshal([]byte(raw), &tokens); err != nil {
		return mintapi.Token{}, errors.New("the pod's ServiceAccount tokens are not readable JSON")
	}
	t, ok := tokens[ns.cfg.Audience]
	if !ok || t.Token == "" {
		return mintapi.Token{}, missing
	}
	return mintapi.Token{Value: t.Token, ExpiresAt: t.ExpirationTimestamp}, nil
}

// ensureMounted bind-mounts the volume's files read-only at target, unless they already are (a republish).
func (ns *nodeServer) ensureMounted(id, target string) error {
	mounted, err := ns.cfg.Mounter.IsMountPoint(target)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(target, 0o750); err != nil {
			return err
		}
		mounted, err = false, nil
	}
	if err != nil || mounted {
		return err
	}
	return ns.cfg.Mounter.Mount(ns.cfg.Store.DataDir(id), target, "", []string{"bind", "ro"})
}

func (ns *nodeServer) NodeUnpublishVolume(_ context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	id, target := req.GetVolumeId(), req.GetTargetPath()
	if err := checkTarget(id, target); err != nil {
		return nil, err
	}
	if !ns.lock(id) {
		return nil, status.Errorf(codes.Aborted, "an operation on volume %s is in progress", id)
	}
	defer ns.unlock(id)
	if err := mount.CleanupMountPoint(target, ns.cfg.Mounter, true); err != nil {
		return nil, status.Errorf(codes.Internal, "unmounting %s: %v", target, err)
	}
	if err := ns.cfg.Manager.Unpublish(id); err != nil {
		return nil, status.Errorf(codes.Internal, "removing the files of volume %s: %v", id, err)
	}
	ns.cfg.Log.Info("Unpublished a volume", "volume", id)
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

// NodeGetCapabilities: none; there is no staging, no stats, no expansion for a token volume.
func (ns *nodeServer) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	return &csi.NodeGetCapabilitiesResponse{}, nil
}

func (ns *nodeServer) NodeGetInfo(context.Context, *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	return &csi.NodeGetInfoResponse{NodeId: ns.cfg.NodeID}, nil
}

// lock marks the volume busy; false if it already was (the kubelet retries an Aborted call).
func (ns *nodeServer) lock(id string) bool {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.busy[id] {
		return false
	}
	ns.busy[id] = true
	return true
}

func (ns *nodeServer) unlock(id string) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	delete(ns.busy, id)
}

// failureCodes maps a failed mint's reason to the gRPC code of the failed publish; the message, which the pod's
// events show, starts with the reason. Reasons not listed are Unavailable: the kubelet retries every failure anyway.
var failureCodes = map[string]codes.Code{
	burnerv1alpha1.ReasonInvalidSpec:             codes.InvalidArgument,
	burnerv1alpha1.ReasonInvalidRequest:          codes.InvalidArgument,
	burnerv1alpha1.ReasonPolicyDenied:            codes.PermissionDenied,
	burnerv1alpha1.ReasonAPIKeySecretNotLabelled: codes.PermissionDenied,
	burnerv1alpha1.ReasonPodTokenRejected:        codes.PermissionDenied,
	burnerv1alpha1.ReasonVolumeNotDeclared:       codes.PermissionDenied,
	burnerv1alpha1.ReasonIssuerNotFound:          codes.NotFound,
	burnerv1alpha1.ReasonIssuerNotReady:          codes.FailedPrecondition,
	burnerv1alpha1.ReasonURLNotAllowed:           codes.PermissionDenied,
	burnerv1alpha1.ReasonRateLimited:             codes.ResourceExhausted,
	burnerv1alpha1.ReasonVolumeWriteFailed:       codes.Internal,
}

func failureStatus(err error) error {
	f, ok := failure.As(err)
	if !ok {
		return status.Error(codes.Internal, err.Error())
	}
	code, ok := failureCodes[f.Reason]
	if !ok {
		code = codes.Unavailable
	}
	return status.Error(code, f.Error())
}
