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
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	certutil "k8s.io/client-go/util/cert"

	"github.com/burner-operator/burner-operator/internal/mintapi"
	"github.com/burner-operator/burner-operator/internal/testenv"
)

// TestMintInFlightAtShutdownIsAnswered: when the manager stops, a pod's mint under way is answered before the
// server's Start returns (the manager waits for Start, the process exits after it), and no new request is taken.
func TestMintInFlightAtShutdownIsAnswered(t *testing.T) {
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey("127.0.0.1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	addr, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	s := &Server{Addr: addr, CertDir: dir, Log: logr.Discard(),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			close(started)
			<-release // the API call
			w.WriteHeader(http.StatusOK)
		})}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	returned := make(chan error, 1)
	go func() { returned <- s.Start(ctx) }()

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	url := "https://" + addr + mintapi.Path
	eventually(t, "the server listening", func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			_ = conn.Close()
		}
		return err == nil
	})
	answered := make(chan error, 1)
	go func() {
		resp, err := c.Post(url, "application/json", nil)
		if err == nil {
			_ = resp.Body.Close()
		}
		answered <- err
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the handler")
	}

	stop()
	select {
	case err := <-returned:
		t.Fatalf("Start returned (%v) with a mint still in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-answered; err != nil {
		t.Fatalf("the mint in flight was not answered: %v", err)
	}
	if err := <-returned; err != nil {
		t.Fatal(err)
	}
	if _, err := c.Post(url, "application/json", nil); err == nil {
		t.Fatal("a request after shutdown was served")
	}
}
