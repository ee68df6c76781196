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

package driver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/mount-utils"
	"k8s.io/utils/clock"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/csi/csitest"
	"github.com/burner-operator/burner-operator/internal/csi/storage"
	"github.com/burner-operator/burner-operator/internal/csi/volume"
	"github.com/burner-operator/burner-operator/internal/failure"
	"github.com/burner-operator/burner-operator/internal/mintapi"
)

const (
	audience      = mintapi.AudienceDefault
	podTokenValue = "eyJpod-sa-token-secret"
	wallet        = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"
)

type harness struct {
	node    csi.NodeClient
	socket  string
	mounter *mount.FakeMounter
	store   *storage.Store
	volumes *volume.Manager
	minter  *csitest.Minter
	logs    *csitest.Logs
}

// startDriver serves the driver on a unix socket under t.TempDir, minting with a fake minter of 5-minute tokens
// and mounting with a fake mounter. The logs, at every verbosity, are checked for tokens when the test ends.
func startDriver(t testing.TB) *harness {
	t.Helper()
	dir := t.TempDir()
	store, err := storage.New(filepath.Join(dir, "volumes"), clock.RealClock{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{socket: filepath.Join(dir, "csi.sock"), mounter: mount.NewFakeMounter(nil), store: store,
		minter: csitest.NewMinter(clock.RealClock{}, 5*time.Minute), logs: &csitest.Logs{}}
	log := h.logs.Logger()
	h.volumes = volume.New(volume.Config{Store: store, Minter: h.minter, NodeID: "node-a", Log: log})
	lis, err := Listen("unix://" + h.socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(Config{NodeID: "node-a", Manager: h.volumes, Store: store, Mounter: h.mounter,
		Audience: audience, Log: log}, "test")
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		h.volumes.Stop()
		h.logs.CheckNoTokens(t, podTokenValue)
	})
	h.node = csitest.DialNode(t, h.socket)
	return h
}

// publishRequest is what the kubelet sends for an inline volume of this driver, with volume context keys changed
// (or deleted, "<delete>") by pairs of changes.
func publishRequest(target string, changes ...string) *csi.NodePublishVolumeRequest {
	req := csitest.PublishRequest("csi-0123abcd", target,
		mintapi.PodRef{Namespace: "shop", Name: "app-0", UID: "uid-1", ServiceAccount: "app"},
		map[string]string{mintapi.AttributeIssuerKind: "ClusterBurnerIssuer", mintapi.AttributeIssuerName: "platform",
			mintapi.AttributeWalletAddress: wallet, mintapi.AttributeTTLSeconds: "120"},
		podTokenValue, time.Now().Add(time.Hour))
	for i := 0; i < len(changes); i += 2 {
		if changes[i+1] == "<delete>" {
			delete(req.VolumeContext, changes[i])
		} else {
			req.VolumeContext[changes[i]] = changes[i+1]
		}
	}
	return req
}

func TestPublishMountsTheFilesAndUnpublishRemovesThem(t *testing.T) {
	h := startDriver(t)
	ctx := context.Background()
	target := filepath.Join(t.TempDir(), "pods", "uid-1", "volumes", "burner", "mount")
	req := publishRequest(target)
	if _, err := h.node.NodePublishVolume(ctx, req); err != nil {
		t.Fatal(err)
	}
	tok, err := h.store.ReadToken("csi-0123abcd")
	if err != nil || tok.Value != csitest.TokenPrefix+"1" {
		t.Fatalf("volume files: %v, %v", tok, err)
	}
	call := h.minter.Calls()[0]
	if call.PodToken != podTokenValue || call.Request.Pod != (mintapi.PodRef{Namespace: "shop", Name: "app-0",
		UID: "uid-1", ServiceAccount: "app"}) || len(call.Request.Attributes) != 4 {
		t.Fatalf("mint call %+v", call)
	}
	mounts := h.mounter.GetLog()
	if len(mounts) != 1 || mounts[0].Source != h.store.DataDir("csi-0123abcd") || mounts[0].Target != target {
		t.Fatalf("mounts %+v", mounts)
	}
	if mps, _ := h.mounter.List(); len(mps) != 1 || strings.Join(mps[0].Opts, ",") != "bind,ro" {
		t.Fatalf("mount points %+v", mps)
	}

	// The kubelet publishes again (requiresRepublish) to hand over a fresh pod token: no mint, no second mount.
	if _, err := h.node.NodePublishVolume(ctx, req); err != nil {
		t.Fatal(err)
	}
	if h.minter.Count() != 1 || len(h.mounter.GetLog()) != 1 {
		t.Fatalf("republish minted %d times, mounted %v", h.minter.Count(), h.mounter.GetLog())
	}

	if _, err := h.node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "csi-0123abcd",
		TargetPath: target}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("target path left: %v", err)
	}
	if mps, _ := h.mounter.List(); len(mps) != 0 || h.volumes.Managed("csi-0123abcd") {
		t.Fatalf("mount points left %+v", mps)
	}
	if _, err := os.Stat(filepath.Dir(h.store.DataDir("csi-0123abcd"))); !os.IsNotExist(err) {
		t.Fatalf("volume files left: %v", err)
	}
}

