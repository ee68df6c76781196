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

package controller

import (
	"context"
	"maps"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnerapi"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/issuer"
	"github.com/burner-operator/burner-operator/internal/metrics"
	"github.com/burner-operator/burner-operator/internal/mint"
	"github.com/burner-operator/burner-operator/internal/secrets"
	"github.com/burner-operator/burner-operator/internal/testenv"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

const (
	// clusterResourceNamespace holds ClusterBurnerIssuers' key Secrets in these tests.
	clusterResourceNamespace = "burner-system"
	wallet                   = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"
	wallet2                  = "11111111111111111111111111111111"
	apiKey                   = "ak_test_7f3c9e1d5b"
)

// fixture is one test's namespace, fake clock and simulator, with a reconciler that tests drive by calling
// Reconcile directly (so time only moves when the test says).
type fixture struct {
	t      *testing.T
	ctx    context.Context
	ns     string
	clock  *clocktesting.FakeClock
	sim    *burnersim.Server
	apiURL string
	events *events.FakeRecorder
	r      *BurnerSessionReconciler
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		t: t, ctx: context.Background(), ns: env.Namespace(t),
		clock: clocktesting.NewFakeClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)),
	}
	f.sim = burnersim.New(burnersim.WithClock(f.clock), burnersim.WithKeys(apiKey))
	url, err := f.sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.sim.Close)
	f.apiURL = url
	f.r = f.newReconciler()
	f.createKey("burner-api-key", apiKey)
	return f
}

// newReconciler is a reconciler with nothing in memory, as after a restart.
func (f *fixture) newReconciler() *BurnerSessionReconciler {
	api, err := burnerapi.New(f.apiURL, burnerapi.WithClock(f.clock),
		burnerapi.WithLimiter(burnerapi.NewKeyLimiter(1000, 1000, clock.RealClock{})))
	if err != nil {
		f.t.Fatal(err)
	}
	f.events = events.NewFakeRecorder(100)
	reader := secrets.NewReader(env.Client, env.Client, env.Client, f.clock)
	return &BurnerSessionReconciler{
		Client: cachedView{Client: env.Client}, APIReader: env.Client, Scheme: env.Client.Scheme(), Recorder: f.events, Clock: f.clock,
		Minter: &mint.Minter{Issuers: f.issuers(), Secrets: reader, API: api, Clock: f.clock}, Secrets: reader,
	}
}

// cachedView reads Secrets and sessions as the manager's cache holds them: only Secrets with the managed-by label,
// reduced by the cache's transforms (a token Secret compacted). Decisions are thus tested on what the manager
// keeps, and writes on what it must read afresh.
type cachedView struct{ client.Client }

func (c cachedView) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if err := c.Client.Get(ctx, key, obj, opts...); err != nil {
		return err
	}
	for prototype, by := range secrets.CacheOptions(nil).ByObject {
		if reflect.TypeOf(prototype) != reflect.TypeOf(obj) {
			continue
		}
		if by.Label != nil && !by.Label.Matches(k8slabels.Set(obj.GetLabels())) {
			return apierrors.NewNotFound(corev1.Resource("secrets"), key.Name)
		}
		_, err := by.Transform(obj)
		return err
	}
	return nil
}

// issuers resolves issuers as the manager does, with this test's cluster resource namespace.
func (f *fixture) issuers() issuer.Resolver {
	return issuer.Resolver{Reader: env.Client, ClusterResourceNamespace: clusterResourceNamespace}
}

func (f *fixture) createKey(name, value string) *corev1.Secret {
	f.t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name,
			Labels: map[string]string{burnerv1alpha1.APIKeyLabel: "true"}},
		Data: map[string][]byte{burnerv1alpha1.DefaultAPIKeySecretKey: []byte(value)},
	}
	if err := env.Client.Create(f.ctx, s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

// createSession creates a session (ttl 300 s unless edit changes it) and returns it as stored, with defaults.
func (f *fixture) createSession(name string, edit func(*burnerv1alpha1.BurnerSession)) *burnerv1alpha1.BurnerSession {
	f.t.Helper()
	bs := &burnerv1alpha1.BurnerSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
		Spec: burnerv1alpha1.BurnerSessionSpec{
			WalletAddress:   wallet,
			APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: "burner-api-key"},
		},
	}
	if edit != nil {
		edit(bs)
	}
	if err := env.Client.Create(f.ctx, bs); err != nil {
		f.t.Fatal(err)
	}
	return bs
}

