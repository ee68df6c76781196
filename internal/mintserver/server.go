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
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"

	"github.com/burner-operator/burner-operator/internal/mintapi"
)

// Server serves a Handler over TLS as a controller-runtime Runnable, with the serving certificate read from CertDir
// (tls.crt, tls.key) and reloaded when it changes there.
type Server struct {
	// Addr is the address to listen on, e.g. ":9443".
	Addr    string
	CertDir string
	Handler http.Handler
	// Ready, if set, is closed once the certificate files are in CertDir (AddCertRotator's channel); the server
	// listens only then.
	Ready <-chan struct{}
	Log   logr.Logger
}

// NeedLeaderElection is false: every replica answers, so the mint endpoint's Service may route to any of them.
func (s *Server) NeedLeaderElection() bool { return false }

// Start serves until ctx ends, then shuts down gracefully.
func (s *Server) Start(ctx context.Context) error {
	if s.Ready != nil {
		select {
		case <-s.Ready:
		case <-ctx.Done():
			return nil
		}
	}
	cw, err := certwatcher.New(filepath.Join(s.CertDir, "tls.crt"), filepath.Join(s.CertDir, "tls.key"))
	if err != nil {
		return err
	}
	go func() {
		if err := cw.Start(ctx); err != nil {
			s.Log.Error(err, "watching the mint endpoint's certificate failed")
		}
	}()
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(mintapi.Path, s.Handler)
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{GetCertificate: cw.GetCertificate, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	// Shutdown refuses new requests and waits for those in flight: a token being minted for a pod is answered (it
	// costs quota) before Start returns, and the manager waits for Start, up to its graceful shutdown timeout.
	shutDown := make(chan struct{})
	go func() {
		defer close(shutDown)
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	s.Log.Info("Serving the mint endpoint", "addr", ln.Addr().String(), "path", mintapi.Path)
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-shutDown
	return nil
}