// A refused or failed publish names the reason, in a message the pod's events show, with a fitting code; nothing is
// left behind, and no token appears in it.
func TestPublishFailures(t *testing.T) {
	for name, tc := range map[string]struct {
		req      func(target string) *csi.NodePublishVolumeRequest
		mintErr  error
		wantCode codes.Code
		wantMsg  string
	}{
		"policy denied": {
			mintErr: &failure.Error{Reason: burnerv1alpha1.ReasonPolicyDenied,
				Message: `namespace "shop" is not selected by the issuer's policy.namespaceSelector`},
			wantCode: codes.PermissionDenied, wantMsg: `PolicyDenied: namespace "shop" is not selected`,
		},
		"issuer URL not allowed": {
			mintErr: &failure.Error{Reason: burnerv1alpha1.ReasonURLNotAllowed,
				Message: "spec.url: the operator may not send API keys to https://evil.example"},
			wantCode: codes.PermissionDenied, wantMsg: "URLNotAllowed: spec.url: the operator may not send API keys",
		},
		"issuer not found": {
			mintErr:  &failure.Error{Reason: burnerv1alpha1.ReasonIssuerNotFound, Message: `ClusterBurnerIssuer "platform" not found`},
			wantCode: codes.NotFound, wantMsg: `IssuerNotFound: ClusterBurnerIssuer "platform" not found`,
		},
		"upstream error": {
			mintErr:  &failure.Error{Reason: burnerv1alpha1.ReasonUpstreamError, Message: "the API answered 503"},
			wantCode: codes.Unavailable, wantMsg: "UpstreamError: the API answered 503",
		},
		"manager unreachable": {
			mintErr:  &failure.Error{Reason: burnerv1alpha1.ReasonMintEndpointUnavailable, Message: "connection refused"},
			wantCode: codes.Unavailable, wantMsg: "MintEndpointUnavailable: connection refused",
		},
		"invalid attribute": {
			req: func(target string) *csi.NodePublishVolumeRequest {
				return publishRequest(target, mintapi.AttributeScopes, "wallet:read,wallet:read")
			},
			wantCode: codes.InvalidArgument, wantMsg: `InvalidSpec: csi.burner.aerosol.com/scopes: scope "wallet:read" is listed twice`,
		},
		"unknown attribute": {
			req: func(target string) *csi.NodePublishVolumeRequest {
				return publishRequest(target, mintapi.AttributePrefix+"ttl", "60")
			},
			wantCode: codes.InvalidArgument, wantMsg: `InvalidSpec: unknown volume attribute "csi.burner.aerosol.com/ttl"`,
		},
		"not read-only": {
			req: func(target string) *csi.NodePublishVolumeRequest {
				r := publishRequest(target)
				r.Readonly = false
				return r
			},
			wantCode: codes.InvalidArgument, wantMsg: "readOnly: true",
		},
		"not ephemeral": {
			req: func(target string) *csi.NodePublishVolumeRequest {
				return publishRequest(target, contextEphemeral, "<delete>")
			},
			wantCode: codes.InvalidArgument, wantMsg: "inline ephemeral volumes only",
		},
		"no pod info": {
			req: func(target string) *csi.NodePublishVolumeRequest {
				return publishRequest(target, contextPodUID, "<delete>")
			},
			wantCode: codes.InvalidArgument, wantMsg: "podInfoOnMount: true",
		},
		"no token for the audience": {
			req: func(target string) *csi.NodePublishVolumeRequest {
				r := publishRequest(target)
				r.Secrets[contextTokens] = `{"other":{"token":"` + podTokenValue + `"}}`
				return r
			},
			wantCode: codes.InvalidArgument, wantMsg: `tokenRequests with that audience`,
		},
		"tokens unreadable": {
			req: func(target string) *csi.NodePublishVolumeRequest {
				r := publishRequest(target)
				r.Secrets[contextTokens] = `{` + podTokenValue
				return r
			},
			wantCode: codes.InvalidArgument, wantMsg: "not readable JSON",
		},
		"no tokens in secrets or volume context": {
			req: func(target string) *csi.NodePublishVolumeRequest {
				r := publishRequest(target)
				r.Secrets = nil
				return r
			},
			wantCode: codes.InvalidArgument, wantMsg: `tokenRequests with that audience`,
		},
		"block volume": {
			req: func(target string) *csi.NodePublishVolumeRequest {
				r := publishRequest(target)
				r.VolumeCapability = &csi.VolumeCapability{AccessType: &csi.VolumeCapability_Block{
					Block: &csi.VolumeCapability_BlockVolume{}}}
				return r
			},
			wantCode: codes.InvalidArgument, wantMsg: "only filesystem (mount) volumes",
		},
		"volume ID that escapes the state dir": {
			req: func(target string) *csi.NodePublishVolumeRequest {
				r := publishRequest(target)
				r.VolumeId = "../../etc"
				return r
			},
			wantCode: codes.InvalidArgument, wantMsg: "cannot name a directory",
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := startDriver(t)
			h.minter.FailWith(tc.mintErr)
			target := filepath.Join(t.TempDir(), "mount")
			req := publishRequest(target)
			if tc.req != nil {
				req = tc.req(target)
			}
			_, err := h.node.NodePublishVolume(context.Background(), req)
			st, _ := status.FromError(err)
			if st.Code() != tc.wantCode || !strings.Contains(st.Message(), tc.wantMsg) {
				t.Fatalf("NodePublishVolume = %v, want %v with %q", err, tc.wantCode, tc.wantMsg)
			}
			if strings.Contains(st.Message(), podTokenValue) {
				t.Fatal("the pod token is in the error")
			}
			if states, _ := h.store.Load(); len(states) != 0 || len(h.mounter.GetLog()) != 0 ||
				h.volumes.Managed(req.GetVolumeId()) {
				t.Fatalf("left behind: states %v, mounts %v", states, h.mounter.GetLog())
			}
		})
	}
}

