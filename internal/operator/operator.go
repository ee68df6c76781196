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

// Package operator assembles the manager: scheme, scoped cache, Burner API client and the BurnerSession
// controller. cmd/main.go, the tests and the benchmark all build the manager through it, so they run the same
// wiring.
package operator

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	internalcontroller "github.com/burner-operator/burner-operator/internal/controller"
	"github.com/burner-operator/burner-operator/internal/mintserver"
	"github.com/burner-operator/burner-operator/internal/secrets"
)

// Defaults, chosen from the benchmark (BENCHMARKS.md): each issue costs one API call and two apiserver writes, so
// the controller needs enough workers to hide the API's latency and enough client QPS for the writes.
const (
	DefaultConcurrency = 128
	DefaultKubeQPS     = 500
	DefaultKubeBurst   = 1000
	LeaderElectionID   = "burner-operator.burner.aerosol.com"
	// GracefulShutdownTimeout is how long the manager waits for its reconciles to end when it stops: a mint under
	// way is finished and written meanwhile (the controller bounds that work to fit). The pod's termination grace
	// period (45 s in the manifests and the chart) covers it.
	GracefulShutdownTimeout = 30 * time.Second
)

// Options configure the manager. Manager holds the controller-runtime options (metrics, probes, leader election);
// the rest configure the controller and the API client.
type Options struct {
	Manager ctrl.Options
	APIURL  string
	// AllowedAPIURLs are the entries (burnerapi.ParseAllowedURLs) of the API URLs issuers may send keys to, besides
	// APIURL; nil: burnerapi.DefaultAllowedURLs.
	AllowedAPIURLs []string
	APITimeout     time.Duration
	// MaxInFlightPerHost bounds the API calls in flight to one host (0: burnerapi.DefaultMaxInFlightPerHost).
	MaxInFlightPerHost int
	// KeyRate is the per-key limiter's starting rate (it learns the upstream's from there), KeyRateCeiling the most
	// it may learn (0: burnerapi.DefaultKeyRateCeiling).
	KeyRate        rate.Limit
	KeyBurst       int
	KeyRateCeiling rate.Limit
	Concurrency    int
	// ClusterResourceNamespace holds the key Secrets of ClusterBurnerIssuers.
	ClusterResourceNamespace string
	// WatchNamespaces limits the operator to these namespaces (empty: all); the cluster resource namespace is
	// watched too.
	WatchNamespaces []string
	// Clock drives every time decision; nil means the real clock.
	Clock clock.Clock
	// ForceRefreshInterval is the least time from a session's last token to one a force-refresh asks for (0: none;
	// the binary's default is policy.ForceRefreshMinInterval).
	ForceRefreshInterval time.Duration
	// HTTPClient, if set, is used for API calls (tests route it to the simulator).
	HTTPClient *http.Client
	// Mint configures the mint endpoint of the CSI node plugins (served only when enabled).
	Mint mintserver.Options
}

// keyLimiterMetrics and upstreamMetrics export the per-key limiter and the API client's hosts of the manager built
// last (one per process outside tests).
var keyLimiterMetrics, upstreamMetrics = &currentCollector{}, &currentCollector{}

func init() { metrics.Registry.MustRegister(keyLimiterMetrics, upstreamMetrics) }

// currentCollector collects from the collector stored last. It describes nothing (an unchecked collector), so that
// what it points to may change.
type currentCollector struct {
	atomic.Pointer[prometheus.Collector]
}

func (c *currentCollector) Store(col prometheus.Collector) { c.Pointer.Store(&col) }

func (c *currentCollector) Describe(chan<- *prometheus.Desc) {}

func (c *currentCollector) Collect(ch chan<- prometheus.Metric) {
	if col := c.Load(); col != nil {
		(*col).Collect(ch)
	}
}

// PodNamespace is the namespace the operator runs in: POD_NAMESPACE (set from the downward API in the manifests),
// else the service account's namespace, else burner-system (out of a cluster, e.g. `make run`).
func PodNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if ns, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		return strings.TrimSpace(string(ns))
	}
	return "burner-system"
}