func (f *fixture) reconcile(name string) ctrl.Result {
	f.t.Helper()
	res, err := f.r.Reconcile(f.ctx, ctrl.Request{NamespacedName: client.ObjectKey{Namespace: f.ns, Name: name}})
	if err != nil {
		f.t.Fatalf("reconcile %s: %v", name, err)
	}
	return res
}

func (f *fixture) session(name string) *burnerv1alpha1.BurnerSession {
	f.t.Helper()
	bs := &burnerv1alpha1.BurnerSession{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, bs); err != nil {
		f.t.Fatal(err)
	}
	return bs
}

// secret returns the named Secret, or nil if it does not exist.
func (f *fixture) secret(name string) *corev1.Secret {
	f.t.Helper()
	s := &corev1.Secret{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, s); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil
		}
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) token(name string) string {
	f.t.Helper()
	s := f.secret(name)
	if s == nil {
		f.t.Fatalf("Secret %s missing", name)
	}
	return string(s.Data[tokensecret.KeyToken])
}

// update edits the latest version of the session.
func (f *fixture) update(name string, edit func(*burnerv1alpha1.BurnerSession)) {
	f.t.Helper()
	bs := f.session(name)
	edit(bs)
	if err := env.Client.Update(f.ctx, bs); err != nil {
		f.t.Fatal(err)
	}
}

// wantMints checks how many tokens the simulator has minted in this test.
func (f *fixture) wantMints(n int) {
	f.t.Helper()
	if got := f.sim.TotalMints(); got != n {
		f.t.Fatalf("simulator minted %d tokens, want %d", got, n)
	}
}

// wantCondition checks a condition's status and reason.
func (f *fixture) wantCondition(name, condType string, status metav1.ConditionStatus, reason string) {
	f.t.Helper()
	c := meta.FindStatusCondition(f.session(name).Status.Conditions, condType)
	if c == nil || c.Status != status || c.Reason != reason {
		f.t.Fatalf("condition %s = %+v, want %s/%s", condType, c, status, reason)
	}
}

// wantNoEvents checks that nothing was recorded since the reconciler was made (or the last wantEvent): routine
// issues and refreshes are not events.
func (f *fixture) wantNoEvents() {
	f.t.Helper()
	select {
	case e := <-f.events.Events:
		f.t.Fatalf("unexpected event %q", e)
	default:
	}
}

// wantEvent checks that an event with that reason was recorded since the reconciler was made.
func (f *fixture) wantEvent(reason string) {
	f.t.Helper()
	for {
		select {
		case e := <-f.events.Events:
			if strings.Contains(e, " "+reason+" ") {
				return
			}
		default:
			f.t.Fatalf("no %s event recorded", reason)
		}
	}
}

// sessionSeries gathers the per-session series of one session, as the leader's metrics endpoint exports them.
func (f *fixture) sessionSeries(name string) map[string]float64 {
	f.t.Helper()
	elected := make(chan struct{})
	close(elected)
	c := &metrics.SessionCollector{}
	c.Use(env.Client, elected)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]float64{}
	for _, family := range families {
		for _, m := range family.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == f.ns && labels["name"] == name {
				out[family.GetName()] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

func (f *fixture) condition(name, condType string) *metav1.Condition {
	f.t.Helper()
	return meta.FindStatusCondition(f.session(name).Status.Conditions, condType)
}

// platformKey creates, once per test, the cluster resource namespace and a labelled key Secret in it, named after
// the test's namespace so tests sharing the control plane do not collide; it returns the Secret's name.
func (f *fixture) platformKey(value string) string {
	f.t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: clusterResourceNamespace}}
	if err := env.Client.Create(f.ctx, ns); client.IgnoreAlreadyExists(err) != nil {
		f.t.Fatal(err)
	}
	name := "key-" + f.ns
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: clusterResourceNamespace, Name: name,
			Labels: map[string]string{burnerv1alpha1.APIKeyLabel: "true"}},
		Data: map[string][]byte{burnerv1alpha1.DefaultAPIKeySecretKey: []byte(value)},
	}
	if err := env.Client.Create(f.ctx, s); err != nil {
		f.t.Fatal(err)
	}
	return name
}

