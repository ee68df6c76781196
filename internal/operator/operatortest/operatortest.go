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

// Package operatortest runs whole managers, built by internal/operator, against a testenv control plane and a
// Burner API simulator: the harness of the operator's flow tests and of the install tests that run the manager
// under the RBAC the manifests grant.
package operatortest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

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
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	burnerv1alpha1 "github.com/burner-operator/burner-operator/api/v1alpha1"
	"github.com/burner-operator/burner-operator/internal/burnersim"
	"github.com/burner-operator/burner-operator/internal/operator"
	"github.com/burner-operator/burner-operator/internal/testenv"
	"github.com/burner-operator/burner-operator/internal/tokensecret"
)

const (
	// Wallet is the wallet address of every session a flow creates.
	Wallet = "DRpbCBMxVnDK7maPM5tGv6MvB3v1sRMC86PZ8okm21hy"
	// APIKey is the key the simulator accepts and every key Secret of a flow holds.
	APIKey = "ak_test_flow_5e1f0c2b9a"
	// KeySecret is the API key Secret NewFlow creates in the test's namespace.
	KeySecret = "burner-api-key"
)

// LogBuffer collects a manager's log output.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Flow is a simulator plus the means to run whole managers against the shared control plane, in a namespace of
// the test's own (NS).
type Flow struct {
	t    *testing.T
	env  *testenv.Env
	Ctx  context.Context
	NS   string
	Sim  *burnersim.Server
	URL  string
	Logs *LogBuffer
}

// NewFlow starts a simulator that accepts APIKey and creates the test's namespace with KeySecret in it.
func NewFlow(t *testing.T, env *testenv.Env, simOpts ...burnersim.Option) *Flow {
	t.Helper()
	f := &Flow{t: t, env: env, Ctx: context.Background(), NS: env.Namespace(t), Logs: &LogBuffer{}}
	f.Sim = burnersim.New(append([]burnersim.Option{burnersim.WithKeys(APIKey)}, simOpts...)...)
	url, err := f.Sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Sim.Close)
	f.URL = url
	f.CreateKeySecret(f.NS, KeySecret)
	// Every flow, not only TestSecretsNeverLeak, checks its managers' logs for the key and the tokens it holds.
	t.Cleanup(f.checkLogsHoldNoSecret)
	return f
}

// CreateKeySecret creates an API key Secret holding APIKey.
func (f *Flow) CreateKeySecret(namespace, name string) *corev1.Secret {
	f.t.Helper()
	key := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name,
			Labels: map[string]string{burnerv1alpha1.APIKeyLabel: "true"}},
		Data: map[string][]byte{"apiKey": []byte(APIKey)},
	}
	if err := f.env.Client.Create(f.Ctx, key); err != nil {
		f.t.Fatal(err)
	}
	return key
}