// tokensInVolumeContext moves the pod's tokens to where a kubelet without serviceAccountTokenInSecrets (or its
// feature gate) puts them.
func tokensInVolumeContext(req *csi.NodePublishVolumeRequest) *csi.NodePublishVolumeRequest {
	req.VolumeContext[contextTokens] = req.Secrets[contextTokens]
	req.Secrets = nil
	return req
}

// TestPodTokenReadFromSecretsField: with serviceAccountTokenInSecrets the kubelet passes the pod's tokens only in the
// request's secrets; the publish presents that token to the manager, and it wins over one in the volume context.
func TestPodTokenReadFromSecretsField(t *testing.T) {
	h := startDriver(t)
	req := publishRequest(filepath.Join(t.TempDir(), "mount"))
	if _, ok := req.VolumeContext[contextTokens]; ok {
		t.Fatal("the fake kubelet put the tokens in the volume context")
	}
	req.VolumeContext[contextTokens] = `{"` + audience + `":{"token":"stale-volume-context-token"}}`
	if _, err := h.node.NodePublishVolume(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if calls := h.minter.Calls(); len(calls) != 1 || calls[0].PodToken != podTokenValue {
		t.Fatalf("mint calls %+v, want one with the token from the secrets", calls)
	}
}

// TestPodTokenFallsBackToVolumeContext: a kubelet or apiserver without the CSIServiceAccountTokenSecrets gate passes
// the tokens in the volume context; the publish still works.
func TestPodTokenFallsBackToVolumeContext(t *testing.T) {
	h := startDriver(t)
	req := tokensInVolumeContext(publishRequest(filepath.Join(t.TempDir(), "mount")))
	if _, err := h.node.NodePublishVolume(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if calls := h.minter.Calls(); len(calls) != 1 || calls[0].PodToken != podTokenValue {
		t.Fatalf("mint calls %+v, want one with the token from the volume context", calls)
	}
}

// TestCallLogsStripThePodToken: wherever the kubelet passes the tokens, the logged request does not hold them.
func TestCallLogsStripThePodToken(t *testing.T) {
	for name, req := range map[string]*csi.NodePublishVolumeRequest{
		"secrets":        publishRequest("/target"),
		"volume context": tokensInVolumeContext(publishRequest("/target")),
	} {
		s := redact(req).String()
		if strings.Contains(s, podTokenValue) || !strings.Contains(s, "***stripped***") ||
			!strings.Contains(s, "app-0") {
			t.Fatalf("%s: redacted request: %s", name, s)
		}
	}
}