// clusterIssuer creates a ClusterBurnerIssuer named after the test's namespace, with the platform key, checks it,
// and returns its name.
func (f *fixture) clusterIssuer(policy *burnerv1alpha1.IssuerPolicy) string {
	f.t.Helper()
	ci := &burnerv1alpha1.ClusterBurnerIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: "platform-" + f.ns},
		Spec: burnerv1alpha1.BurnerIssuerSpec{
			APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: f.platformKey(apiKey)},
			Policy:          policy,
		},
	}
	if err := env.Client.Create(f.ctx, ci); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = env.Client.Delete(context.Background(), ci) })
	f.checkIssuer(burnerv1alpha1.ClusterBurnerIssuerKind, client.ObjectKeyFromObject(ci))
	return ci.Name
}

// checkIssuer runs the issuer reconciler of that kind once (with a limiter that reports the given rates, if any).
func (f *fixture) checkIssuer(kind string, key client.ObjectKey, limiter ...RateReporter) ctrl.Result {
	f.t.Helper()
	ir := &IssuerReconciler{Client: env.Client, Recorder: f.events, Kind: kind, Keys: f.issuers(),
		Secrets: f.r.Secrets}
	if len(limiter) > 0 {
		// Capacity lists the issuer's sessions through a field index, which only a cache serves.
		ir.Limiter, ir.Client = limiter[0], f.cachedClient()
	}
	res, err := ir.Reconcile(f.ctx, ctrl.Request{NamespacedName: key})
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// useIssuer makes a session reference a ClusterBurnerIssuer instead of its own key Secret.
func useIssuer(kind, name string) func(*burnerv1alpha1.BurnerSession) {
	return func(bs *burnerv1alpha1.BurnerSession) {
		bs.Spec.APIKeySecretRef = burnerv1alpha1.SecretKeySelector{}
		bs.Spec.IssuerRef = &burnerv1alpha1.IssuerReference{Kind: kind, Name: name}
	}
}

// cachedClient is a client reading through a started cache with the controller's field indexes.
func (f *fixture) cachedClient() client.Client {
	f.t.Helper()
	c, err := cache.New(env.Config, cache.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := addIndexes(c, f.issuers()); err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	f.t.Cleanup(cancel)
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		f.t.Fatal("cache did not sync")
	}
	cl, err := client.New(env.Config, client.Options{Scheme: env.Client.Scheme(), Cache: &client.CacheOptions{Reader: c}})
	if err != nil {
		f.t.Fatal(err)
	}
	return cl
}

// registered is the value of the series of family with these labels in the manager's registry, and whether it is
// there.
func registered(t *testing.T, family string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != family {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			if maps.Equal(got, labels) {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

// immutableSecretAndForceRefresh makes the session's token Secret immutable, so that writing it fails, and asks for
// a new token; it returns the Secret.
func (f *fixture) immutableSecretAndForceRefresh(name string) *corev1.Secret {
	f.t.Helper()
	s := f.secret(name)
	s.Immutable = new(true)
	if err := env.Client.Update(f.ctx, s); err != nil {
		f.t.Fatal(err)
	}
	f.update(name, func(bs *burnerv1alpha1.BurnerSession) {
		bs.Annotations = map[string]string{burnerv1alpha1.ForceRefreshAnnotation: "1"}
	})
	return s
}
