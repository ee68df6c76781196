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

package mintserver

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/burner-operator/burner-operator/internal/mintapi"
	"github.com/burner-operator/burner-operator/internal/testenv"
)

// The whole TLS chain the manifests set up, from the manager's flags: cert-controller creates the CA and serving certificate in the Secret,
// the (here simulated) kubelet mounts it in the manager, the server serves with it, the CA alone is published to a
// ConfigMap, and the node plugin's client verifies the server against that CA by the Service's DNS name.
func TestServerWithRotatedCertificateAndPublishedCA(t *testing.T) {
	ctx := t.Context()
	ns := env.Namespace(t)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "mint-cert"}}
	if err := env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{Scheme: scheme,
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	certDir := t.TempDir()
	dnsName := "burner-operator-mint." + ns + ".svc"
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	var o Options
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	o.BindFlags(fs, ns)
	if err := fs.Parse([]string{"--mint-bind-address=" + addr, "--mint-cert-dir=" + certDir,
		"--mint-cert-secret=mint-cert", "--mint-ca-configmap=mint-ca", "--mint-dns-name=" + dnsName}); err != nil {
		t.Fatal(err)
	}
	e := newEndpoint(t)
	if !o.Enabled() || o.Audience != mintapi.AudienceDefault {
		t.Fatalf("options %+v", o)
	}
	if err := Add(mgr, o, e.mint); err != nil {
		t.Fatal(err)
	}
	go func() { _ = mgr.Start(ctx) }()

	// The kubelet's part: copy the Secret's files into the mounted directory once cert-controller filled it.
	eventually(t, "the serving certificate in the Secret", func() bool {
		return env.Client.Get(ctx, keyOf(ns, "mint-cert"), secret) == nil && len(secret.Data["tls.key"]) > 0
	})
	for _, name := range []string{"tls.crt", "tls.key"} {
		if err := os.WriteFile(filepath.Join(certDir, name), secret.Data[name], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var cm corev1.ConfigMap
	eventually(t, "the CA ConfigMap", func() bool {
		return env.Client.Get(ctx, keyOf(ns, "mint-ca"), &cm) == nil && cm.Data[CAKey] != ""
	})
	if string(secret.Data[CAKey]) != cm.Data[CAKey] || len(cm.Data) != 1 || len(cm.BinaryData) != 0 {
		t.Fatalf("the ConfigMap holds %v, want the CA certificate alone", cm.Data)
	}
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, []byte(cm.Data[CAKey]), 0o600); err != nil {
		t.Fatal(err)
	}
	client, err := mintapi.NewClient(mintapi.ClientConfig{URL: "https://" + addr, CAFile: caFile, ServerName: dnsName})
	if err != nil {
		t.Fatal(err)
	}
	p := pod(t, ns, "app-0", volumeAttributes)
	podToken := env.BoundToken(t, p, mintapi.AudienceDefault)
	eventually(t, "a token over verified TLS", func() bool {
		_, err := client.Mint(ctx, request(p, volumeAttributes), podToken)
		return err == nil
	})

	wrongName, err := mintapi.NewClient(mintapi.ClientConfig{URL: "https://" + addr, CAFile: caFile,
		ServerName: "evil.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrongName.Mint(ctx, request(p, volumeAttributes), podToken); err == nil {
		t.Fatal("the certificate was accepted for a name it does not carry")
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