// checkLogsHoldNoSecret fails the test if the API key or a token now in one of its token Secrets (its signature,
// the part unique to each JWT) appears in the managers' logs.
func (f *Flow) checkLogsHoldNoSecret() {
	logs := f.Logs.String()
	if strings.Contains(logs, APIKey) {
		f.t.Error("the API key appears in the manager's logs")
	}
	var secrets corev1.SecretList
	if err := f.env.Client.List(f.Ctx, &secrets, client.InNamespace(f.NS),
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

// StartManager runs a manager until the returned stop function is called (or the test ends). Its logs, at the
// most verbose level, go to f.Logs.
func (f *Flow) StartManager(edit func(*operator.Options)) (stop func()) {
	f.t.Helper()
	return f.StartManagerWithConfig(f.env.Config, edit)
}

// StartManagerWithConfig is StartManager with another identity (e.g. an impersonated ServiceAccount).
func (f *Flow) StartManagerWithConfig(cfg *rest.Config, edit func(*operator.Options)) (stop func()) {
	f.t.Helper()
	o := operator.Options{
		APIURL: f.URL, KeyRate: 1000, KeyBurst: 1000, Concurrency: 4, Clock: clock.RealClock{},
		Manager: ctrl.Options{
			Metrics:                metricsserver.Options{BindAddress: "0"},
			HealthProbeBindAddress: "0",
			Logger:                 zap.New(zap.WriteTo(f.Logs), zap.Level(zapcore.Level(-5))),
			// Each test's managers elect among themselves only.
			LeaderElectionNamespace: f.NS,
			LeaderElectionID:        "burner-" + f.NS,
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

// CreateSession creates a session that gets its tokens with the key in KeySecret.
func (f *Flow) CreateSession(name string, ttl int32) {
	f.t.Helper()
	f.createSession(name, burnerv1alpha1.BurnerSessionSpec{WalletAddress: Wallet, TTLSeconds: ttl,
		APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: KeySecret}})
}

// CreateClusterIssuerSession creates a session (300 s) that gets its tokens from a ClusterBurnerIssuer.
func (f *Flow) CreateClusterIssuerSession(name, issuerName string) {
	f.t.Helper()
	f.CreateIssuerSession(name, burnerv1alpha1.IssuerReference{Kind: burnerv1alpha1.ClusterBurnerIssuerKind, Name: issuerName})
}

// CreateIssuerSession creates a session (300 s) that gets its tokens from the issuer ref names.
func (f *Flow) CreateIssuerSession(name string, ref burnerv1alpha1.IssuerReference) {
	f.t.Helper()
	f.createSession(name, burnerv1alpha1.BurnerSessionSpec{WalletAddress: Wallet, TTLSeconds: 300, IssuerRef: &ref})
}

func (f *Flow) createSession(name string, spec burnerv1alpha1.BurnerSessionSpec) {
	f.t.Helper()
	bs := &burnerv1alpha1.BurnerSession{ObjectMeta: metav1.ObjectMeta{Namespace: f.NS, Name: name}, Spec: spec}
	if err := f.env.Client.Create(f.Ctx, bs); err != nil {
		f.t.Fatal(err)
	}
}

// ClusterIssuer is a ClusterBurnerIssuer for the API at url, with its key in keySecret of the cluster resource
// namespace.
func ClusterIssuer(name, url, keySecret string) *burnerv1alpha1.ClusterBurnerIssuer {
	return &burnerv1alpha1.ClusterBurnerIssuer{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: burnerv1alpha1.BurnerIssuerSpec{URL: url,
			APIKeySecretRef: burnerv1alpha1.SecretKeySelector{Name: keySecret}},
	}
}

// Eventually polls cond every 100ms until it holds or timeout passes.
func (f *Flow) Eventually(timeout time.Duration, what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Condition is the session's condition of condType, nil if it has none (or the session cannot be read).
func (f *Flow) Condition(name, condType string) *metav1.Condition {
	bs := &burnerv1alpha1.BurnerSession{}
	if err := f.env.Client.Get(f.Ctx, client.ObjectKey{Namespace: f.NS, Name: name}, bs); err != nil {
		return nil
	}
	return meta.FindStatusCondition(bs.Status.Conditions, condType)
}

func (f *Flow) WaitReady(name string) {
	f.t.Helper()
	f.Eventually(30*time.Second, name+" Ready", func() bool {
		c := f.Condition(name, burnerv1alpha1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionTrue
	})
}

func (f *Flow) WaitReason(name, condType, reason string) {
	f.t.Helper()
	f.Eventually(30*time.Second, name+" "+condType+"="+reason, func() bool {
		c := f.Condition(name, condType)
		return c != nil && c.Reason == reason
	})
}

// TokenSecret is the Secret called name in the test's namespace, nil if there is none.
func (f *Flow) TokenSecret(name string) *corev1.Secret {
	s := &corev1.Secret{}
	if err := f.env.Client.Get(f.Ctx, client.ObjectKey{Namespace: f.NS, Name: name}, s); err != nil {
		return nil
	}
	return s
}

// Events are the events recorded in the test's namespace.
func (f *Flow) Events() []eventsv1.Event {
	var list eventsv1.EventList
	if err := f.env.Client.List(f.Ctx, &list, client.InNamespace(f.NS)); err != nil {
		f.t.Fatal(err)
	}
	return list.Items
}

// ForceRefresh sets the session's force-refresh annotation.
func (f *Flow) ForceRefresh(name, value string) {
	f.t.Helper()
	bs := &burnerv1alpha1.BurnerSession{}
	if err := f.env.Client.Get(f.Ctx, client.ObjectKey{Namespace: f.NS, Name: name}, bs); err != nil {
		f.t.Fatal(err)
	}
	orig := bs.DeepCopy()
	bs.Annotations = map[string]string{burnerv1alpha1.ForceRefreshAnnotation: value}
	// A patch: an update could conflict with the manager's status patch in between.
	if err := f.env.Client.Patch(f.Ctx, bs, client.MergeFrom(orig)); err != nil {
		f.t.Fatal(err)
	}
}

// LogMark is where the managers' logs stand now; WaitReconciled looks only past it.
func (f *Flow) LogMark() int { return len(f.Logs.String()) }

// WaitReconciled waits for the positive signal that, since mark, a manager has finished at least `times` reconciles
// of each named session of the test's namespace: controller-runtime logs one "Reconcile done" or "Reconcile
// successful" line per reconcile at the most verbose level, which the flows capture. Only then does "no call was
// made" mean something.
func (f *Flow) WaitReconciled(mark, times int, names ...string) {
	f.t.Helper()
	f.Eventually(30*time.Second, fmt.Sprintf("%d reconciles of %v", times, names), func() bool {
		lines := strings.Split(f.Logs.String()[mark:], "\n")
		for _, name := range names {
			done := 0
			for _, l := range lines {
				if strings.Contains(l, `"Reconcile `) && strings.Contains(l, `"name":"`+name+`"`) &&
					strings.Contains(l, `"namespace":"`+f.NS+`"`) && !strings.Contains(l, `"Reconciling"`) {
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
