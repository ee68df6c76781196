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
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/go-logr/logr"
	"github.com/kubernetes-csi/csi-lib-utils/protosanitizer"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// NewServer returns a gRPC server with the Identity and Node services registered and every call logged without
// secrets.
func NewServer(cfg Config, version string) *grpc.Server {
	srv := grpc.NewServer(grpc.UnaryInterceptor(logCalls(cfg.Log)))
	csi.RegisterIdentityServer(srv, identityServer{version: version})
	csi.RegisterNodeServer(srv, newNodeServer(cfg))
	return srv
}

// Listen listens on endpoint, a unix socket as unix:///path or /path, replacing a socket left by an earlier run.
func Listen(endpoint string) (net.Listener, error) {
	path := strings.TrimPrefix(endpoint, "unix://")
	if path == "" || !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("endpoint %q is not unix:///ABSOLUTE/PATH", endpoint)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing the old socket: %w", err)
	}
	return net.Listen("unix", path)
}

// logCalls logs each call at V(4) and each failure at V(0), with the request stripped of secrets.
func logCalls(log logr.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		log.V(4).Info("CSI call", "method", info.FullMethod, "request", redact(req))
		resp, err := handler(ctx, req)
		if err != nil {
			log.Info("CSI call failed", "method", info.FullMethod, "request", redact(req), "error", err.Error())
		}
		return resp, err
	}
}

// redact strips what protosanitizer strips (fields marked csi_secret, among them the request's secrets) and the pod's
// ServiceAccount tokens when the kubelet passes them in the volume context, a field the CSI spec does not mark secret.
func redact(req any) fmt.Stringer {
	if pub, ok := req.(*csi.NodePublishVolumeRequest); ok && pub.GetVolumeContext()[contextTokens] != "" {
		c := proto.Clone(pub).(*csi.NodePublishVolumeRequest)
		c.VolumeContext[contextTokens] = "***stripped***"
		req = c
	}
	return protosanitizer.StripSecrets(req)
}