// NewScheme returns a scheme with the Kubernetes built-in types and BurnerSession.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(burnerv1alpha1.AddToScheme(s))
	return s
}

// New builds a manager running the BurnerSession controller against cfg.
func New(cfg *rest.Config, o Options) (ctrl.Manager, error) {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	var limiterOpts []burnerapi.LimiterOption
	if o.KeyRateCeiling > 0 {
		limiterOpts = append(limiterOpts, burnerapi.WithRateCeiling(o.KeyRateCeiling))
	}
	// Held-back sessions are requeued on the workqueue's real clock, so the limiter keeps real time too, whatever
	// clock decisions are made with.
	limiter := burnerapi.NewKeyLimiter(o.KeyRate, o.KeyBurst, clock.RealClock{}, limiterOpts...)
	log := o.Manager.Logger
	if log.GetSink() == nil {
		log = ctrl.Log.WithName("setup")
	}
	apiOpts := []burnerapi.Option{burnerapi.WithClock(o.Clock), burnerapi.WithLimiter(limiter)}
	if o.APITimeout > 0 {
		apiOpts = append(apiOpts, burnerapi.WithTimeout(o.APITimeout))
	}
	if o.HTTPClient != nil {
		apiOpts = append(apiOpts, burnerapi.WithHTTPClient(o.HTTPClient))
	}
	if o.MaxInFlightPerHost > 0 {
		apiOpts = append(apiOpts, burnerapi.WithMaxInFlightPerHost(o.MaxInFlightPerHost))
	}
	api, err := burnerapi.New(o.APIURL, apiOpts...)
	if err != nil {
		return nil, fmt.Errorf("--burner-api-url: %w", err)
	}
	upstreamMetrics.Store(api.Collector())
	if o.AllowedAPIURLs == nil {
		o.AllowedAPIURLs = burnerapi.DefaultAllowedURLs
	}
	allowed, err := burnerapi.ParseAllowedURLs(append(slices.Clone(o.AllowedAPIURLs), o.APIURL)...)
	if err != nil {
		return nil, fmt.Errorf("--allowed-api-urls: %w", err)
	}

	mo := o.Manager
	if mo.Scheme == nil {
		mo.Scheme = NewScheme()
	}
	namespaces := o.WatchNamespaces
	if len(namespaces) > 0 && !slices.Contains(namespaces, o.ClusterResourceNamespace) {
		namespaces = append(slices.Clone(namespaces), o.ClusterResourceNamespace)
	}
	mo.Cache = secrets.CacheOptions(namespaces)
	if mo.LeaderElectionID == "" {
		mo.LeaderElectionID = LeaderElectionID
	}
	// Stepping down on shutdown lets a new leader take over at once; the binary exits right after the manager.
	mo.LeaderElectionReleaseOnCancel = true
	if mo.GracefulShutdownTimeout == nil {
		mo.GracefulShutdownTimeout = new(GracefulShutdownTimeout)
	}
	mgr, err := ctrl.NewManager(cfg, mo)
	if err != nil {
		return nil, err
	}
	keyLimiterMetrics.Store(limiter.Collector(installKeyIDs(mgr, o.ClusterResourceNamespace, log)))

	minter, err := internalcontroller.Setup(mgr, api, internalcontroller.SetupOptions{
		ClusterResourceNamespace: o.ClusterResourceNamespace, AllowedURLs: allowed,
		Recorder: mgr.GetEventRecorder("burner-operator"), Clock: o.Clock,
		Controller: controller.Options{MaxConcurrentReconciles: o.Concurrency},
		Namespaces: namespaces, Limiter: limiter, ForceRefreshInterval: o.ForceRefreshInterval,
	})
	if err != nil {
		return nil, err
	}
	if o.Mint.Enabled() {
		// The pods' volumes mint through the sessions' path: one limiter per key, one policy, one set of metrics.
		if err := mintserver.Add(mgr, o.Mint, mintserver.FromMinter(minter)); err != nil {
			return nil, err
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	// Ready once the caches have synced: before that the controller would decide on a partial view.
	if err := mgr.AddReadyzCheck("cache-sync", func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return fmt.Errorf("caches not synced")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return mgr, nil
}
