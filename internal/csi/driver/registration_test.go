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
	"testing"

	"github.com/go-logr/logr"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"

	"github.com/burner-operator/burner-operator/internal/mintapi"
)

// TestRegistersWithTheKubelet: asked as the kubelet's plugin watcher asks on the registration socket, the plugin
// names itself a CSI plugin of csi.burner.aerosol.com at its CSI socket.
func TestRegistersWithTheKubelet(t *testing.T) {
	dir := t.TempDir()
	socket := RegistrationSocket(dir)
	lis, err := Listen("unix://" + socket)
	if err != nil {
		t.Fatal(err)
	}
	csiSocket := filepath.Join(dir, "csi.sock")
	srv := NewRegistrationServer(&Registration{Endpoint: csiSocket, Log: logr.Discard()})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	kubelet := registerapi.NewRegistrationClient(conn)
	info, err := kubelet.GetInfo(context.Background(), &registerapi.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != registerapi.CSIPlugin || info.Name != mintapi.DriverName || info.Endpoint != csiSocket ||
		len(info.SupportedVersions) == 0 {
		t.Fatalf("GetInfo = %+v", info)
	}
	if _, err := kubelet.NotifyRegistrationStatus(context.Background(),
		&registerapi.RegistrationStatus{PluginRegistered: true}); err != nil {
		t.Fatal(err)
	}
}
