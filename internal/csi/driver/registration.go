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
	"path/filepath"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	"github.com/burner-operator/burner-operator/internal/mintapi"
)

// Registration answers the kubelet's plugin watcher, which finds the socket RegistrationSocket names in its
// plugins_registry directory and asks who is there: the plugin registers itself, with no node-driver-registrar
// sidecar (one image fewer to pull and keep patched).
type Registration struct {
	registerapi.UnimplementedRegistrationServer
	// Endpoint is the CSI socket's path as the kubelet sees it.
	Endpoint string
	Log      logr.Logger
}

// RegistrationSocket is the registration socket's path in the kubelet's plugins_registry directory.
func RegistrationSocket(registrationDir string) string {
	return filepath.Join(registrationDir, mintapi.DriverName+"-reg.sock")
}

// NewRegistrationServer is a gRPC server of r.
func NewRegistrationServer(r *Registration) *grpc.Server {
	srv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(srv, r)
	return srv
}

// GetInfo names the driver and its CSI socket.
func (r *Registration) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{Type: registerapi.CSIPlugin, Name: mintapi.DriverName, Endpoint: r.Endpoint,
		SupportedVersions: []string{"1.0.0"}}, nil
}

// NotifyRegistrationStatus logs the kubelet's verdict; a refusal leaves the node without the driver, which the
// pods' events show, so it is logged as an error.
func (r *Registration) NotifyRegistrationStatus(
	_ context.Context, st *registerapi.RegistrationStatus,
) (*registerapi.RegistrationStatusResponse, error) {
	if st.PluginRegistered {
		r.Log.Info("Registered with the kubelet", "driver", mintapi.DriverName)
	} else {
		r.Log.Error(nil, "The kubelet refused the registration", "error", st.Error)
	}
	return &registerapi.RegistrationStatusResponse{}, nil
}
