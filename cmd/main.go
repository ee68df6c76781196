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

// The burner-operator manager: keeps BurnerSession token Secrets valid.
package main

import (
	"crypto/tls"
	"flag"
	"os"
	"strings"

	// Import all Kubernetes client auth plugins (e.g. Azure, GCP, OIDC, etc.)
	// to ensure that exec-entrypoint and run can make use of them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"golang.org/x/time/rate"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/operator"
	"github.com/burner-operator/burner-operator/internal/policy"
)

func main() {
	var (
		o                                                operator.Options
		metricsAddr, probeAddr, pprofAddr                string
		metricsCertPath, metricsCertName, metricsCertKey string
		secureMetrics, enableHTTP2, leaderElect          bool
		leaderElectionNamespace, watchNamespaces         string
		allowedAPIURLs                                   string
		keyRate, keyRateCeiling                          float64
		kubeQPS                                          float64
		kubeBurst                                        int
	)
	flag.StringVar(&o.APIURL, "burner-api-url", burnerapi.DefaultBaseURL,
		"Base URL of the Burner API. Plain http:// is accepted only for loopback hosts.")
	flag.StringVar(&allowedAPIURLs, "allowed-api-urls", strings.Join(burnerapi.DefaultAllowedURLs, ","),
		"Comma-separated API base URLs an issuer's spec.url may name, so that its key is sent nowhere else: "+
			"scheme://host[:port][/path] (scheme, host and port exact; a path allows itself and below; a bare host "+
			"means https) or \"loopback\" (any loopback host and port). --burner-api-url is always allowed.")
	flag.DurationVar(&o.APITimeout, "burner-api-timeout", burnerapi.DefaultTimeout, "Timeout of one Burner API call.")
	flag.IntVar(&o.MaxInFlightPerHost, "burner-api-max-inflight-per-host", burnerapi.DefaultMaxInFlightPerHost,
		"Most Burner API calls in flight to one API host (an issuer's spec.url): calls over it wait for a later "+
			"reconcile instead of a worker, so a host that does not answer holds at most this many workers.")
	flag.Float64Var(&keyRate, "api-key-qps", float64(burnerapi.DefaultKeyRate),
		"Starting rate of Burner API calls per second per API key, shared by all sessions using it; the operator "+
			"raises it while calls succeed and cuts it on HTTP 429, up to --api-key-max-qps.")
	flag.Float64Var(&keyRateCeiling, "api-key-max-qps", float64(burnerapi.DefaultKeyRateCeiling),
		"Most Burner API calls per second per API key the operator may learn to make.")
	flag.IntVar(&o.KeyBurst, "api-key-burst", burnerapi.DefaultKeyBurst, "Burst of Burner API calls per API key.")
	flag.StringVar(&o.ClusterResourceNamespace, "cluster-resource-namespace", operator.PodNamespace(),
		"Namespace of the API key Secrets of ClusterBurnerIssuers; defaults to the namespace the operator runs in.")
	flag.StringVar(&watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces to manage BurnerSessions and BurnerIssuers in (empty: all). The operator then "+
			"reads and writes Secrets only there and in --cluster-resource-namespace, and needs Roles only there.")
	flag.IntVar(&o.Concurrency, "max-concurrent-reconciles", operator.DefaultConcurrency,
		"Number of BurnerSessions reconciled in parallel.")
	flag.DurationVar(&o.ForceRefreshInterval, "force-refresh-min-interval", policy.ForceRefreshMinInterval,
		"Least time from a session's last token to one a new force-refresh value asks for; a value set sooner is "+
			"answered then, with one token (0: no limit).")
	flag.Float64Var(&kubeQPS, "kube-api-qps", operator.DefaultKubeQPS, "QPS of the Kubernetes API client.")
	flag.IntVar(&kubeBurst, "kube-api-burst", operator.DefaultKubeBurst, "Burst of the Kubernetes API client.")
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "The address the metrics endpoint binds to. "+
		"Use :8443 for HTTPS or :8080 for HTTP, or leave as 0 to disable the metrics service.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "The address the probe endpoint binds to.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "The address of the pprof endpoint (0 disables it).")
	flag.BoolVar(&leaderElect, "leader-elect", false,
		"Enable leader election for controller manager. "+
			"Enabling this will ensure there is only one active controller manager.")
	flag.StringVar(&leaderElectionNamespace, "leader-election-namespace", "",
		"Namespace of the leader election Lease; defaults to the pod's namespace.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true,
		"If set, the metrics endpoint is served securely via HTTPS. Use --metrics-secure=false to use HTTP instead.")
	flag.StringVar(&metricsCertPath, "metrics-cert-path", "",
		"The directory that contains the metrics server certificate.")
	flag.StringVar(&metricsCertName, "metrics-cert-name", "tls.crt", "The name of the metrics server certificate file.")
	flag.StringVar(&metricsCertKey, "metrics-cert-key", "tls.key", "The name of the metrics server key file.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false, "If set, HTTP/2 will be enabled for the metrics server")
	zapOpts := zap.Options{}
	o.Mint.BindFlags(flag.CommandLine, operator.PodNamespace())
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	setupLog := ctrl.Log.WithName("setup")

	var tlsOpts []func(*tls.Config)
	if !enableHTTP2 {
		// HTTP/2 Stream Cancellation and Rapid Reset CVEs (GHSA-qppj-fm5r-hxr3, GHSA-4374-p667-p6c8).
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: metricsAddr, SecureServing: secureMetrics, TLSOpts: tlsOpts}
	if secureMetrics {
		// Only authenticated and authorized clients may read metrics (config/rbac/metrics_*).
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	if metricsCertPath != "" {
		metricsOpts.CertDir, metricsOpts.CertName, metricsOpts.KeyName = metricsCertPath, metricsCertName, metricsCertKey
	}
	o.KeyRate, o.KeyRateCeiling = rate.Limit(keyRate), rate.Limit(keyRateCeiling)
	o.AllowedAPIURLs = strings.Split(allowedAPIURLs, ",") // blank entries are skipped; "" allows --burner-api-url only
	for ns := range strings.SplitSeq(watchNamespaces, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			o.WatchNamespaces = append(o.WatchNamespaces, ns)
		}
	}
	o.Manager = ctrl.Options{
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  probeAddr,
		PprofBindAddress:        pprofAddr,
		LeaderElection:          leaderElect,
		LeaderElectionNamespace: leaderElectionNamespace,
	}

	cfg := ctrl.GetConfigOrDie()
	cfg.QPS, cfg.Burst = float32(kubeQPS), kubeBurst
	mgr, err := operator.New(cfg, o)
	if err != nil {
		setupLog.Error(err, "Failed to set up manager")
		os.Exit(1)
	}
	setupLog.Info("Starting manager", "burnerAPIURL", o.APIURL, "maxConcurrentReconciles", o.Concurrency)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		setupLog.Error(err, "Failed to run manager")
		os.Exit(1)
	}
}
