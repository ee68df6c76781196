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

package operator_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/operator"
	"github.com/burner-operator/burner-operator/internal/testenv"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Run(m, &env)) }

const (
	wallet = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"
	apiKey = "ak_test_flow_5e1f0c2b9a"
)

// syncBuffer collects a manager's log output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// flow is a simulator plus the means to run whole managers against the shared control plane.
type flow struct {
	t    *testing.T
	ctx  context.Context
	ns   string
	sim  *burnersim.Server
	url  string
	logs *syncBuffer
}

func newFlow(t *testing.T, simOpts ...burnersim.Option) *flow {
	t.Helper()
	f := &flow{t: t, ctx: context.Background(), ns: env.Namespace(t), logs: &syncBuffer{}}
	f.sim = burnersim.New(append([]burnersim.Option{burnersim.WithKeys(apiKey)}, simOpts...)...)
	url, err := f.sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.sim.Close)
	f.url = url
	key := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "burner-api-key",
			Labels: map[string]string{burnerv1alpha1.APIKeyLabel: "true"}},
		Data: map[string][]byte{"apiKey": []byte(apiKey)},
	}
	if err := env.Client.Create(f.ctx, key); err != nil {
		t.Fatal(err)
	}
	// Every flow, not only TestSecretsNeverLeak, checks its managers' logs for the key and the tokens it holds.
	t.Cleanup(f.checkLogsHoldNoSecret)
	return f
}

// checkLogsHoldNoSecret fails the test if the API key or a token now in one of its token Secrets (its signature,
// the part unique to each JWT) appears in the managers' logs.
func (f *flow) checkLogsHoldNoSecret() {
	logs := f.logs.String()
	if strings.Contains(logs, apiKey) {
		f.t.Error("the API key appears in the manager's logs")
	}
	var secrets corev1.SecretList
	if err := env.Client.List(f.ctx, &secrets, client.InNamespace(f.ns),
		client.MatchingLabels{tokensecret.ManagedByLabel: tokensecret.ManagedByValue}); err != nil {
		f.t.Error(err)
	}
	for _, s := range secrets.Items {
		token := string(s.Data[tokensecret.KeyToken])
		if sig := token[strings.LastIndex(token, ".")+1:]; sig != "" && strings.Contains(logs, sig) {
			f.t.Errorf("a token of Secret %s appears in the manager's logs", s.Name)
		}
	}
}

// startManager runs a manager until the returned stop function is called (or the test ends). Its logs, at the
// most verbose level, go to f.logs.
func (f *flow) startManager(edit func(*operator.Options)) (stop func()) {
	f.t.Helper()
	return f.startManagerWithConfig(env.Config, edit)
}

// startManagerWithConfig is startManager with another identity (e.g. an impersonated ServiceAccount).
func (f *flow) startManagerWithConfig(cfg *rest.Config, edit func(*operator.Options)) (stop func()) {
	f.t.Helper()
	o := operator.Options{
		APIURL: f.url, KeyRate: 1000, KeyBurst: 1000, Concurrency: 4, Clock: clock.RealClock{},
		Manager: ctrl.Options{
			Metrics:                metricsserver.Options{BindAddress: "0"},
			HealthProbeBindAddress: "0",
			Logger:                 zap.New(zap.WriteTo(f.logs), zap.Level(zapcore.Level(-5))),
			// Each test's managers elect among themselves only.
			LeaderElectionNamespace: f.ns,
			LeaderElectionID:        "burner-" + f.ns,
			Controller:              ctrlconfig.Controller{SkipNameValidation: new(true)},
		},
	}
	if edit != nil {
		edit(&o)
	}
	mgr, err := operator.New(cfg, o)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			f.t.Errorf("manager: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	f.t.Cleanup(stop)
	return stop
}

func (f *flow) createSession(name string, ttl int32) {
	f.t.Helper()
	bs := &burnerv1alpha1.BurnerSession{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
		Spec: burnerv1alpha1.BurnerSessionSpec{
			WalletAddress: wallet, TTLSeconds: ttl,
			APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: "burner-api-key"},
		},
	}
	if err := env.Client.Create(f.ctx, bs); err != nil {
		f.t.Fatal(err)
	}
}

// eventually polls cond every 100ms until it holds or timeout passes.
func (f *flow) eventually(timeout time.Duration, what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (f *flow) condition(name, condType string) *metav1.Condition {
	bs := &burnerv1alpha1.BurnerSession{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, bs); err != nil {
		return nil
	}
	return meta.FindStatusCondition(bs.Status.Conditions, condType)
}

func (f *flow) waitReady(name string) {
	f.t.Helper()
	f.eventually(30*time.Second, name+" Ready", func() bool {
		c := f.condition(name, burnerv1alpha1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionTrue
	})
}

func (f *flow) waitReason(name, condType, reason string) {
	f.t.Helper()
	f.eventually(30*time.Second, name+" "+condType+"="+reason, func() bool {
		c := f.condition(name, condType)
		return c != nil && c.Reason == reason
	})
}

func (f *flow) tokenSecret(name string) *corev1.Secret {
	s := &corev1.Secret{}
	if err := env.Client.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, s); err != nil {
		return nil
	}
	return s
}

func (f *flow) events() []eventsv1.Event {
	var list eventsv1.EventList
	if err := env.Client.List(f.ctx, &list, client.InNamespace(f.ns)); err != nil {
		f.t.Fatal(err)
	}
	return list.Items
}

func metricsText(t *testing.T) string {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.String()
}

func clientKey(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }

// forceRefresh sets the session's force-refresh annotation.
func (f *flow) forceRefresh(name, value string) {
	f.t.Helper()
	bs := &burnerv1alpha1.BurnerSession{}
	if err := env.Client.Get(f.ctx, clientKey(f.ns, name), bs); err != nil {
		f.t.Fatal(err)
	}
	bs.Annotations = map[string]string{burnerv1alpha1.ForceRefreshAnnotation: value}
	if err := env.Client.Update(f.ctx, bs); err != nil {
		f.t.Fatal(err)
	}
}

// metricSum sums the samples of a metric in this process's controller-runtime registry (every manager a test
// starts reports there) whose labels include all of match.
func metricSum(t *testing.T, name string, match map[string]string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
	samples:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range match {
				if labels[k] != v {
					continue samples
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// logMark is where the managers' logs stand now; waitReconciled looks only past it.
func (f *flow) logMark() int { return len(f.logs.String()) }

// waitReconciled waits for the positive signal that, since mark, a manager has finished at least `times` reconciles
// of each named session of the test's namespace: controller-runtime logs one "Reconcile done" or "Reconcile
// successful" line per reconcile at the most verbose level, which the flows capture. Only then does "no call was
// made" mean something.
func (f *flow) waitReconciled(mark, times int, names ...string) {
	f.t.Helper()
	f.eventually(30*time.Second, fmt.Sprintf("%d reconciles of %v", times, names), func() bool {
		lines := strings.Split(f.logs.String()[mark:], "\n")
		for _, name := range names {
			done := 0
			for _, l := range lines {
				if strings.Contains(l, `"Reconcile `) && strings.Contains(l, `"name":"`+name+`"`) &&
					strings.Contains(l, `"namespace":"`+f.ns+`"`) && !strings.Contains(l, `"Reconciling"`) {
					done++
				}
			}
			if done < times {
				return false
			}
		}
		return true
	})
}
