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

// burner-csi is the node plugin of the csi.burner.aerosol.com CSI driver: it serves the CSI Identity and Node services
// on a unix socket for the kubelet, and keeps a fresh Burner token in each inline ephemeral volume by asking the
// manager's mint endpoint on the pod's behalf.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/burner-operator/burner-operator/internal/csi/driver"
	"github.com/burner-operator/burner-operator/internal/csi/report"
	"github.com/burner-operator/burner-operator/internal/csi/storage"
	"github.com/burner-operator/burner-operator/internal/csi/volume"
	"github.com/burner-operator/burner-operator/internal/mintapi"
)

// version is stamped by the build (-ldflags "-X main.version=...").
var version = "dev"

type options struct {
	endpoint, nodeID, stateDir, metricsAddr string
	registrationDir                         string
	mint                                    mintapi.ClientConfig
	audience                                string
	tmpfs, podEvents                        bool
}

func main() {
	var o options
	flag.StringVar(&o.endpoint, "endpoint", "unix:///csi/csi.sock", "The CSI socket the kubelet calls.")
	flag.StringVar(&o.registrationDir, "registration-dir", "/var/lib/kubelet/plugins_registry",
		"The kubelet's plugin registration directory, where the plugin registers itself (\"\": not at all, when a "+
			"node-driver-registrar does it).")
	flag.StringVar(&o.nodeID, "node-id", "", "This node's name (required; the DaemonSet passes spec.nodeName).")
	flag.StringVar(&o.mint.URL, "mint-url", "", "The manager's mint endpoint, https://HOST[:PORT] (required).")
	flag.StringVar(&o.mint.CAFile, "mint-ca-file", "",
		"PEM bundle the mint endpoint's certificate must chain to (required); read again when it changes.")
	flag.StringVar(&o.mint.ServerName, "mint-server-name", "",
		"Name the mint endpoint's certificate must carry, when --mint-url names the manager by IP address.")
	flag.DurationVar(&o.mint.Timeout, "mint-timeout", mintapi.DefaultTimeout, "Timeout of one call to the manager.")
	flag.StringVar(&o.audience, "audience", mintapi.AudienceDefault,
		"Audience of the pod ServiceAccount token to present (the CSIDriver's tokenRequests).")
	flag.StringVar(&o.stateDir, "state-dir", "/var/lib/kubelet/plugins/"+mintapi.DriverName+"/volumes",
		"Where the volumes' files and state are kept; under the kubelet's directory, so that they survive a restart "+
			"of this plugin.")
	flag.BoolVar(&o.tmpfs, "tmpfs", true,
		"Mount a tmpfs at --state-dir (unless one is there), so no token reaches a disk.")
	flag.BoolVar(&o.podEvents, "pod-events", true, "Record a Warning event on the pod when its token's refresh fails.")
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", "0", "Address of the /metrics endpoint (0 disables it).")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	log := zap.New(zap.UseFlagOptions(&zapOpts))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, o, log); err != nil {
		log.Error(err, "burner-csi stopped")
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, log logr.Logger) error {
	if o.nodeID == "" {
		return errors.New("--node-id is required")
	}
	minter, err := mintapi.NewClient(o.mint)
	if err != nil {
		return err
	}
	mounter := storage.NewSyscallMounter()
	if o.tmpfs {
		if err := storage.MountTmpfs(mounter, o.stateDir); err != nil {
			return fmt.Errorf("mounting a tmpfs at %s: %w", o.stateDir, err)
		}
	}
	store, err := storage.New(o.stateDir, clock.RealClock{})
	if err != nil {
		return err
	}
	events, err := podEvents(ctx, o.podEvents, o.nodeID, log.WithName("events"))
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	volumes := volume.New(volume.Config{Store: store, Minter: minter, Reporter: report.New(reg, events),
		NodeID: o.nodeID, Log: log.WithName("volume")})
	n, err := volumes.Resume()
	log.Info("Resumed the volumes kept on the node", "volumes", n, "errors", err)
	defer volumes.Stop()
	if o.metricsAddr != "0" {
		go serveMetrics(ctx, o.metricsAddr, reg, log)
	}

	lis, err := driver.Listen(o.endpoint)
	if err != nil {
		return err
	}
	srv := driver.NewServer(driver.Config{NodeID: o.nodeID, Manager: volumes, Store: store, Mounter: mounter,
		Audience: o.audience, Log: log.WithName("driver")}, version)
	go func() {
		<-ctx.Done()
		srv.GracefulStop()
	}()
	if o.registrationDir != "" {
		// Registered once the CSI socket listens: the kubelet dials it as soon as it has the answer.
		regLis, err := driver.Listen("unix://" + driver.RegistrationSocket(o.registrationDir))
		if err != nil {
			return err
		}
		reg := driver.NewRegistrationServer(&driver.Registration{
			Endpoint: strings.TrimPrefix(o.endpoint, "unix://"), Log: log.WithName("registration")})
		go func() { _ = reg.Serve(regLis) }()
		defer reg.Stop()
	}
	log.Info("Serving CSI", "driver", mintapi.DriverName, "version", version, "endpoint", o.endpoint, "node", o.nodeID)
	return srv.Serve(lis)
}

// podEvents records events through the apiserver with the plugin's ServiceAccount; nil when disabled.
func podEvents(ctx context.Context, enabled bool, nodeID string, log logr.Logger) (report.PodWarner, error) {
	if !enabled {
		return nil, nil
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("pod events need the in-cluster config (or --pod-events=false): %w", err)
	}
	events, err := report.NewPodEvents(cfg, "burner-csi", nodeID, log)
	if err != nil {
		return nil, err
	}
	go events.Run(ctx)
	return events, nil
}

func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry, log logr.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Error(err, "metrics endpoint stopped")
	}
}
